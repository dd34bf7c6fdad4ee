#include "node/beneficiaries.hpp"

#include <algorithm>
#include <array>

#include "node/cases.hpp"
#include "node/node_store.hpp"
#include "node/outbox.hpp"
#include "node/staff.hpp"

namespace tawasul::node {

using nlohmann::json;

namespace {

// A login is a phone number or an e-mail address; e-mail logins ignore case
// entirely (people do not remember how they capitalised their address).
std::optional<std::pair<std::string, std::string>> normalize_login(std::string_view login) {
  const bool email = login.find('@') != std::string_view::npos;
  auto normalized = normalize_contact(email ? "email" : "phone", login);
  if (!normalized) return std::nullopt;
  if (email) {
    std::transform(normalized->begin(), normalized->end(), normalized->begin(), [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
  }
  return std::pair{std::string(email ? "email" : "phone"), *normalized};
}

std::string seal_context(std::string_view id, std::string_view field) {
  return "account/" + std::string(id) + "/" + std::string(field);
}

}  // namespace

json BeneficiaryAccount::to_json() const {
  json j{{"kind", "beneficiary"}, {"id", id}, {"name", name}};
  if (phone) j["phone"] = mask_address(*phone);
  if (email) j["email"] = mask_address(*email);
  return j;
}

Result<Registration> parse_registration(const json& body) {
  if (!body.is_object())
    return std::unexpected(Error::bad_request("wrong_type", "the body must be a JSON object"));
  for (auto it = body.begin(); it != body.end(); ++it) {
    static const std::array<std::string_view, 4> kKnown = {"name", "phone", "email", "password"};
    if (std::find(kKnown.begin(), kKnown.end(), it.key()) == kKnown.end()) {
      return std::unexpected(
          Error::bad_request("unknown_field", it.key() + " is not a known field", it.key()));
    }
    if (!it.value().is_string()) {
      return std::unexpected(
          Error::bad_request("wrong_type", it.key() + " must be a string", it.key()));
    }
  }
  Registration r;
  if (!body.contains("name"))
    return std::unexpected(Error::bad_request("missing_field", "name is required", "name"));
  r.name = body["name"].get<std::string>();
  if (invalid_utf8_offset(r.name) || utf8_length(r.name) < 2 || utf8_length(r.name) > 120) {
    return std::unexpected(
        Error::bad_request("invalid_length", "name must be 2 to 120 characters", "name"));
  }
  if (body.contains("phone")) {
    r.phone = normalize_contact("phone", body["phone"].get<std::string>());
    if (!r.phone) {
      return std::unexpected(Error::bad_request(
          "invalid_phone",
          "phone must be an international number in E.164 form, e.g. +966501234567", "phone"));
    }
  }
  if (body.contains("email")) {
    auto login = normalize_login(body["email"].get<std::string>());
    if (!login || login->first != "email") {
      return std::unexpected(
          Error::bad_request("invalid_email", "email is not a valid e-mail address", "email"));
    }
    r.email = login->second;
  }
  if (!r.phone && !r.email) {
    return std::unexpected(Error::bad_request(
        "missing_field", "phone or email is required: it is how you sign in", "phone"));
  }
  if (!body.contains("password")) {
    return std::unexpected(Error::bad_request("missing_field", "password is required", "password"));
  }
  r.password = body["password"].get<std::string>();
  if (auto ok = check_password(r.password); !ok) return std::unexpected(ok.error());
  return r;
}

Result<BeneficiaryDirectory> BeneficiaryDirectory::open(storage::Env& env,
                                                        const crypto::SealKey& seal_key) {
  auto accounts = env.dbi("beneficiaries");
  if (!accounts) return std::unexpected(from_storage(accounts.error()));
  auto logins = env.dbi("beneficiary_logins");
  if (!logins) return std::unexpected(from_storage(logins.error()));
  return BeneficiaryDirectory(env, seal_key, *accounts, *logins);
}

std::optional<std::string> BeneficiaryDirectory::login_key(std::string_view login) const {
  auto normalized = normalize_login(login);
  if (!normalized) return std::nullopt;
  auto index =
      crypto::from_hex(blind_index(seal_key_, "login_" + normalized->first, normalized->second));
  if (!index) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(index->data()), index->size());
}

std::string BeneficiaryDirectory::failure_key(std::string_view login) const {
  auto key = login_key(login);
  // Staff ids never hold '/', so the two kinds of lock never meet.
  return "beneficiary/" + (key ? crypto::to_hex(crypto::as_bytes(*key)) : std::string("invalid"));
}

std::string BeneficiaryDirectory::account_index(std::string_view id) const {
  return blind_index(seal_key_, "account", id);
}

Result<BeneficiaryAccount> BeneficiaryDirectory::add(storage::WriteTxn& txn,
                                                     const Registration& registration,
                                                     const std::string& password_hash,
                                                     std::int64_t now_ms) {
  std::vector<std::string> keys;
  for (const auto& login : {registration.phone, registration.email}) {
    if (!login) continue;
    auto key = login_key(*login);
    if (!key) return std::unexpected(Error::internal("a registered login does not normalise"));
    if (txn.find(logins_, *key)) {
      return std::unexpected(Error::conflict(
          "account_exists",
          "an account already signs in with this phone number or e-mail address; sign in, "
          "or ask the centre to reset its password"));
    }
    keys.push_back(*key);
  }
  std::array<std::uint8_t, 10> raw{};
  crypto::random_bytes(raw);
  BeneficiaryAccount account;
  account.id = "B" + crypto::to_hex(raw);
  account.name = registration.name;
  account.phone = registration.phone;
  account.email = registration.email;
  account.created_at_ms = now_ms;
  json record{{"name", account.name},
              {"password_hash", password_hash},
              {"created_at_ms", now_ms},
              {"disabled", false}};
  for (const auto& [field, value] :
       {std::pair{"phone", registration.phone}, std::pair{"email", registration.email}}) {
    if (!value) continue;
    const std::string context = seal_context(account.id, field);
    record[std::string(field) + "_sealed"] = crypto::to_hex(
        crypto::seal(seal_key_, crypto::as_bytes(*value), crypto::as_bytes(context)));
  }
  if (auto r = txn.put(accounts_, account.id, record.dump()); !r)
    return std::unexpected(from_storage(r.error()));
  for (const auto& key : keys) {
    if (auto r = txn.put(logins_, key, account.id); !r)
      return std::unexpected(from_storage(r.error()));
  }
  return account;
}

std::optional<BeneficiaryAccount> BeneficiaryDirectory::from_record(std::string_view id,
                                                                    std::string_view record) const {
  json j = json::parse(record, nullptr, false);
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return std::nullopt;
  BeneficiaryAccount a;
  a.id = std::string(id);
  a.name = j["name"].get<std::string>();
  a.disabled = j.value("disabled", false);
  a.created_at_ms = j.value("created_at_ms", std::int64_t{0});
  for (const char* field : {"phone", "email"}) {
    const std::string key = std::string(field) + "_sealed";
    if (!j.contains(key) || !j[key].is_string()) continue;
    auto sealed = crypto::from_hex(j[key].get<std::string>());
    if (!sealed) return std::nullopt;
    const std::string context = seal_context(id, field);
    auto opened = crypto::open_sealed(seal_key_, *sealed, crypto::as_bytes(context));
    if (!opened) return std::nullopt;
    (std::string_view(field) == "phone" ? a.phone : a.email) =
        std::string(opened->begin(), opened->end());
  }
  return a;
}

std::optional<BeneficiaryDirectory::Login> BeneficiaryDirectory::by_login(std::string_view login) {
  auto key = login_key(login);
  if (!key) return std::nullopt;
  auto txn = env_->begin_read();
  if (!txn) return std::nullopt;
  auto id = txn->find(logins_, *key);
  if (!id) return std::nullopt;
  auto record = txn->find(accounts_, *id);
  if (!record) return std::nullopt;
  auto account = from_record(*id, *record);
  json j = json::parse(*record, nullptr, false);
  if (!account || !j.contains("password_hash") || !j["password_hash"].is_string())
    return std::nullopt;
  return Login{*account, j["password_hash"].get<std::string>()};
}

std::optional<BeneficiaryAccount> BeneficiaryDirectory::find(std::string_view id) {
  auto txn = env_->begin_read();
  if (!txn) return std::nullopt;
  auto record = txn->find(accounts_, id);
  if (!record) return std::nullopt;
  return from_record(id, *record);
}

}  // namespace tawasul::node
