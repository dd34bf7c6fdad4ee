#include "node/cases.hpp"
#include "fold_util.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "node/attachments.hpp"
#include "node/calendar.hpp"
#include "node/org_tree.hpp"
#include "node/text.hpp"
#include "node/time_util.hpp"
#include "node/workflow.hpp"

namespace tawasul::node {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 6> kCaseTypes = {"inquiry",   "suggestion", "remark",
                                                        "complaint", "demand",     "praise"};
constexpr std::array<std::string_view, 5> kChannels = {"portal", "app", "call_centre", "walk_in",
                                                       "email"};

json label(const char* ar, const char* en) {
  return json{{"ar", ar}, {"en", en}};
}

json type_label(std::string_view type) {
  if (type == "inquiry") return label("استفسار", "Inquiry");
  if (type == "suggestion") return label("اقتراح", "Suggestion");
  if (type == "remark") return label("ملاحظة", "Remark");
  if (type == "complaint") return label("شكوى", "Complaint");
  if (type == "demand") return label("طلب", "Request");
  return label("إشادة", "Praise");
}

json channel_label(std::string_view channel) {
  if (channel == "portal") return label("بوابة تواصل", "Portal");
  if (channel == "app") return label("التطبيق", "Mobile app");
  if (channel == "call_centre") return label("مركز الاتصال", "Call centre");
  if (channel == "walk_in") return label("حضوري", "Walk-in");
  return label("البريد الإلكتروني", "E-mail");
}

// What the beneficiary reads for each step of the history.
json event_label(std::string_view event) {
  if (event == "filed") {
    return label("تم استلام طلبك وسيتم الرد عليه خلال خمسة أيام عمل",
                 "Your case was received; you will be answered within five working days");
  }
  if (event == "assign")
    return label("تمت إحالة طلبك إلى الجهة المختصة", "Your case was passed to the competent unit");
  if (event == "start") return label("بدأت معالجة طلبك", "Work on your case has started");
  if (event == "request_info")
    return label("نحتاج إلى معلومات إضافية منك", "We need more information from you");
  if (event == "provide_info") return label("تم استلام ردك", "Your reply was received");
  if (event == "await_third_party") {
    return label("طلبك بانتظار رد جهة أخرى", "Your case is waiting for another body's reply");
  }
  if (event == "third_party_replied")
    return label("وصل رد الجهة الأخرى واستؤنفت المعالجة", "The other body replied; work resumed");
  if (event == "answer") return label("تم الرد على طلبك", "Your case was answered");
  if (event == "reject") {
    return label("نعتذر عن الطلب لأنه خارج نطاق الاختصاص",
                 "Your case was declined as out of scope");
  }
  if (event == "transfer")
    return label("تمت إحالة طلبك إلى جهة أخرى", "Your case was transferred to another unit");
  if (event == "close") return label("تم إغلاق الطلب", "Your case was closed");
  if (event == "reply")
    return label("رسالة من فريق رعاية المستفيدين", "A message from the beneficiary care team");
  if (event == "attachment_added") return label("تمت إضافة مرفق", "An attachment was added");
  if (event == "object") {
    return label("تم استلام اعتراضك وسيراجعه مستوى أعلى",
                 "Your objection was received and will be reviewed at a higher level");
  }
  if (event == "decide_objection")
    return label("تم البت في اعتراضك", "A decision was made on your objection");
  if (event == "escalate") {
    return label("تم رفع طلبك إلى مستوى إداري أعلى لمتابعته",
                 "Your case was escalated to a higher level for follow-up");
  }
  if (event == "handed_to_hub") {
    return label("تم رفع طلبك إلى وزارة التعليم لمتابعته",
                 "Your case was escalated to the Ministry of Education for follow-up");
  }
  return label("تحديث على طلبك", "An update on your case");
}

std::string trim(std::string_view s) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// Control characters never belong in these fields; line breaks and tabs only where allowed.
bool has_control_chars(std::string_view s, bool allow_breaks) {
  return std::any_of(s.begin(), s.end(), [&](char ch) {
    auto c = static_cast<unsigned char>(ch);
    if (allow_breaks && (c == '\n' || c == '\r' || c == '\t')) return false;
    return c < 0x20 || c == 0x7F;
  });
}

Result<std::string> text_field(const json& object, const std::string& path, const char* name,
                               std::size_t min_chars, std::size_t max_chars, bool allow_breaks) {
  std::string field = path + name;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    return std::unexpected(Error::bad_request("missing_field", field + " is required", field));
  }
  if (!it->is_string()) {
    return std::unexpected(Error::bad_request("wrong_type", field + " must be a string", field));
  }
  std::string value = trim(it->get_ref<const std::string&>());
  if (has_control_chars(value, allow_breaks)) {
    return std::unexpected(
        Error::bad_request("invalid_characters", field + " contains control characters", field));
  }
  std::size_t chars = utf8_length(value);
  if (chars < min_chars || chars > max_chars) {
    return std::unexpected(Error::bad_request("invalid_length",
                                              field + " must be " + std::to_string(min_chars) +
                                                  " to " + std::to_string(max_chars) +
                                                  " characters (got " + std::to_string(chars) + ")",
                                              field));
  }
  return value;
}

Result<std::optional<std::string>> optional_string(const json& object, const std::string& path,
                                                   const char* name, std::size_t max_bytes) {
  std::string field = path + name;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    return std::unexpected(Error::bad_request("wrong_type", field + " must be a string", field));
  }
  std::string value = trim(it->get_ref<const std::string&>());
  if (value.empty()) return std::nullopt;
  if (value.size() > max_bytes || has_control_chars(value, false)) {
    return std::unexpected(Error::bad_request("invalid_format", field + " is not valid", field));
  }
  return value;
}

Result<void> reject_unknown(const json& object, const std::string& path,
                            std::initializer_list<std::string_view> known) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      std::string field = path + it.key();
      return std::unexpected(
          Error::bad_request("unknown_field", field + " is not a known field", field));
    }
  }
  return {};
}

// E.164: "+", a non-zero country code digit, 8 to 15 digits in all. Spaces,
// dashes, dots and parentheses a person may type are dropped first.
std::optional<std::string> normalize_phone(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    out.push_back(c);
  }
  if (out.size() < 9 || out.size() > 16 || out[0] != '+' || out[1] < '1' || out[1] > '9')
    return std::nullopt;
  if (!std::all_of(out.begin() + 1, out.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return out;
}

// Internationalised addresses (RFC 6531: a UTF-8 local part, an Arabic or
// other IDN domain) are as welcome as ASCII ones; only well-formed UTF-8.
std::optional<std::string> normalize_email(std::string_view raw) {
  if (raw.size() > 254 || !valid_utf8(raw)) return std::nullopt;
  auto at = raw.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 ||
      raw.find('@', at + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  auto domain = raw.substr(at + 1);
  if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.' || domain.find("..") != std::string_view::npos) {
    return std::nullopt;
  }
  if (std::any_of(raw.begin(), raw.end(), [](char c) {
        return c == ' ' || c == ',' || c == ';' || c == '<' || c == '>';
      })) {
    return std::nullopt;
  }
  std::string out(raw);
  // The domain is case-insensitive; the local part is kept as typed.
  std::transform(
      out.begin() + static_cast<long>(at) + 1, out.end(), out.begin() + static_cast<long>(at) + 1,
      [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

// National ID and iqama are 10 digits; passports 5 to 20 letters and digits.
std::optional<std::string> normalize_national_id(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return std::nullopt;
    out.push_back(c);
  }
  if (out.size() < 5 || out.size() > 20) return std::nullopt;
  return out;
}

// The dotted path of the member whose value holds byte `offset` (e.g.
// "beneficiary.name"), from a light scan of the text before it; empty when the
// offset is not inside a member's value. Used only to point at a broken field.
std::string field_path_at(std::string_view body, std::size_t offset) {
  std::vector<char> open;         // '{' or '[' for each open container
  std::vector<std::string> keys;  // for each open object: the member being read
  std::string text;               // the string being read, or the last one read
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < std::min(offset, body.size()); ++i) {
    const char c = body[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      } else {
        text.push_back(c);
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        text.clear();
        break;
      case ':':
        if (!open.empty() && open.back() == '{') keys.back() = text;
        break;
      case '{':
        open.push_back('{');
        keys.emplace_back();
        break;
      case '[':
        open.push_back('[');
        break;
      case '}':
        if (!open.empty() && open.back() == '{') {
          open.pop_back();
          keys.pop_back();
        }
        break;
      case ']':
        if (!open.empty() && open.back() == '[') open.pop_back();
        break;
      default:
        break;
    }
  }
  std::string path;
  for (const auto& key : keys) {
    if (key.empty()) continue;
    if (!path.empty()) path += '.';
    path += key;
  }
  return path;
}

}  // namespace

json status_label(std::string_view status) {
  if (status == "submitted") return label("تم الاستلام", "Received");
  if (status == "assigned") return label("تمت الإحالة إلى الجهة المختصة", "Assigned");
  if (status == "in_progress") return label("قيد المعالجة", "In progress");
  if (status == "waiting_for_beneficiary") return label("بانتظار ردك", "Waiting for your reply");
  if (status == "waiting_for_third_party")
    return label("بانتظار رد جهة أخرى", "Waiting for another body");
  if (status == "answered") return label("تم الرد", "Answered");
  if (status == "objection_review") {
    return label("اعتراضك قيد المراجعة لدى مستوى أعلى",
                 "Your objection is being reviewed at a higher level");
  }
  if (status == "closed") return label("مغلق", "Closed");
  return label("غير معروف", "Unknown");
}

bool is_case_type(std::string_view type) {
  return std::find(kCaseTypes.begin(), kCaseTypes.end(), type) != kCaseTypes.end();
}
bool is_contact_preference(std::string_view preference) {
  return preference == "any" || preference == "written_only" || preference == "no_calls";
}

bool is_channel(std::string_view channel) {
  return std::find(kChannels.begin(), kChannels.end(), channel) != kChannels.end();
}

namespace {

Result<std::string> read_beneficiary_name(const json& beneficiary) {
  return text_field(beneficiary, "beneficiary.", "name", 2, 120, false);
}

// The case fields of a filing, as the API takes them from a request body and
// every fold (the node's and the hub's) re-checks them in a `case.filed`
// payload: one set of rules for both (storage/FORMAT.md, "Event kinds").
Result<void> read_filing_fields(const json& j, FilingRequest& req) {
  // The service a beneficiary picks routes the case and gives it a default
  // type; without a service, the type is required.
  auto service = optional_string(j, "", "service", 64);
  if (!service) return std::unexpected(service.error());
  if (*service) req.service = **service;
  if (!req.service.empty() || (j.contains("type") && !j["type"].is_null())) {
    if (j.contains("type") && !j["type"].is_null()) {
      auto type = text_field(j, "", "type", 1, 32, false);
      if (!type) return std::unexpected(type.error());
      if (!is_case_type(*type)) {
        return std::unexpected(Error::bad_request(
            "unknown_type",
            "type must be one of inquiry, suggestion, remark, complaint, demand, praise", "type"));
      }
      req.type = *type;
    }
  } else {
    return std::unexpected(Error::bad_request("missing_field", "type is required", "type"));
  }
  auto preference = optional_string(j, "", "contact_preference", 32);
  if (!preference) return std::unexpected(preference.error());
  if (*preference) {
    if (!is_contact_preference(**preference)) {
      return std::unexpected(Error::bad_request(
          "unknown_contact_preference",
          "contact_preference must be one of any, written_only, no_calls", "contact_preference"));
    }
    req.contact_preference = **preference;
  }
  if (j.contains("confidential") && !j["confidential"].is_null()) {
    if (!j["confidential"].is_boolean()) {
      return std::unexpected(
          Error::bad_request("wrong_type", "confidential must be true or false", "confidential"));
    }
    req.confidential = j["confidential"].get<bool>();
  }
  auto subject = text_field(j, "", "subject", 3, 200, false);
  if (!subject) return std::unexpected(subject.error());
  req.subject = *subject;
  auto description = text_field(j, "", "description", 10, 5000, true);
  if (!description) return std::unexpected(description.error());
  req.description = *description;
  auto channel = text_field(j, "", "channel", 1, 32, false);
  if (!channel) return std::unexpected(channel.error());
  if (!is_channel(*channel)) {
    return std::unexpected(Error::bad_request(
        "unknown_channel", "channel must be one of portal, app, call_centre, walk_in, email",
        "channel"));
  }
  req.channel = *channel;

  return {};
}

}  // namespace

Result<FilingRequest> parse_filing_request(std::string_view body) {
  if (body.size() > kRequestBodyMax) {
    return std::unexpected(
        Error{413, "body_too_large",
              "the request body is over " + std::to_string(kRequestBodyMax / 1024) + " KiB", ""});
  }
  if (auto bad = invalid_utf8_offset(body)) {
    std::string field = field_path_at(body, *bad);
    return std::unexpected(Error::bad_request("invalid_utf8",
                                              "the body is not valid UTF-8 (byte " +
                                                  std::to_string(*bad) + ")" +
                                                  (field.empty() ? "" : " in " + field),
                                              field));
  }
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded())
    return std::unexpected(Error::bad_request("malformed_json", "the body is not valid JSON"));
  if (!j.is_object())
    return std::unexpected(Error::bad_request("malformed_json", "the body must be a JSON object"));
  if (auto r = reject_unknown(j, "",
                              {"type", "subject", "description", "channel", "beneficiary",
                               "service", "contact_preference", "confidential"});
      !r) {
    return std::unexpected(r.error());
  }
  FilingRequest req;
  if (auto r = read_filing_fields(j, req); !r) return std::unexpected(r.error());
  auto b = j.find("beneficiary");
  if (b == j.end() || b->is_null()) {
    return std::unexpected(
        Error::bad_request("missing_field", "beneficiary is required", "beneficiary"));
  }
  if (!b->is_object()) {
    return std::unexpected(
        Error::bad_request("wrong_type", "beneficiary must be an object", "beneficiary"));
  }
  const std::string bp = "beneficiary.";
  if (auto r = reject_unknown(*b, bp, {"name", "phone", "email", "national_id"}); !r)
    return std::unexpected(r.error());
  auto name = read_beneficiary_name(*b);
  if (!name) return std::unexpected(name.error());
  req.beneficiary.name = *name;

  auto phone = optional_string(*b, bp, "phone", 32);
  if (!phone) return std::unexpected(phone.error());
  if (*phone) {
    auto normalized = normalize_phone(**phone);
    if (!normalized) {
      return std::unexpected(Error::bad_request(
          "invalid_phone",
          "beneficiary.phone must be an international number in E.164 form, e.g. +966501234567",
          "beneficiary.phone"));
    }
    req.beneficiary.phone = *normalized;
  }
  auto email = optional_string(*b, bp, "email", 254);
  if (!email) return std::unexpected(email.error());
  if (*email) {
    auto normalized = normalize_email(**email);
    if (!normalized) {
      return std::unexpected(Error::bad_request(
          "invalid_email", "beneficiary.email is not a valid e-mail address", "beneficiary.email"));
    }
    req.beneficiary.email = *normalized;
  }
  if (!req.beneficiary.phone && !req.beneficiary.email) {
    return std::unexpected(Error::bad_request(
        "missing_field",
        "beneficiary.phone or beneficiary.email is required, so that we can reach you",
        "beneficiary.phone"));
  }
  auto nid = optional_string(*b, bp, "national_id", 32);
  if (!nid) return std::unexpected(nid.error());
  if (*nid) {
    auto normalized = normalize_national_id(**nid);
    if (!normalized) {
      return std::unexpected(
          Error::bad_request("invalid_national_id",
                             "beneficiary.national_id must be a national ID, iqama or passport "
                             "number (5 to 20 letters and digits)",
                             "beneficiary.national_id"));
    }
    req.beneficiary.national_id = *normalized;
  }
  return req;
}

std::string blind_index(const crypto::SealKey& seal_key, std::string_view field,
                        std::string_view normalized_value) {
  // A key of its own for indexes, derived from the seal key: knowing an index
  // key never helps open a sealed value.
  static constexpr std::string_view kLabel = "tawasul/blind-index/v1";
  const crypto::Hash256 index_key = crypto::blake2b_256_keyed(seal_key, crypto::as_bytes(kLabel));
  const std::string message = std::string(field) + "\n" + std::string(normalized_value);
  return crypto::to_hex(crypto::blake2b_256_keyed(index_key, crypto::as_bytes(message)));
}

std::optional<std::string> normalize_contact(std::string_view field, std::string_view raw) {
  std::string trimmed = trim(raw);
  if (trimmed.empty() || trimmed.size() > 254 || has_control_chars(trimmed, false))
    return std::nullopt;
  if (field == "phone") return normalize_phone(trimmed);
  if (field == "email") return normalize_email(trimmed);
  if (field == "national_id") return normalize_national_id(trimmed);
  return std::nullopt;
}

std::optional<std::string> open_contact(const crypto::SealKey& seal_key,
                                        std::string_view tracking_number, std::string_view field,
                                        std::string_view sealed_hex) {
  auto sealed = crypto::from_hex(sealed_hex);
  if (!sealed) return std::nullopt;
  const std::string context = std::string(tracking_number) + "/" + std::string(field);
  auto opened = crypto::open_sealed(seal_key, *sealed, crypto::as_bytes(context));
  if (!opened) return std::nullopt;
  return std::string(opened->begin(), opened->end());
}

json case_filed_payload(const FilingRequest& request, const std::string& tracking_number,
                        std::string_view access_hash, std::int64_t submitted_ms,
                        std::int64_t due_ms, const crypto::SealKey& seal_key) {
  json beneficiary{{"name", request.beneficiary.name}};
  auto seal = [&](const char* field, const std::optional<std::string>& value) {
    if (!value) return;
    std::string context = tracking_number + "/" + field;
    beneficiary[std::string(field) + "_sealed"] =
        crypto::to_hex(crypto::seal(seal_key, crypto::as_bytes(*value), crypto::as_bytes(context)));
    beneficiary[std::string(field) + "_index"] = blind_index(seal_key, field, *value);
  };
  seal("phone", request.beneficiary.phone);
  seal("email", request.beneficiary.email);
  seal("national_id", request.beneficiary.national_id);
  if (!request.account_index.empty()) beneficiary["account_index"] = request.account_index;
  json payload{{"tracking_number", tracking_number},
               {"type", request.type},
               {"subject", request.subject},
               {"description", request.description},
               {"channel", request.channel},
               {"beneficiary", beneficiary},
               {"access_hash", access_hash},
               {"submitted_at_ms", submitted_ms},
               {"due_at_ms", due_ms}};
  if (!request.filed_by.empty()) payload["filed_by"] = request.filed_by;
  if (!request.service.empty()) payload["service"] = request.service;
  payload["contact_preference"] = request.contact_preference;
  payload["confidential"] = request.confidential;
  return payload;
}

namespace {

// The text fields each workflow event carries, and the longest each may be.
struct TextField {
  const char* name;
  std::size_t max_chars;
};
std::vector<TextField> required_fields(CaseAction action) {
  switch (action) {
    case CaseAction::kAssign:
      return {{"unit", 64}};
    case CaseAction::kStart:
      return {{"assignee", 64}};
    case CaseAction::kRequestInfo:
      return {{"question", 5000}};
    case CaseAction::kProvideInfo:
      return {{"reply", 5000}};
    case CaseAction::kAnswer:
      return {{"answer", 5000}};
    case CaseAction::kReject:
      return {{"reason", 5000}};
    case CaseAction::kTransfer:
      return {{"to_unit", 64}, {"reason", 5000}};
    case CaseAction::kClose:
      return {{"reason", 64}};
    case CaseAction::kAddNote:
    case CaseAction::kReply:
      return {{"text", 5000}};
    case CaseAction::kObject:
      return {{"reason", 2000}};
    case CaseAction::kDecideObjection:
      return {{"outcome", 32}, {"answer", 5000}};
    case CaseAction::kEscalate:
      return {{"reason", 5000}};
    case CaseAction::kAwaitThirdParty:
      return {{"party", 200}, {"reason", 2000}};
    case CaseAction::kThirdPartyReplied:
      return {};
  }
  return {};
}

}  // namespace

bool is_objection_outcome(std::string_view outcome) {
  return outcome == "upheld" || outcome == "partly_upheld" || outcome == "rejected";
}

Result<void> check_action_fields(CaseAction action, const json& fields) {
  for (const auto& field : required_fields(action)) {
    if (!fields.contains(field.name)) {
      return std::unexpected(Error::bad_request(
          "missing_field", std::string(field.name) + " is required", field.name));
    }
    if (!fields[field.name].is_string()) {
      return std::unexpected(Error::bad_request(
          "wrong_type", std::string(field.name) + " must be a string", field.name));
    }
    const auto& text = fields[field.name].get_ref<const std::string&>();
    if (text.empty() || invalid_utf8_offset(text) || utf8_length(text) > field.max_chars) {
      return std::unexpected(Error::bad_request("invalid_length",
                                                std::string(field.name) + " must be 1 to " +
                                                    std::to_string(field.max_chars) +
                                                    " characters of text",
                                                field.name));
    }
  }
  return {};
}

bool is_action_field(CaseAction action, std::string_view field) {
  if (field == "assignee" && action == CaseAction::kAssign) return true;
  for (const auto& f : required_fields(action)) {
    if (f.name == field) return true;
  }
  return false;
}

namespace {

// Copies the pre-breach warning time an event carries for the deadline it
// sets (`warn_at_ms`), if any, into the new state.
std::expected<void, std::string> copy_warn_at(const json& payload, json& s) {
  if (!payload.contains("warn_at_ms")) return {};
  if (!payload["warn_at_ms"].is_number_integer())
    return std::unexpected("has an invalid warn_at_ms");
  s["warn_at_ms"] = payload["warn_at_ms"];
  return {};
}

// Stops the SLA clock when the event carries the working time left
// (`sla_remaining_ms`, and `warn_remaining_ms` for a warning not yet given):
// records the pause with its reason, shown to the beneficiary. An event
// without it (a wait the policy does not pause) leaves the clock running.
std::expected<void, std::string> pause_clock(const json& payload, std::int64_t at_ms,
                                             std::string_view reason, json& s) {
  if (!payload.contains("sla_remaining_ms")) return {};
  auto non_negative = [&](const char* key) {
    return payload[key].is_number_integer() && payload[key].get<std::int64_t>() >= 0;
  };
  if (!non_negative("sla_remaining_ms")) return std::unexpected("has an invalid sla_remaining_ms");
  s["sla_paused"] =
      json{{"since_ms", at_ms}, {"remaining_ms", payload["sla_remaining_ms"]}, {"reason", reason}};
  if (payload.contains("warn_remaining_ms")) {
    if (!non_negative("warn_remaining_ms"))
      return std::unexpected("has an invalid warn_remaining_ms");
    s["sla_paused"]["warn_remaining_ms"] = payload["warn_remaining_ms"];
  }
  return {};
}

// Checks the rung of the ladder an escalation or an objection moves a case
// to: `unit` (whose head now holds it), `assignee` (that head, or null) and
// `level_name` {ar, en}. The error names what is wrong.
std::expected<void, std::string> read_rung(const json& payload) {
  if (!payload.contains("unit") || !payload["unit"].is_string() ||
      payload["unit"].get_ref<const std::string&>().empty()) {
    return std::unexpected("lacks unit");
  }
  if (payload.contains("assignee") && !payload["assignee"].is_null() &&
      !payload["assignee"].is_string()) {
    return std::unexpected("has an invalid assignee");
  }
  const json& name = payload.contains("level_name") ? payload["level_name"] : json();
  if (!name.is_object() || !name.contains("ar") || !name["ar"].is_string() ||
      !name.contains("en") || !name["en"].is_string()) {
    return std::unexpected("lacks level_name {ar, en}");
  }
  return {};
}

// Applies a workflow event to a filed case: checks that the origin owns the
// case, that the state machine allows the action (workflow.hpp) and that the
// payload carries what the action needs; returns the new state.
Result<json> fold_workflow_event(const json& state, const crypto::Event& event, CaseAction action,
                                 const json& payload) {
  const std::string kind = event.kind;
  if (auto origin = check_case_event_origin(state, event); !origin)
    return std::unexpected(origin.error());
  auto status = parse_status(state["status"].get<std::string>());
  if (!status) return std::unexpected(Error::internal("case in unknown state"));
  auto next = next_status(*status, action);
  if (!next) return std::unexpected(refusal(*status, action));

  auto malformed = [&](std::string what) {
    return std::unexpected(Error::bad_request("malformed_event", kind + " " + what));
  };
  if (!payload.contains("by") || !payload["by"].is_string() ||
      payload["by"].get<std::string>().empty()) {
    return malformed("lacks by");
  }
  json entry{{"event", action_name(action)},
             {"at_ms", event.time_ms},
             {"status", status_name(*next)},
             {"by", payload["by"]}};
  for (const auto& field : required_fields(action)) {
    if (!payload.contains(field.name) || !payload[field.name].is_string()) {
      return malformed(std::string("lacks ") + field.name);
    }
    const auto& text = payload[field.name].get_ref<const std::string&>();
    if (text.empty() || invalid_utf8_offset(text) || utf8_length(text) > field.max_chars) {
      return malformed(std::string("has an invalid ") + field.name);
    }
    entry[field.name] = text;
  }
  if (action == CaseAction::kAddNote) entry["internal"] = true;

  json s = state;
  s["status"] = status_name(*next);
  s["updated_at_ms"] = event.time_ms;
  s["events"].push_back(json{{"origin", event.origin}, {"seq", event.seq}});
  // The first response (node/SLA.md): the first public act of staff — a
  // reply, a question, an answer or a rejection — measured against
  // `sla.first_response_due_ms`.
  const bool public_act = action == CaseAction::kReply || action == CaseAction::kRequestInfo ||
                          action == CaseAction::kAnswer || action == CaseAction::kReject;
  if (public_act && payload["by"] != "beneficiary" && payload["by"] != "system" &&
      !s.contains("first_response_at_ms")) {
    s["first_response_at_ms"] = event.time_ms;
  }
  switch (action) {
    case CaseAction::kAssign:
      s["unit"] = payload["unit"];
      s["assignee"] = payload.contains("assignee") && payload["assignee"].is_string()
                          ? payload["assignee"]
                          : json();
      if (!s["assignee"].is_null()) entry["assignee"] = s["assignee"];
      break;
    case CaseAction::kTransfer:
      s["unit"] = payload["to_unit"];
      s["assignee"] = nullptr;
      break;
    case CaseAction::kStart:
      s["assignee"] = payload["assignee"];
      break;
    case CaseAction::kRequestInfo:
      s["question"] = payload["question"];
      // The SLA clock stops while the beneficiary is asked (node/SLA.md).
      if (auto r = pause_clock(payload, event.time_ms, "waiting_for_beneficiary", s); !r)
        return malformed(r.error());
      break;
    case CaseAction::kAwaitThirdParty:
      // Whom the case waits for and why, shown to the beneficiary; the
      // clock stops only when the event carries the time left (node/SLA.md).
      s["third_party"] = json{
          {"party", payload["party"]}, {"reason", payload["reason"]}, {"since_ms", event.time_ms}};
      if (auto r = pause_clock(payload, event.time_ms, "waiting_for_third_party", s); !r)
        return malformed(r.error());
      break;
    case CaseAction::kThirdPartyReplied:
      s.erase("third_party");
      [[fallthrough]];
    case CaseAction::kProvideInfo:
      s.erase("question");
      // ...and runs again with the new due time the node computed.
      if (payload.contains("due_at_ms")) {
        if (!payload["due_at_ms"].is_number_integer()) return malformed("has an invalid due_at_ms");
        s["due_at_ms"] = payload["due_at_ms"];
        entry["due_at_ms"] = payload["due_at_ms"];
      }
      if (auto r = copy_warn_at(payload, s); !r) return malformed(r.error());
      s.erase("sla_paused");
      break;
    case CaseAction::kAnswer:
    case CaseAction::kReject:
    case CaseAction::kDecideObjection: {
      // An answer, a rejection or an objection's decision: the beneficiary
      // may object to it until the deadline the owning node computed.
      if (action == CaseAction::kDecideObjection) {
        const std::string outcome = payload["outcome"];
        if (!is_objection_outcome(outcome)) return malformed("has an unknown outcome");
        if (!s.contains("objections") || s["objections"].empty())
          return malformed("decides no objection");
        json& last = s["objections"].back();
        last["status"] = "decided";
        last["outcome"] = outcome;
        last["decided_by"] = payload["by"];
        last["decided_at_ms"] = event.time_ms;
        s["outcome"] = "objection_" + outcome;
        s["answer"] = payload["answer"];
        entry["outcome"] = outcome;
      } else {
        s["outcome"] = action == CaseAction::kAnswer ? "answered" : "rejected";
        s["answer"] = action == CaseAction::kAnswer ? payload["answer"] : payload["reason"];
      }
      s["answered_by"] = payload["by"];
      if (payload.contains("final")) {
        if (payload["final"] != true) return malformed("has an invalid final");
        s["answer_final"] = true;
        entry["final"] = true;
      }
      if (payload.contains("objection_deadline_ms")) {
        if (!payload["objection_deadline_ms"].is_number_integer())
          return malformed("has an invalid objection_deadline_ms");
        s["objection_deadline_ms"] = payload["objection_deadline_ms"];
      }
      break;
    }
    case CaseAction::kObject: {
      // One record per objection, linked to the case; the case reopens one
      // level higher — with the unit and head of that rung of the ladder,
      // computed by the owner as for an escalation — and that level's deadline.
      for (const char* key : {"objection", "level", "due_at_ms"}) {
        if (!payload.contains(key) || !payload[key].is_number_integer())
          return malformed(std::string("lacks ") + key);
      }
      if (payload["level"].get<int>() <= state.value("level", 0) ||
          payload["level"].get<int>() > kOrgDepthMax + 1) {
        return malformed("has an invalid level");
      }
      if (!s.contains("objections")) s["objections"] = json::array();
      if (payload["objection"].get<std::size_t>() != s["objections"].size() + 1)
        return malformed("numbers its objection out of turn");
      json record{{"number", payload["objection"]},
                  {"reason", payload["reason"]},
                  {"at_ms", event.time_ms},
                  {"level", payload["level"]},
                  {"answer", s.value("answer", json())},
                  {"answer_by", s.value("answered_by", json())},
                  {"status", "open"}};
      // The rung that reviews it; absent above the sector head (the review
      // goes to the hub with the hand-off that follows in the same commit).
      if (payload.contains("unit")) {
        auto rung = read_rung(payload);
        if (!rung) return malformed(rung.error());
        s["level_unit"] = payload["unit"];
        s["unit"] = payload["unit"];
        s["assignee"] = payload.contains("assignee") ? payload["assignee"] : json();
        record["unit"] = payload["unit"];
        record["level_name"] = payload["level_name"];
        entry["level_name"] = payload["level_name"];
      }
      s["objections"].push_back(std::move(record));
      s["level"] = payload["level"];
      s["due_at_ms"] = payload["due_at_ms"];
      // A new deadline: its own warning.
      s.erase("warn_at_ms");
      s.erase("sla_warned");
      if (auto r = copy_warn_at(payload, s); !r) return malformed(r.error());
      s.erase("objection_deadline_ms");
      entry["objection"] = payload["objection"];
      entry["level"] = payload["level"];
      entry["due_at_ms"] = payload["due_at_ms"];
      break;
    }
    case CaseAction::kEscalate: {
      // Everything was computed by the owner when it escalated (the level's
      // unit and head from its org tree, the deadline from its calendar);
      // the fold only checks and copies (node/SLA.md). A case handed to the
      // hub climbs no further here.
      if (state.contains("handed_to_hub")) {
        return std::unexpected(
            Error::conflict("handed_to_hub", kind + " for a case already handed to the hub"));
      }
      // A breach escalates only the deadline it breached: a replayed or
      // duplicate breach event finds another deadline and is refused.
      if (payload.contains("breached_due_ms")) {
        if (!payload["breached_due_ms"].is_number_integer())
          return malformed("has an invalid breached_due_ms");
        if (payload["breached_due_ms"] != state["due_at_ms"]) {
          return std::unexpected(Error::conflict(
              "stale_breach", kind + " for a deadline that is no longer the case's"));
        }
      }
      const int level = state.value("level", 0);
      if (!payload.contains("level") || !payload["level"].is_number_integer() ||
          payload["level"].get<int>() <= level || payload["level"].get<int>() > kOrgDepthMax + 1) {
        return malformed("has an invalid level");
      }
      if (auto rung = read_rung(payload); !rung) return malformed(rung.error());
      if (!payload.contains("due_at_ms") || !payload["due_at_ms"].is_number_integer())
        return malformed("lacks due_at_ms");
      const json& name = payload["level_name"];
      s["level"] = payload["level"];
      s["level_unit"] = payload["unit"];
      s["unit"] = payload["unit"];
      s["assignee"] = payload.contains("assignee") ? payload["assignee"] : json();
      s["due_at_ms"] = payload["due_at_ms"];
      s.erase("warn_at_ms");
      s.erase("sla_warned");
      if (auto r = copy_warn_at(payload, s); !r) return malformed(r.error());
      entry["level"] = payload["level"];
      entry["level_name"] = json{{"ar", name["ar"]}, {"en", name["en"]}};
      entry["due_at_ms"] = payload["due_at_ms"];
      if (payload.contains("breached_due_ms"))
        entry["breached_due_ms"] = payload["breached_due_ms"];
      break;
    }
    default:
      break;
  }
  s["history"].push_back(entry);
  return s;
}

// The pre-breach warning: once per deadline, for a case whose clock runs.
Result<json> fold_sla_warned(const json& state, const crypto::Event& event, const json& payload) {
  if (auto origin = check_case_event_origin(state, event); !origin)
    return std::unexpected(origin.error());
  auto malformed = [&](std::string what) {
    return std::unexpected(Error::bad_request("malformed_event", event.kind + " " + what));
  };
  if (!payload.contains("by") || !payload["by"].is_string()) return malformed("lacks by");
  if (!payload.contains("level") || !payload["level"].is_number_integer())
    return malformed("lacks level");
  if (!payload.contains("due_at_ms") || !payload["due_at_ms"].is_number_integer())
    return malformed("lacks due_at_ms");
  if (!payload.contains("notify") || !payload["notify"].is_array() ||
      payload["notify"].size() > 10) {
    return malformed("lacks notify (at most 10 staff ids)");
  }
  for (const auto& id : payload["notify"]) {
    if (!id.is_string() || id.get_ref<const std::string&>().empty() ||
        id.get_ref<const std::string&>().size() > 64) {
      return malformed("names an invalid staff id to notify");
    }
  }
  const std::string status = state["status"];
  if (status == "answered" || status == "closed" || state.contains("sla_paused") ||
      state.contains("handed_to_hub")) {
    return std::unexpected(
        Error::conflict("transition_not_allowed",
                        "no warning for a case that is " + status +
                            (state.contains("sla_paused") ? " (clock paused)" : "") +
                            (state.contains("handed_to_hub") ? " (handed to the hub)" : "")));
  }
  // It warns of the case's running deadline, at its level, and only once.
  if (payload["due_at_ms"] != state["due_at_ms"] || payload["level"] != state.value("level", 0) ||
      state.contains("sla_warned")) {
    return std::unexpected(Error::conflict(
        "stale_warning", event.kind + " for a deadline that is not the case's, or warned already"));
  }
  json s = state;
  s["sla_warned"] = json{{"at_ms", event.time_ms},
                         {"level", payload["level"]},
                         {"due_at_ms", payload["due_at_ms"]},
                         {"notify", payload["notify"]}};
  s["updated_at_ms"] = event.time_ms;
  s["events"].push_back(json{{"origin", event.origin}, {"seq", event.seq}});
  s["history"].push_back(json{{"event", "sla_warned"},
                              {"at_ms", event.time_ms},
                              {"status", status},
                              {"by", payload["by"]},
                              {"level", payload["level"]},
                              {"due_at_ms", payload["due_at_ms"]},
                              {"internal", true}});
  return s;
}

}  // namespace

Result<json> fold_case_event(const json& state, const crypto::Event& event, const json& payload) {
  if (event.kind == kCaseFiled) {
    if (!state.is_null()) {
      return std::unexpected(Error::conflict("duplicate_case", "case filed twice"));
    }
    // Replicated payloads were signed by an enrolled node, but are still
    // checked: the views and the public page read these fields.
    auto malformed = [](std::string what) {
      return std::unexpected(Error::bad_request("malformed_event", "case.filed " + what));
    };
    for (const char* key :
         {"tracking_number", "type", "subject", "description", "channel", "access_hash"}) {
      if (!payload.contains(key) || !payload[key].is_string())
        return malformed(std::string("lacks ") + key);
    }
    for (const char* key : {"submitted_at_ms", "due_at_ms"}) {
      if (!payload.contains(key) || !payload[key].is_number_integer()) {
        return malformed(std::string("lacks ") + key);
      }
    }
    if (payload.contains("warn_at_ms") && !payload["warn_at_ms"].is_number_integer())
      return malformed("has an invalid warn_at_ms");
    if (!payload.contains("beneficiary") || !payload["beneficiary"].is_object()) {
      return malformed("lacks beneficiary");
    }
    const json& beneficiary = payload["beneficiary"];
    // The rules the API applied when the owner took the filing.
    FilingRequest fields;
    if (auto r = read_filing_fields(payload, fields); !r)
      return malformed("has an invalid " + r.error().field + ": " + r.error().message);
    if (auto r = read_beneficiary_name(beneficiary); !r)
      return malformed("has an invalid " + r.error().field + ": " + r.error().message);
    if (!is_case_type(payload["type"].get<std::string>())) return malformed("has an unknown type");
    if (!is_channel(payload["channel"].get<std::string>()))
      return malformed("has an unknown channel");
    // Tracking numbers are unique across the federation because each carries
    // its owner's code: a node files only under its own code.
    const std::string& tracking = payload["tracking_number"].get_ref<const std::string&>();
    if (!tracking.starts_with(event.origin + "-")) {
      return std::unexpected(Error::conflict(
          "wrong_owner",
          "case.filed by " + event.origin + " carries another node's tracking number " + tracking));
    }
    json s = payload;
    s["owner"] = event.origin;
    s["status"] = "submitted";
    s["level"] = 0;  // the competent employee or unit (node/SLA.md)
    s["level_unit"] = nullptr;
    s["updated_at_ms"] = event.time_ms;
    s["events"] = json::array({json{{"origin", event.origin}, {"seq", event.seq}}});
    s["history"] = json::array({json{{"event", "filed"},
                                     {"at_ms", payload["submitted_at_ms"]},
                                     {"status", "submitted"},
                                     {"channel", payload["channel"]}}});
    return s;
  }
  if (event.kind == kCaseLinked) {
    if (state.is_null() || state["owner"] != event.origin) {
      return std::unexpected(
          Error::conflict("unknown_case", "case.linked for a case its origin does not own"));
    }
    if (!payload.contains("account_index") || !payload["account_index"].is_string() ||
        !crypto::array_from_hex<32>(payload["account_index"].get<std::string>())) {
      return std::unexpected(
          Error::bad_request("malformed_event", "case.linked lacks a valid account_index"));
    }
    if (state["beneficiary"].contains("account_index")) {
      return std::unexpected(
          Error::conflict("already_linked", "the case is already linked to a beneficiary account"));
    }
    json s = state;
    s["beneficiary"]["account_index"] = payload["account_index"];
    s["updated_at_ms"] = event.time_ms;
    s["events"].push_back(json{{"origin", event.origin}, {"seq", event.seq}});
    return s;
  }
  if (event.kind == kCaseAttachmentAdded) return fold_attachment_added(state, event, payload);
  if (event.kind == kCaseSlaWarned) return fold_sla_warned(state, event, payload);
  if (event.kind == kCaseHandedToHub) {
    if (state.is_null() || state["owner"] != event.origin) {
      return std::unexpected(
          Error::conflict("wrong_owner", "case.handed_to_hub for a case its origin does not own"));
    }
    const std::string status = state["status"];
    if (status == "answered" || status == "closed" || status == "waiting_for_beneficiary" ||
        state.contains("handed_to_hub")) {
      return std::unexpected(Error::conflict(
          "transition_not_allowed",
          "cannot hand a case that is " + status +
              (state.contains("handed_to_hub") ? " and already handed to the hub" : "") +
              " to the hub"));
    }
    if (!payload.contains("by") || !payload["by"].is_string() || !payload.contains("level") ||
        !payload["level"].is_number_integer() || !payload.contains("reason") ||
        !payload["reason"].is_string()) {
      return std::unexpected(
          Error::bad_request("malformed_event", "case.handed_to_hub lacks by, level or reason"));
    }
    if (payload.contains("breached_due_ms") && payload["breached_due_ms"] != state["due_at_ms"]) {
      return std::unexpected(Error::conflict(
          "stale_breach", "case.handed_to_hub for a deadline that is no longer the case's"));
    }
    json s = state;
    s["handed_to_hub"] = json{{"at_ms", event.time_ms}, {"level", payload["level"]}};
    s["updated_at_ms"] = event.time_ms;
    s["events"].push_back(json{{"origin", event.origin}, {"seq", event.seq}});
    s["history"].push_back(json{{"event", "handed_to_hub"},
                                {"at_ms", event.time_ms},
                                {"status", status},
                                {"by", payload["by"]},
                                {"level", payload["level"]},
                                {"level_name", label("وزارة التعليم", "Ministry of Education")},
                                {"reason", payload["reason"]}});
    return s;
  }
  auto action = action_of_event(event.kind);
  if (!action) {
    return std::unexpected(
        Error::bad_request("unknown_event", "no fold for event kind " + event.kind));
  }
  return fold_workflow_event(state, event, *action, payload);
}

json public_case_view(const json& state) {
  json history = json::array();
  for (const auto& h : state["history"]) {
    // Internal notes, and who on the staff did what, stay inside.
    if (h.value("internal", false)) continue;
    const std::string event = h["event"];
    json entry{{"event", event},
               {"event_label", event_label(event)},
               {"at", iso8601_utc(h["at_ms"].get<std::int64_t>())},
               {"at_hijri", hijri_json(h["at_ms"].get<std::int64_t>())},
               {"status", h["status"]},
               {"status_label", status_label(h["status"].get<std::string>())}};
    for (const char* field : {"question", "reply", "answer", "reason", "text", "attachment",
                              "outcome", "objection", "level", "level_name", "final", "party"}) {
      if (h.contains(field)) entry[field] = h[field];
    }
    // The deadline a step set (an escalation, an objection, a resumed clock),
    // in both calendars.
    if (h.contains("due_at_ms") && h["due_at_ms"].is_number_integer()) {
      entry["due_at"] = iso8601_utc(h["due_at_ms"].get<std::int64_t>());
      entry["due_at_hijri"] = hijri_json(h["due_at_ms"].get<std::int64_t>());
    }
    // Who added a file: the beneficiary or "staff", never which member.
    if (event == "attachment_added")
      entry["from"] = h["by"] == "beneficiary" ? "beneficiary" : "staff";
    history.push_back(entry);
  }
  const std::string status = state["status"];
  json view{{"tracking_number", state["tracking_number"]},
            {"owner", state["owner"]},
            {"type", state["type"]},
            {"type_label", type_label(state["type"].get<std::string>())},
            {"subject", state["subject"]},
            {"description", state["description"]},
            {"channel", state["channel"]},
            {"channel_label", channel_label(state["channel"].get<std::string>())},
            {"status", status},
            {"status_label", status_label(status)},
            {"submitted_at", iso8601_utc(state["submitted_at_ms"].get<std::int64_t>())},
            {"submitted_at_hijri", hijri_json(state["submitted_at_ms"].get<std::int64_t>())},
            {"due_at", iso8601_utc(state["due_at_ms"].get<std::int64_t>())},
            {"due_at_hijri", hijri_json(state["due_at_ms"].get<std::int64_t>())},
            {"beneficiary", json{{"name", state["beneficiary"]["name"]}}},
            {"history", history}};
  for (const char* field :
       {"question", "answer", "outcome", "contact_preference", "confidential", "level"}) {
    if (state.contains(field)) view[field] = state[field];
  }
  // Until when the beneficiary may object, and their objections so far.
  if (state.contains("objection_deadline_ms") && status == "answered") {
    const std::int64_t until = state["objection_deadline_ms"].get<std::int64_t>();
    view["objection_deadline"] = iso8601_utc(until);
    view["objection_deadline_hijri"] = hijri_json(until);
  }
  if (state.contains("objections")) {
    json list = json::array();
    for (const auto& o : state["objections"]) {
      json item{{"number", o["number"]},
                {"reason", o["reason"]},
                {"at", iso8601_utc(o["at_ms"].get<std::int64_t>())},
                {"status", o["status"]}};
      if (o.contains("outcome")) item["outcome"] = o["outcome"];
      list.push_back(item);
    }
    view["objections"] = list;
  }
  // A paused SLA clock, and why, is the beneficiary's to see.
  if (state.contains("sla_paused")) {
    const std::int64_t since = state["sla_paused"]["since_ms"].get<std::int64_t>();
    view["sla_paused"] = json{
        {"since", iso8601_utc(since)},
        {"since_hijri", hijri_json(since)},
        {"reason", state["sla_paused"]["reason"]},
        {"reason_label",
         {{"ar", "متوقف مؤقتًا بانتظار ردك على السؤال المطروح، ويستأنف عند وصول ردك"},
          {"en",
           "paused while we wait for your reply to our question; it resumes when you reply"}}}};
  }
  json attachments = json::array();
  if (state.contains("attachments")) {
    for (const auto& a : state["attachments"]) attachments.push_back(public_attachment(a));
  }
  view["attachments"] = attachments;
  return view;
}

}  // namespace tawasul::node
