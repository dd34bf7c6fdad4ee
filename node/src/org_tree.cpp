#include "node/org_tree.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <tuple>
#include <utility>

#include "node/cases.hpp"

namespace tawasul::node {
namespace {

using nlohmann::json;

Error invalid(const std::string& path, const std::string& what) {
  return Error::bad_request("invalid_org_tree", path + ": " + what, path);
}

bool plain_key(std::string_view key) {
  return !key.empty() && key.size() <= kOrgIdBytesMax &&
         std::all_of(key.begin(), key.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

// The path of member `key` of the object at `base`: "units[3].name". Keys that
// are not plain words (they come from the input) are quoted and cut short, so
// a hostile key cannot flood a message.
std::string member_path(const std::string& base, std::string_view key) {
  if (plain_key(key)) return base.empty() ? std::string(key) : base + "." + std::string(key);
  std::string cut(key.substr(0, kOrgIdBytesMax));
  std::string quoted = json(cut).dump(-1, ' ', false, json::error_handler_t::replace);
  return base + "[" + quoted + "]";
}

std::string element_path(const std::string& base, std::size_t index) {
  return base + "[" + std::to_string(index) + "]";
}

// Refuses any member of `object` not named in `allowed`.
Result<void> only_keys(const json& object, const std::string& path,
                       std::initializer_list<std::string_view> allowed) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& key = it.key();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string allowed_list;
      for (std::string_view name : allowed) {
        if (!allowed_list.empty()) allowed_list += ", ";
        allowed_list += name;
      }
      return std::unexpected(
          invalid(member_path(path, key), "unknown field (allowed: " + allowed_list + ")"));
    }
  }
  return {};
}

bool is_unit_id(std::string_view id) {
  return !id.empty() && id.size() <= kOrgIdBytesMax &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
         });
}

bool is_service_id(std::string_view id) {
  return !id.empty() && id.size() <= kOrgIdBytesMax &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

// A unit id: a string of 1..64 characters from [A-Za-z0-9._-].
Result<std::string> unit_id_at(const json& value, const std::string& path) {
  if (!value.is_string()) return std::unexpected(invalid(path, "must be a string"));
  const auto& id = value.get_ref<const std::string&>();
  if (!is_unit_id(id)) {
    return std::unexpected(
        invalid(path, "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'"));
  }
  return id;
}

// One language of a name: a non-blank single-line string of at most 200 characters.
Result<std::string> label_text(const json& object, const std::string& path, const char* lang) {
  std::string field = member_path(path, lang);
  auto it = object.find(lang);
  if (it == object.end()) return std::unexpected(invalid(field, "is required"));
  if (!it->is_string()) return std::unexpected(invalid(field, "must be a string"));
  const auto& text = it->get_ref<const std::string&>();
  // Documents built in memory (not parsed) may hold any bytes.
  if (invalid_utf8_offset(text)) return std::unexpected(invalid(field, "is not valid UTF-8"));
  bool control = std::any_of(text.begin(), text.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7F;
  });
  if (control) return std::unexpected(invalid(field, "contains control characters"));
  if (text.find_first_not_of(' ') == std::string::npos)
    return std::unexpected(invalid(field, "must not be empty"));
  if (std::size_t chars = utf8_length(text); chars > kOrgNameCharsMax) {
    return std::unexpected(invalid(field, "must be at most " + std::to_string(kOrgNameCharsMax) +
                                              " characters (got " + std::to_string(chars) + ")"));
  }
  return text;
}

// {"ar": …, "en": …}, both required, nothing else.
Result<std::pair<std::string, std::string>> label_at(const json& value, const std::string& path) {
  if (!value.is_object())
    return std::unexpected(invalid(path, "must be an object with \"ar\" and \"en\""));
  if (auto ok = only_keys(value, path, {"ar", "en"}); !ok) return std::unexpected(ok.error());
  auto ar = label_text(value, path, "ar");
  if (!ar) return std::unexpected(ar.error());
  auto en = label_text(value, path, "en");
  if (!en) return std::unexpected(en.error());
  return std::pair{std::move(*ar), std::move(*en)};
}

json label_json(const std::string& ar, const std::string& en) {
  return json{{"ar", ar}, {"en", en}};
}

// The terms an SLA object may set (deploy/org/README.md, "sla"), with their ranges.
struct SlaKey {
  const char* name;
  int SlaTerms::*member;
  int low, high;
};
constexpr SlaKey kSlaKeys[] = {
    {"answer_working_days", &SlaTerms::answer_working_days, 1, 60},
    {"first_response_working_days", &SlaTerms::first_response_working_days, 1, 60},
    {"level_working_days", &SlaTerms::level_working_days, 1, 30},
    {"objection_working_days", &SlaTerms::objection_working_days, 1, 60},
    {"warn_percent", &SlaTerms::warn_percent, 50, 95},
};

// The terms set in the object at `path`, each a whole number in its range.
// Which other keys the object may hold is the caller's to check.
Result<SlaTerms> sla_terms_at(const json& object, const std::string& path) {
  SlaTerms terms;
  for (const SlaKey& key : kSlaKeys) {
    auto it = object.find(key.name);
    if (it == object.end()) continue;
    if (!it->is_number_integer() || it->get<std::int64_t>() < key.low ||
        it->get<std::int64_t>() > key.high) {
      return std::unexpected(invalid(member_path(path, key.name),
                                     "must be a whole number from " + std::to_string(key.low) +
                                         " to " + std::to_string(key.high)));
    }
    terms.*key.member = it->get<int>();
  }
  return terms;
}

// Refuses terms whose first response would come after the answer once the
// levels below fill what they leave unset (`fallback`: the node's terms for
// a type, the built-in defaults for the node). The path names the offending
// key of this object.
Result<void> first_response_in_time(const SlaTerms& terms, const SlaTerms& fallback,
                                    const std::string& path) {
  auto value = [](int own, int below, int builtin) {
    return own > 0 ? own : below > 0 ? below : builtin;
  };
  const int answer =
      value(terms.answer_working_days, fallback.answer_working_days, kAnswerWorkingDays);
  const int first = value(terms.first_response_working_days, fallback.first_response_working_days,
                          kFirstResponseWorkingDays);
  if (first <= answer) return {};
  const char* key =
      terms.first_response_working_days > 0 ? "first_response_working_days" : "answer_working_days";
  return std::unexpected(
      invalid(member_path(path, key), "the first response (" + std::to_string(first) +
                                          " working days) cannot come after the answer (" +
                                          std::to_string(answer) + " working days)"));
}

Result<SlaPolicy> sla_policy_at(const json& value, const std::string& path) {
  if (!value.is_object()) return std::unexpected(invalid(path, "must be an object"));
  if (auto ok =
          only_keys(value, path,
                    {"answer_working_days", "first_response_working_days", "level_working_days",
                     "objection_working_days", "warn_percent", "pause_for_third_party", "types"});
      !ok)
    return std::unexpected(ok.error());
  SlaPolicy policy;
  if (auto pause = value.find("pause_for_third_party"); pause != value.end()) {
    if (!pause->is_boolean()) {
      return std::unexpected(
          invalid(member_path(path, "pause_for_third_party"), "must be true or false"));
    }
    policy.pause_for_third_party = pause->get<bool>();
  }
  auto node = sla_terms_at(value, path);
  if (!node) return std::unexpected(node.error());
  policy.node = *node;
  if (auto ok = first_response_in_time(policy.node, SlaTerms{}, path); !ok)
    return std::unexpected(ok.error());

  auto types_it = value.find("types");
  if (types_it == value.end()) return policy;
  const std::string types_path = member_path(path, "types");
  if (!types_it->is_object())
    return std::unexpected(invalid(types_path, "must be an object keyed by case type"));
  for (auto it = types_it->begin(); it != types_it->end(); ++it) {
    const std::string type_path = member_path(types_path, it.key());
    if (!is_case_type(it.key())) {
      return std::unexpected(invalid(
          type_path,
          "not a case type (one of inquiry, suggestion, remark, complaint, demand, praise)"));
    }
    if (!it->is_object()) return std::unexpected(invalid(type_path, "must be an object"));
    if (auto ok = only_keys(*it, type_path,
                            {"answer_working_days", "first_response_working_days",
                             "level_working_days", "objection_working_days", "warn_percent"});
        !ok)
      return std::unexpected(ok.error());
    auto terms = sla_terms_at(*it, type_path);
    if (!terms) return std::unexpected(terms.error());
    if (auto ok = first_response_in_time(*terms, policy.node, type_path); !ok)
      return std::unexpected(ok.error());
    policy.types.emplace(it.key(), *terms);
  }
  return policy;
}

json sla_terms_json(const SlaTerms& terms) {
  json j = json::object();
  for (const SlaKey& key : kSlaKeys) {
    if (terms.*key.member > 0) j[key.name] = terms.*key.member;
  }
  return j;
}

// Collects the first key repeated inside one object while the text is parsed,
// with its path. nlohmann::json keeps only the last of repeated keys, which
// would let a typo silently replace a unit's name or parent.
class DuplicateKeyFinder {
 public:
  void on_event(json::parse_event_t event, const json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        frames_.push_back(Frame{false, 0, {}, {}});
        break;
      case json::parse_event_t::array_start:
        frames_.push_back(Frame{true, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        Frame& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second && !duplicate_) duplicate_ = path();
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
  }

  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  struct Frame {
    bool array;
    std::size_t index;           // arrays: the element being parsed
    std::set<std::string> keys;  // objects: keys seen so far
    std::string key;             // objects: the member being parsed
  };

  void element_done() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }

  std::string path() const {
    std::string out;
    for (const Frame& f : frames_)
      out = f.array ? element_path(out, f.index) : member_path(out, f.key);
    return out;
  }

  std::vector<Frame> frames_;
  std::optional<std::string> duplicate_;
};

}  // namespace

Result<OrgTree> OrgTree::parse_text(std::string_view text) {
  if (text.size() > kOrgTreeTextMax) {
    return std::unexpected(Error::bad_request(
        "invalid_org_tree",
        "the org tree is over " + std::to_string(kOrgTreeTextMax / (1024 * 1024)) + " MiB"));
  }
  DuplicateKeyFinder finder;
  json document;
  try {
    document = json::parse(text.begin(), text.end(),
                           [&finder](int, json::parse_event_t event, json& parsed) {
                             finder.on_event(event, parsed);
                             return true;  // keep everything
                           });
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 15: …".
    std::string why = e.what();
    if (auto end = why.find("] "); why.starts_with("[json.exception") && end != std::string::npos)
      why.erase(0, end + 2);
    return std::unexpected(
        Error::bad_request("malformed_json", "the org tree is not valid JSON: " + why));
  }
  if (const auto& dup = finder.duplicate())
    return std::unexpected(invalid(*dup, "appears twice in one object"));
  return parse(document);
}

Result<OrgTree> OrgTree::parse(const json& document) {
  if (!document.is_object()) {
    return std::unexpected(
        Error::bad_request("invalid_org_tree", "the org tree must be a JSON object", ""));
  }
  if (auto ok = only_keys(document, "", {"version", "units", "services", "sla"}); !ok)
    return std::unexpected(ok.error());

  auto version = document.find("version");
  if (version == document.end()) return std::unexpected(invalid("version", "is required"));
  if (!version->is_number_integer() || version->get<std::int64_t>() != kOrgTreeVersion) {
    return std::unexpected(invalid(
        "version", "must be " + std::to_string(kOrgTreeVersion) + " (got " +
                       version->dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 32) +
                       ")"));
  }

  // Units, one at a time: shape, id, names. Parents are checked once all ids are known.
  auto units_it = document.find("units");
  if (units_it == document.end()) return std::unexpected(invalid("units", "is required"));
  if (!units_it->is_array()) return std::unexpected(invalid("units", "must be an array"));
  const json& units = *units_it;
  if (units.empty()) return std::unexpected(invalid("units", "must hold at least the root unit"));
  if (units.size() > kOrgUnitsMax) {
    return std::unexpected(invalid("units", "holds " + std::to_string(units.size()) +
                                                " units; at most " + std::to_string(kOrgUnitsMax) +
                                                " are allowed"));
  }

  OrgTree tree;
  tree.units_.reserve(units.size());
  for (std::size_t i = 0; i < units.size(); ++i) {
    const json& u = units[i];
    std::string path = element_path("units", i);
    if (!u.is_object()) return std::unexpected(invalid(path, "must be an object"));
    if (auto ok = only_keys(u, path, {"id", "parent", "name", "head_title", "head", "final"}); !ok)
      return std::unexpected(ok.error());

    OrgUnit unit;
    auto id_it = u.find("id");
    if (id_it == u.end()) return std::unexpected(invalid(path + ".id", "is required"));
    auto id = unit_id_at(*id_it, path + ".id");
    if (!id) return std::unexpected(id.error());
    unit.id = std::move(*id);
    if (auto [at, added] = tree.unit_index_.emplace(unit.id, i); !added) {
      return std::unexpected(invalid(path + ".id", "unit '" + unit.id + "' is already units[" +
                                                       std::to_string(at->second) + "]"));
    }

    if (auto parent_it = u.find("parent"); parent_it != u.end()) {
      auto parent = unit_id_at(*parent_it, path + ".parent");
      if (!parent) return std::unexpected(parent.error());
      unit.parent = std::move(*parent);
    }

    auto name_it = u.find("name");
    if (name_it == u.end()) return std::unexpected(invalid(path + ".name", "is required"));
    auto name = label_at(*name_it, path + ".name");
    if (!name) return std::unexpected(name.error());
    std::tie(unit.name_ar, unit.name_en) = std::move(*name);

    if (auto head_it = u.find("head_title"); head_it != u.end()) {
      auto head = label_at(*head_it, path + ".head_title");
      if (!head) return std::unexpected(head.error());
      std::tie(unit.head_title_ar, unit.head_title_en) = std::move(*head);
    }
    if (auto head_it = u.find("head"); head_it != u.end()) {
      const bool valid = head_it->is_string() && [&] {
        const auto& head_id = head_it->get_ref<const std::string&>();
        return head_id.size() >= 2 && head_id.size() <= 64 &&
               std::all_of(head_id.begin(), head_id.end(), [](char c) {
                 return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                        c == '-';
               });
      }();
      if (!valid) {
        return std::unexpected(
            invalid(path + ".head",
                    "must be a staff id: 2 to 64 characters of a-z, 0-9, '.', '_' and '-'"));
      }
      unit.head = head_it->get<std::string>();
    }
    if (auto final_it = u.find("final"); final_it != u.end()) {
      if (!final_it->is_boolean())
        return std::unexpected(invalid(path + ".final", "must be true or false"));
      if (final_it->get<bool>() && unit.parent) {
        return std::unexpected(invalid(
            path + ".final", "only the root unit (the top of the ladder) gives final answers"));
      }
      unit.final_answer = final_it->get<bool>();
    }
    tree.units_.push_back(std::move(unit));
  }

  // Parents exist, and exactly one unit has none.
  std::optional<std::size_t> root;
  for (std::size_t i = 0; i < tree.units_.size(); ++i) {
    const OrgUnit& unit = tree.units_[i];
    std::string path = element_path("units", i) + ".parent";
    if (!unit.parent) {
      if (root) {
        const std::string& first = tree.units_[*root].id;
        return std::unexpected(
            invalid(path, "missing, but '" + first + "' (units[" + std::to_string(*root) +
                              "]) is already the root; exactly one unit has no parent"));
      }
      root = i;
      continue;
    }
    if (*unit.parent == unit.id)
      return std::unexpected(invalid(path, "unit '" + unit.id + "' cannot be its own parent"));
    if (!tree.unit_index_.contains(*unit.parent))
      return std::unexpected(invalid(path, "no unit '" + *unit.parent + "'"));
  }
  if (!root) {
    return std::unexpected(
        invalid("units", "no root unit: exactly one unit (the sector) must have no parent"));
  }
  tree.root_ = tree.units_[*root].id;

  // Children in file order, then depths by a walk down from the root. Each
  // unit has one parent, so the walk meets a unit at most once; a unit it
  // never meets hangs below a cycle.
  for (std::size_t i = 0; i < tree.units_.size(); ++i) {
    const OrgUnit& unit = tree.units_[i];
    if (unit.parent)
      tree.units_[tree.unit_index_.find(*unit.parent)->second].children.push_back(unit.id);
  }
  std::vector<bool> reached(tree.units_.size(), false);
  std::vector<std::size_t> stack{*root};
  reached[*root] = true;
  while (!stack.empty()) {
    std::size_t at = stack.back();
    stack.pop_back();
    const OrgUnit& unit = tree.units_[at];
    for (const std::string& child_id : unit.children) {
      std::size_t child = tree.unit_index_.find(child_id)->second;
      int depth = unit.depth + 1;
      if (depth > kOrgDepthMax) {
        return std::unexpected(invalid(
            element_path("units", child) + ".parent",
            "unit '" + child_id + "' would be at depth " + std::to_string(depth) + "; at most " +
                std::to_string(kOrgDepthMax) + " levels below the root are allowed"));
      }
      tree.units_[child].depth = depth;
      reached[child] = true;
      stack.push_back(child);
    }
  }
  if (auto first = std::find(reached.begin(), reached.end(), false); first != reached.end()) {
    // Follow parents from the first unreached unit until one repeats: that
    // unit is on the cycle. Name the cycle from its member earliest in the file.
    std::vector<std::size_t> walk;
    std::vector<bool> on_walk(tree.units_.size(), false);
    std::size_t at = static_cast<std::size_t>(first - reached.begin());
    while (!on_walk[at]) {
      on_walk[at] = true;
      walk.push_back(at);
      at = tree.unit_index_.find(*tree.units_[at].parent)->second;
    }
    std::vector<std::size_t> cycle(std::find(walk.begin(), walk.end(), at), walk.end());
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
    std::string chain;
    for (std::size_t member : cycle) chain += "'" + tree.units_[member].id + "' → ";
    chain += "'" + tree.units_[cycle.front()].id + "'";
    return std::unexpected(invalid(element_path("units", cycle.front()) + ".parent",
                                   "the parents form a cycle: " + chain));
  }

  // Services: optional; each routed to a unit that exists.
  if (auto services_it = document.find("services"); services_it != document.end()) {
    if (!services_it->is_array()) return std::unexpected(invalid("services", "must be an array"));
    const json& services = *services_it;
    if (services.size() > kOrgServicesMax) {
      return std::unexpected(
          invalid("services", "holds " + std::to_string(services.size()) + " services; at most " +
                                  std::to_string(kOrgServicesMax) + " are allowed"));
    }
    tree.services_.reserve(services.size());
    for (std::size_t i = 0; i < services.size(); ++i) {
      const json& s = services[i];
      std::string path = element_path("services", i);
      if (!s.is_object()) return std::unexpected(invalid(path, "must be an object"));
      if (auto ok =
              only_keys(s, path, {"id", "name", "unit", "default_type", "answer_working_days"});
          !ok)
        return std::unexpected(ok.error());

      Service service;
      auto id_it = s.find("id");
      if (id_it == s.end()) return std::unexpected(invalid(path + ".id", "is required"));
      if (!id_it->is_string()) return std::unexpected(invalid(path + ".id", "must be a string"));
      service.id = id_it->get<std::string>();
      if (!is_service_id(service.id)) {
        return std::unexpected(
            invalid(path + ".id", "must be 1 to 64 characters of a-z, 0-9, '_' and '-'"));
      }
      if (auto [at, added] = tree.service_index_.emplace(service.id, i); !added) {
        return std::unexpected(invalid(path + ".id", "service '" + service.id +
                                                         "' is already services[" +
                                                         std::to_string(at->second) + "]"));
      }

      auto name_it = s.find("name");
      if (name_it == s.end()) return std::unexpected(invalid(path + ".name", "is required"));
      auto name = label_at(*name_it, path + ".name");
      if (!name) return std::unexpected(name.error());
      std::tie(service.name_ar, service.name_en) = std::move(*name);

      auto unit_it = s.find("unit");
      if (unit_it == s.end()) return std::unexpected(invalid(path + ".unit", "is required"));
      auto unit = unit_id_at(*unit_it, path + ".unit");
      if (!unit) return std::unexpected(unit.error());
      if (!tree.unit_index_.contains(*unit))
        return std::unexpected(invalid(path + ".unit", "no unit '" + *unit + "'"));
      service.unit = std::move(*unit);

      auto type_it = s.find("default_type");
      if (type_it == s.end())
        return std::unexpected(invalid(path + ".default_type", "is required"));
      if (!type_it->is_string() || !is_case_type(type_it->get_ref<const std::string&>())) {
        return std::unexpected(invalid(path + ".default_type",
                                       "must be one of inquiry, suggestion, remark, complaint, "
                                       "demand, praise"));
      }
      service.default_type = type_it->get<std::string>();
      if (auto days = s.find("answer_working_days"); days != s.end()) {
        if (!days->is_number_integer() || days->get<std::int64_t>() < 1 ||
            days->get<std::int64_t>() > 60) {
          return std::unexpected(
              invalid(path + ".answer_working_days", "must be a whole number from 1 to 60"));
        }
        service.answer_working_days = days->get<int>();
      }
      tree.services_.push_back(std::move(service));
    }
  }

  // The SLA policy: optional; node-wide terms, then per case type.
  if (auto sla_it = document.find("sla"); sla_it != document.end()) {
    auto policy = sla_policy_at(*sla_it, "sla");
    if (!policy) return std::unexpected(policy.error());
    tree.sla_ = std::move(*policy);
  }
  return tree;
}

json OrgTree::to_json() const {
  json units = json::array();
  for (const OrgUnit& u : units_) {
    json j{{"id", u.id}, {"name", label_json(u.name_ar, u.name_en)}};
    if (u.parent) j["parent"] = *u.parent;
    if (!u.head_title_ar.empty()) j["head_title"] = label_json(u.head_title_ar, u.head_title_en);
    if (!u.head.empty()) j["head"] = u.head;
    if (u.final_answer) j["final"] = true;
    units.push_back(std::move(j));
  }
  json services = json::array();
  for (const Service& s : services_) {
    json j{{"id", s.id},
           {"name", label_json(s.name_ar, s.name_en)},
           {"unit", s.unit},
           {"default_type", s.default_type}};
    if (s.answer_working_days > 0) j["answer_working_days"] = s.answer_working_days;
    services.push_back(std::move(j));
  }
  json out{
      {"version", kOrgTreeVersion}, {"units", std::move(units)}, {"services", std::move(services)}};
  if (!sla_.empty()) {
    json sla = sla_terms_json(sla_.node);
    if (sla_.pause_for_third_party) sla["pause_for_third_party"] = true;
    if (!sla_.types.empty()) {
      json types = json::object();
      for (const auto& [type, terms] : sla_.types) types[type] = sla_terms_json(terms);
      sla["types"] = std::move(types);
    }
    out["sla"] = std::move(sla);
  }
  return out;
}

CaseSla resolve_sla(const SlaPolicy* policy, std::string_view type, std::string_view service,
                    int service_answer_days) {
  const SlaTerms none;
  const SlaTerms& node = policy != nullptr ? policy->node : none;
  const SlaTerms* of_type = nullptr;
  if (policy != nullptr) {
    if (auto it = policy->types.find(type); it != policy->types.end()) of_type = &it->second;
  }
  // The type's term, else the node's, else the built-in one.
  auto term = [&](int SlaTerms::*member, int builtin) {
    if (of_type != nullptr && of_type->*member > 0) return of_type->*member;
    if (node.*member > 0) return node.*member;
    return builtin;
  };
  CaseSla sla;
  if (service_answer_days > 0) {
    sla.policy = "service:" + std::string(service);
    sla.answer_working_days = service_answer_days;
  } else if (of_type != nullptr && of_type->answer_working_days > 0) {
    sla.policy = "type:" + std::string(type);
    sla.answer_working_days = of_type->answer_working_days;
  } else if (node.answer_working_days > 0) {
    sla.policy = "node";
    sla.answer_working_days = node.answer_working_days;
  } else {
    sla.policy = "default";
    sla.answer_working_days = kAnswerWorkingDays;
  }
  // Parsing keeps the policy's first response within its answer time; a
  // service's own, shorter answer time shortens the first response too.
  sla.first_response_working_days =
      std::min(term(&SlaTerms::first_response_working_days, kFirstResponseWorkingDays),
               sla.answer_working_days);
  sla.level_working_days = term(&SlaTerms::level_working_days, kLevelWorkingDays);
  sla.objection_working_days = term(&SlaTerms::objection_working_days, kObjectionWorkingDays);
  sla.warn_percent = term(&SlaTerms::warn_percent, kSlaWarnPercent);
  sla.pause_for_third_party = policy != nullptr && policy->pause_for_third_party;
  return sla;
}

const OrgUnit* OrgTree::unit(std::string_view id) const {
  auto it = unit_index_.find(id);
  return it == unit_index_.end() ? nullptr : &units_[it->second];
}

const Service* OrgTree::service(std::string_view id) const {
  auto it = service_index_.find(id);
  return it == service_index_.end() ? nullptr : &services_[it->second];
}

bool OrgTree::has_head(std::string_view id) const {
  const OrgUnit* u = unit(id);
  return u != nullptr && (!u->head.empty() || !u->head_title_ar.empty());
}

bool OrgTree::in_subtree(std::string_view unit_id, std::string_view ancestor) const {
  if (this->unit(ancestor) == nullptr) return false;
  // At most kOrgDepthMax steps up: parse refused anything deeper.
  for (const OrgUnit* u = this->unit(unit_id); u != nullptr;
       u = u->parent ? this->unit(*u->parent) : nullptr) {
    if (u->id == ancestor) return true;
  }
  return false;
}

std::vector<std::string> OrgTree::ladder(std::string_view unit_id) const {
  std::vector<std::string> out;
  for (const OrgUnit* u = this->unit(unit_id); u != nullptr;
       u = u->parent ? this->unit(*u->parent) : nullptr) {
    out.push_back(u->id);
  }
  return out;
}

std::vector<std::string> OrgTree::subtree(std::string_view unit_id) const {
  std::vector<std::string> out;
  const OrgUnit* start = this->unit(unit_id);
  if (start == nullptr) return out;
  std::vector<const OrgUnit*> stack{start};
  while (!stack.empty()) {
    const OrgUnit* u = stack.back();
    stack.pop_back();
    out.push_back(u->id);
    for (auto child = u->children.rbegin(); child != u->children.rend(); ++child)
      stack.push_back(this->unit(*child));
  }
  return out;
}

}  // namespace tawasul::node
