// Beneficiary accounts of one node.
//
// A beneficiary may file without an account (tracking number + access code)
// or register one with a phone number or an e-mail address and a password.
// An account's cases are the ones filed while signed in and the ones the
// beneficiary claimed by proving the access code (`case.linked`); both are
// found through the keyed blind index of the account id (cases.hpp
// `blind_index`), so the case events never carry the account id itself.
//
// Cases are not matched to an account by phone or e-mail alone: nothing here
// proves that the person who registered a number owns it, and matching on an
// unverified number would show one person's cases to another. (Verifying a
// number by a code sent through the outbox can widen this later.)
//
// Accounts are node-local like staff (never replicated): the contact data is
// sealed with the node's seal key, and looked up by a blind index of the
// login. Sessions share the staff session table (staff.hpp), marked as a
// beneficiary's; failed logins lock the login like a staff account's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "node/error.hpp"
#include "storage/env.hpp"

namespace tawasul::node {

struct BeneficiaryAccount {
  std::string id;                    // "B" and 20 hex digits, random
  std::string name;                  // 2..120 characters
  std::optional<std::string> phone;  // E.164, opened from the sealed record
  std::optional<std::string> email;
  bool disabled = false;
  std::int64_t created_at_ms = 0;

  // What the account holder sees of it: contact data masked (outbox.hpp
  // mask_address): enough to recognise one's own, not to read another's.
  nlohmann::json to_json() const;
};

struct Registration {
  std::string name;
  std::optional<std::string> phone;  // normalised E.164
  std::optional<std::string> email;  // normalised
  std::string password;
};

// Validates a registration body {name, phone?, email?, password}: at least
// one of phone and e-mail; every refusal names the field.
Result<Registration> parse_registration(const nlohmann::json& body);

class BeneficiaryDirectory {
 public:
  // Opens (creates) its databases in `env`. Call during set-up.
  static Result<BeneficiaryDirectory> open(storage::Env& env, const crypto::SealKey& seal_key);

  // --- writes: inside a write transaction ---
  // Creates an account; 409 `account_exists` when the phone or e-mail
  // already signs in to another.
  Result<BeneficiaryAccount> add(storage::WriteTxn& txn, const Registration& registration,
                                 const std::string& password_hash, std::int64_t now_ms);

  // --- reads: any thread ---
  struct Login {
    BeneficiaryAccount account;
    std::string password_hash;
  };
  // The account a phone number or e-mail address signs in to.
  std::optional<Login> by_login(std::string_view login);
  std::optional<BeneficiaryAccount> find(std::string_view id);
  // The key under which login failures of `login` are counted (staff.hpp
  // record_failure); never clashes with a staff id.
  std::string failure_key(std::string_view login) const;

  // The blind index (64 hex digits) that links cases to the account.
  std::string account_index(std::string_view id) const;

 private:
  BeneficiaryDirectory(storage::Env& env, const crypto::SealKey& seal_key, storage::Dbi accounts,
                       storage::Dbi logins)
      : env_(&env), seal_key_(seal_key), accounts_(accounts), logins_(logins) {}
  // The raw 32-byte blind index of a login, or nullopt when it is not a
  // phone number or e-mail address.
  std::optional<std::string> login_key(std::string_view login) const;
  std::optional<BeneficiaryAccount> from_record(std::string_view id, std::string_view record) const;

  storage::Env* env_;
  crypto::SealKey seal_key_;
  storage::Dbi accounts_;  // account id -> JSON record (sealed contact data, Argon2id hash)
  storage::Dbi logins_;    // 32-byte blind index of a login -> account id
};

}  // namespace tawasul::node
