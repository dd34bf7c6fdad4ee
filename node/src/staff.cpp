#include "node/staff.hpp"

#include <algorithm>

#include "crypto/crypto.hpp"
#include "node/cases.hpp"
#include "node/node_store.hpp"
#include "node/time_util.hpp"

namespace tawasul::node {

using nlohmann::json;

std::string_view staff_role_name(StaffRole role) {
  switch (role) {
    case StaffRole::kEmployee:
      return "employee";
    case StaffRole::kUnitHead:
      return "unit_head";
    case StaffRole::kCoordinator:
      return "coordinator";
    case StaffRole::kNodeAdmin:
      return "node_admin";
    case StaffRole::kCallCentreAgent:
      return "call_centre_agent";
    case StaffRole::kAuditor:
      return "auditor";
  }
  return "?";
}

std::optional<StaffRole> parse_staff_role(std::string_view name) {
  for (StaffRole r : kAllStaffRoles) {
    if (staff_role_name(r) == name) return r;
  }
  return std::nullopt;
}

bool StaffMember::has(StaffRole role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

json StaffMember::to_json() const {
  json r = json::array();
  for (StaffRole role : roles) r.push_back(staff_role_name(role));
  return json{{"id", id},
              {"name", name},
              {"unit", unit},
              {"roles", r},
              {"confidential", confidential},
              {"disabled", disabled}};
}

namespace {

bool valid_staff_id(std::string_view id) {
  return id.size() >= 2 && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
         });
}

bool valid_unit_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Result<StaffMember> member_from_record(const json& j) {
  try {
    StaffMember m;
    m.id = j.at("id").get<std::string>();
    m.name = j.at("name").get<std::string>();
    m.unit = j.at("unit").get<std::string>();
    for (const auto& r : j.at("roles")) {
      auto role = parse_staff_role(r.get<std::string>());
      if (!role) return std::unexpected(Error::internal("stored staff record has an unknown role"));
      m.roles.push_back(*role);
    }
    m.confidential = j.value("confidential", false);
    m.disabled = j.value("disabled", false);
    return m;
  } catch (const json::exception&) {
    return std::unexpected(Error::internal("stored staff record is malformed"));
  }
}

std::string token_key(std::string_view token) {
  auto h = crypto::blake2b_256(crypto::as_bytes(token));
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

Result<StaffMember> parse_staff_member(const json& body) {
  if (!body.is_object())
    return std::unexpected(Error::bad_request("wrong_type", "the body must be a JSON object"));
  for (auto it = body.begin(); it != body.end(); ++it) {
    static const std::vector<std::string> kKnown = {"id",    "name",         "unit",
                                                    "roles", "confidential", "password"};
    if (std::find(kKnown.begin(), kKnown.end(), it.key()) == kKnown.end()) {
      return std::unexpected(
          Error::bad_request("unknown_field", it.key() + " is not a known field", it.key()));
    }
  }
  auto string_field = [&](const char* name) -> Result<std::string> {
    if (!body.contains(name))
      return std::unexpected(
          Error::bad_request("missing_field", std::string(name) + " is required", name));
    if (!body[name].is_string()) {
      return std::unexpected(
          Error::bad_request("wrong_type", std::string(name) + " must be a string", name));
    }
    return body[name].get<std::string>();
  };
  StaffMember m;
  auto id = string_field("id");
  if (!id) return std::unexpected(id.error());
  if (!valid_staff_id(*id)) {
    return std::unexpected(
        Error::bad_request("invalid_id", "id must be 2 to 64 of a-z, 0-9, '.', '_', '-'", "id"));
  }
  m.id = *id;
  auto name = string_field("name");
  if (!name) return std::unexpected(name.error());
  if (invalid_utf8_offset(*name) || utf8_length(*name) < 2 || utf8_length(*name) > 120) {
    return std::unexpected(
        Error::bad_request("invalid_length", "name must be 2 to 120 characters", "name"));
  }
  m.name = *name;
  auto unit = string_field("unit");
  if (!unit) return std::unexpected(unit.error());
  if (!valid_unit_id(*unit))
    return std::unexpected(Error::bad_request("invalid_unit", "unit is not a unit id", "unit"));
  m.unit = *unit;
  if (!body.contains("roles") || !body["roles"].is_array() || body["roles"].empty()) {
    return std::unexpected(
        Error::bad_request("missing_field", "roles must list at least one role", "roles"));
  }
  for (const auto& r : body["roles"]) {
    auto role = r.is_string() ? parse_staff_role(r.get<std::string>()) : std::nullopt;
    if (!role) {
      return std::unexpected(Error::bad_request(
          "unknown_role",
          "roles may hold employee, unit_head, coordinator, node_admin, call_centre_agent, auditor",
          "roles"));
    }
    if (!m.has(*role)) m.roles.push_back(*role);
  }
  if (body.contains("confidential")) {
    if (!body["confidential"].is_boolean()) {
      return std::unexpected(
          Error::bad_request("wrong_type", "confidential must be true or false", "confidential"));
    }
    m.confidential = body["confidential"].get<bool>();
  }
  return m;
}

Result<void> check_password(std::string_view password) {
  if (invalid_utf8_offset(password) || utf8_length(password) < 10 || utf8_length(password) > 256) {
    return std::unexpected(
        Error::bad_request("weak_password", "a password is 10 to 256 characters", "password"));
  }
  return {};
}

Result<StaffDirectory> StaffDirectory::open(storage::Env& env) {
  storage::Dbi dbis[4];
  const char* names[4] = {"staff", "sessions", "login_failures", "audit"};
  for (int i = 0; i < 4; ++i) {
    auto d = env.dbi(names[i]);
    if (!d) return std::unexpected(from_storage(d.error()));
    dbis[i] = *d;
  }
  return StaffDirectory(env, dbis[0], dbis[1], dbis[2], dbis[3]);
}

Result<void> StaffDirectory::add(storage::WriteTxn& txn, const StaffMember& member,
                                 const std::string& password_hash, std::int64_t now_ms) {
  if (txn.find(staff_, member.id)) {
    return std::unexpected(
        Error::conflict("staff_exists", "a staff member '" + member.id + "' already exists"));
  }
  json record = member.to_json();
  record["password_hash"] = password_hash;
  record["created_at"] = iso8601_utc(now_ms);
  if (auto r = txn.put(staff_, member.id, record.dump()); !r)
    return std::unexpected(from_storage(r.error()));
  return audit(txn, now_ms, json{{"event", "staff_added"}, {"staff", member.to_json()}});
}

Result<void> StaffDirectory::open_session(storage::WriteTxn& txn, const std::string& staff_id,
                                          std::string_view token, std::int64_t now_ms) {
  return put_session(txn, token, json{{"staff_id", staff_id}}, now_ms);
}

Result<void> StaffDirectory::open_beneficiary_session(storage::WriteTxn& txn,
                                                      const std::string& account_id,
                                                      std::string_view token, std::int64_t now_ms) {
  return put_session(txn, token, json{{"beneficiary_id", account_id}}, now_ms);
}

Result<void> StaffDirectory::put_session(storage::WriteTxn& txn, std::string_view token,
                                         json session, std::int64_t now_ms) {
  if (auto r = purge_expired_sessions(txn, now_ms); !r) return std::unexpected(r.error());
  session["expires_at_ms"] = now_ms + kSessionLifetimeMs;
  if (auto r = txn.put(sessions_, token_key(token), session.dump()); !r)
    return std::unexpected(from_storage(r.error()));
  return {};
}

Result<std::size_t> StaffDirectory::purge_expired_sessions(storage::WriteTxn& txn,
                                                           std::int64_t now_ms) {
  // Keys are hashes of random tokens: a window from a random key is a fair
  // sample, so every opening removes its share of the expired sessions and
  // the table stays about the size of the sessions alive.
  const std::string from = token_key(crypto::random_token());
  std::vector<std::string> expired;
  std::size_t seen = 0;
  auto visit = [&](std::string_view key, std::string_view value) {
    json s = json::parse(value, nullptr, false);
    if (!s.is_object() || s.value("expires_at_ms", std::int64_t{0}) <= now_ms)
      expired.emplace_back(key);
    return ++seen < kSessionPurgeWindow;
  };
  if (auto r = txn.scan(sessions_, from, visit); !r)
    return std::unexpected(from_storage(r.error()));
  if (seen < kSessionPurgeWindow) {  // wrap around to the start of the table
    if (auto r = txn.scan(sessions_, "",
                          [&](std::string_view key, std::string_view value) {
                            return key < from && visit(key, value);
                          });
        !r)
      return std::unexpected(from_storage(r.error()));
  }
  for (const auto& key : expired) {
    if (auto r = txn.del(sessions_, key); !r) return std::unexpected(from_storage(r.error()));
  }
  return expired.size();
}

Result<StaffMember> StaffDirectory::update(storage::WriteTxn& txn, const StaffMember& member,
                                           const std::optional<std::string>& password_hash,
                                           std::int64_t now_ms) {
  auto v = txn.find(staff_, member.id);
  if (!v) return std::unexpected(Error::not_found("no staff member '" + member.id + "'"));
  json record = json::parse(*v, nullptr, false);
  auto before = member_from_record(record);
  if (!before) return std::unexpected(before.error());
  json updated = member.to_json();
  updated["password_hash"] = password_hash ? *password_hash : record.value("password_hash", "");
  updated["created_at"] = record.value("created_at", "");
  updated["updated_at"] = iso8601_utc(now_ms);
  if (auto r = txn.put(staff_, member.id, updated.dump()); !r)
    return std::unexpected(from_storage(r.error()));
  if (member.disabled || password_hash) {
    // End the member's sessions: a disabled account or a changed password
    // must not keep working through a token issued before.
    std::vector<std::string> ended;
    auto scanned = txn.scan(sessions_, "", [&](std::string_view key, std::string_view value) {
      json s = json::parse(value, nullptr, false);
      if (s.is_object() && s.value("staff_id", "") == member.id) ended.emplace_back(key);
      return true;
    });
    if (!scanned) return std::unexpected(from_storage(scanned.error()));
    for (const auto& key : ended) {
      if (auto r = txn.del(sessions_, key); !r) return std::unexpected(from_storage(r.error()));
    }
  }
  json entry{
      {"event", "staff_updated"}, {"before", before->to_json()}, {"after", member.to_json()}};
  if (password_hash) entry["password_changed"] = true;
  if (auto r = audit(txn, now_ms, entry); !r) return std::unexpected(r.error());
  return member;
}

Result<void> StaffDirectory::close_session(storage::WriteTxn& txn, std::string_view token) {
  if (auto r = txn.del(sessions_, token_key(token)); !r)
    return std::unexpected(from_storage(r.error()));
  return {};
}

Result<std::int64_t> StaffDirectory::record_failure(storage::WriteTxn& txn,
                                                    const std::string& staff_id,
                                                    std::int64_t now_ms) {
  json f{{"count", 0}, {"first_ms", now_ms}, {"locked_until_ms", 0}};
  if (auto v = txn.find(failures_, staff_id)) {
    json stored = json::parse(*v, nullptr, false);
    if (stored.is_object()) f = stored;
  }
  // Failures older than the lockout window are forgotten.
  if (now_ms - f["first_ms"].get<std::int64_t>() > kLockoutMs)
    f = json{{"count", 0}, {"first_ms", now_ms}, {"locked_until_ms", 0}};
  f["count"] = f["count"].get<int>() + 1;
  if (f["count"].get<int>() >= kLoginFailuresMax) f["locked_until_ms"] = now_ms + kLockoutMs;
  if (auto r = txn.put(failures_, staff_id, f.dump()); !r)
    return std::unexpected(from_storage(r.error()));
  return f["locked_until_ms"].get<std::int64_t>();
}

Result<void> StaffDirectory::clear_failures(storage::WriteTxn& txn, const std::string& staff_id) {
  if (auto r = txn.del(failures_, staff_id); !r) return std::unexpected(from_storage(r.error()));
  return {};
}

Result<void> StaffDirectory::audit(storage::WriteTxn& txn, std::int64_t now_ms, const json& entry) {
  std::uint64_t next = 1;
  auto last = txn.last_with_prefix(audit_, "");
  if (!last) return std::unexpected(from_storage(last.error()));
  if (*last && (*last)->first.size() == 8) next = storage::decode_u64((*last)->first) + 1;
  json line = entry;
  line["at"] = iso8601_utc(now_ms);
  if (auto r = txn.put(audit_, storage::encode_u64(next),
                       line.dump(-1, ' ', false, json::error_handler_t::replace));
      !r) {
    return std::unexpected(from_storage(r.error()));
  }
  return {};
}

std::optional<StaffMember> StaffDirectory::find(std::string_view staff_id) {
  auto txn = env_->begin_read();
  if (!txn) return std::nullopt;
  auto v = txn->find(staff_, staff_id);
  if (!v) return std::nullopt;
  auto m = member_from_record(json::parse(*v, nullptr, false));
  if (!m) return std::nullopt;
  return *m;
}

std::optional<StaffDirectory::Account> StaffDirectory::account(std::string_view staff_id) {
  auto txn = env_->begin_read();
  if (!txn) return std::nullopt;
  auto v = txn->find(staff_, staff_id);
  if (!v) return std::nullopt;
  json j = json::parse(*v, nullptr, false);
  auto m = member_from_record(j);
  if (!m || !j.contains("password_hash") || !j["password_hash"].is_string()) return std::nullopt;
  return Account{*m, j["password_hash"].get<std::string>()};
}

Result<std::vector<StaffMember>> StaffDirectory::list() {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  std::vector<StaffMember> out;
  std::optional<Error> bad;
  auto r = txn->scan(staff_, "", [&](std::string_view, std::string_view value) {
    auto m = member_from_record(json::parse(value, nullptr, false));
    if (!m) {
      bad = m.error();
      return false;
    }
    out.push_back(std::move(*m));
    return true;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  if (bad) return std::unexpected(*bad);
  return out;
}

std::optional<std::string> StaffDirectory::session_principal(std::string_view token,
                                                             std::string_view kind,
                                                             std::int64_t now_ms) {
  if (token.size() != 64) return std::nullopt;
  auto txn = env_->begin_read();
  if (!txn) return std::nullopt;
  auto v = txn->find(sessions_, token_key(token));
  if (!v) return std::nullopt;
  json s = json::parse(*v, nullptr, false);
  if (!s.is_object() || s.value("expires_at_ms", std::int64_t{0}) <= now_ms) return std::nullopt;
  if (!s.contains(kind) || !s[kind].is_string()) return std::nullopt;
  return s[kind].get<std::string>();
}

std::optional<StaffMember> StaffDirectory::session(std::string_view token, std::int64_t now_ms) {
  auto staff_id = session_principal(token, "staff_id", now_ms);
  if (!staff_id) return std::nullopt;
  auto member = find(*staff_id);
  if (!member || member->disabled) return std::nullopt;
  return member;
}

std::optional<std::string> StaffDirectory::beneficiary_session(std::string_view token,
                                                               std::int64_t now_ms) {
  return session_principal(token, "beneficiary_id", now_ms);
}

std::optional<std::int64_t> StaffDirectory::locked_until(std::string_view staff_id,
                                                         std::int64_t now_ms) {
  auto txn = env_->begin_read();
  if (!txn) return std::nullopt;
  auto v = txn->find(failures_, staff_id);
  if (!v) return std::nullopt;
  json f = json::parse(*v, nullptr, false);
  if (!f.is_object()) return std::nullopt;
  auto until = f.value("locked_until_ms", std::int64_t{0});
  if (until > now_ms) return until;
  return std::nullopt;
}

Result<std::vector<json>> StaffDirectory::audit_log(std::size_t max_entries) {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  std::vector<json> out;
  auto r = txn->scan(audit_, "", [&](std::string_view, std::string_view value) {
    out.push_back(json::parse(value, nullptr, false));
    return out.size() < max_entries;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return out;
}

Result<std::vector<json>> StaffDirectory::audit_tail(std::size_t max_entries) {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  auto last = txn->last_with_prefix(audit_, "");
  if (!last) return std::unexpected(from_storage(last.error()));
  if (!*last || (*last)->first.size() != 8) return std::vector<json>{};
  const std::uint64_t end = storage::decode_u64((*last)->first);
  const std::uint64_t from = end > max_entries ? end - max_entries + 1 : 1;
  std::vector<json> out;
  auto r = txn->scan(audit_, storage::encode_u64(from), [&](std::string_view, std::string_view v) {
    out.push_back(json::parse(v, nullptr, false));
    return out.size() < max_entries;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return out;
}

}  // namespace tawasul::node
