// Staff accounts, sessions and the audit log of one node.
//
// Staff are local to their node: accounts, password hashes (Argon2id) and
// sessions never leave it and are not events (they are not case history).
// Every write happens in a write transaction given by the caller — in the
// daemon, the single writer; reads open their own read transactions.
//
// Sessions: a login returns a random 256-bit token; only its BLAKE2b hash is
// stored, with the staff id and an expiry. Throttling: after
// `kLoginFailuresMax` failed logins within `kLockout`, the account refuses
// logins until the lock expires.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/error.hpp"
#include "storage/env.hpp"

namespace tawasul::node {

enum class StaffRole { kEmployee, kUnitHead, kCoordinator, kNodeAdmin, kCallCentreAgent, kAuditor };

inline constexpr StaffRole kAllStaffRoles[] = {StaffRole::kEmployee,        StaffRole::kUnitHead,
                                               StaffRole::kCoordinator,     StaffRole::kNodeAdmin,
                                               StaffRole::kCallCentreAgent, StaffRole::kAuditor};

std::string_view staff_role_name(StaffRole role);  // "unit_head"
std::optional<StaffRole> parse_staff_role(std::string_view name);

struct StaffMember {
  std::string id;    // login name: 2..64 of a-z 0-9 . _ -
  std::string name;  // display name, 2..120 characters
  std::string unit;  // the org unit the member belongs to
  std::vector<StaffRole> roles;
  bool confidential = false;  // may see confidential cases of the unit's subtree
  bool disabled = false;

  bool has(StaffRole role) const;
  // Without the password hash.
  nlohmann::json to_json() const;
};

// Validates a new member's fields; every refusal names the field.
Result<StaffMember> parse_staff_member(const nlohmann::json& body);
// 10..256 characters.
Result<void> check_password(std::string_view password);

inline constexpr std::int64_t kSessionLifetimeMs = 12LL * 3600 * 1000;
// Sessions looked at for expiry each time one is opened (a bounded scan in
// the opening's own transaction; see purge_expired_sessions).
inline constexpr std::size_t kSessionPurgeWindow = 64;
inline constexpr int kLoginFailuresMax = 5;
inline constexpr std::int64_t kLockoutMs = 15LL * 60 * 1000;

class StaffDirectory {
 public:
  // Opens (creates) its databases in `env`. Call during set-up.
  static Result<StaffDirectory> open(storage::Env& env);

  // --- writes: inside a write transaction ---
  Result<void> add(storage::WriteTxn& txn, const StaffMember& member,
                   const std::string& password_hash, std::int64_t now_ms);
  // Records a session for `token` (only its hash is kept).
  Result<void> open_session(storage::WriteTxn& txn, const std::string& staff_id,
                            std::string_view token, std::int64_t now_ms);
  // The same for a beneficiary account (beneficiaries.hpp); the session table
  // is shared, each entry marked with the kind of principal it belongs to.
  Result<void> open_beneficiary_session(storage::WriteTxn& txn, const std::string& account_id,
                                        std::string_view token, std::int64_t now_ms);
  Result<void> close_session(storage::WriteTxn& txn, std::string_view token);
  // Removes the expired sessions among kSessionPurgeWindow taken from a
  // random place in the table; returns how many. Every opening calls it, so
  // expired sessions do not pile up.
  Result<std::size_t> purge_expired_sessions(storage::WriteTxn& txn, std::int64_t now_ms);
  // Replaces a member's record (name, unit, roles, grants, disabled) and, when
  // `password_hash` is given, the password. Disabling an account or changing
  // its password ends its open sessions. Audited with the record before and after.
  Result<StaffMember> update(storage::WriteTxn& txn, const StaffMember& member,
                             const std::optional<std::string>& password_hash, std::int64_t now_ms);
  // Counts a failed login; returns the time until which the account is locked (0 if not).
  Result<std::int64_t> record_failure(storage::WriteTxn& txn, const std::string& staff_id,
                                      std::int64_t now_ms);
  Result<void> clear_failures(storage::WriteTxn& txn, const std::string& staff_id);
  // Appends one line to the node's audit log (denials, logins, staff changes).
  Result<void> audit(storage::WriteTxn& txn, std::int64_t now_ms, const nlohmann::json& entry);

  // --- reads: any thread ---
  std::optional<StaffMember> find(std::string_view staff_id);
  struct Account {
    StaffMember member;
    std::string password_hash;
  };
  // The member and their password hash, read together (sign-in).
  std::optional<Account> account(std::string_view staff_id);
  // Every member, in id order.
  Result<std::vector<StaffMember>> list();
  // The member a live session token belongs to.
  std::optional<StaffMember> session(std::string_view token, std::int64_t now_ms);
  // The beneficiary account id a live session token belongs to.
  std::optional<std::string> beneficiary_session(std::string_view token, std::int64_t now_ms);
  // When the account's lock ends, if it is locked at `now_ms`.
  std::optional<std::int64_t> locked_until(std::string_view staff_id, std::int64_t now_ms);
  Result<std::vector<nlohmann::json>> audit_log(std::size_t max_entries);
  // The latest `max_entries` entries, oldest of them first.
  Result<std::vector<nlohmann::json>> audit_tail(std::size_t max_entries);

 private:
  Result<void> put_session(storage::WriteTxn& txn, std::string_view token, nlohmann::json session,
                           std::int64_t now_ms);
  // The id stored under `kind` ("staff_id", "beneficiary_id") in a live session.
  std::optional<std::string> session_principal(std::string_view token, std::string_view kind,
                                               std::int64_t now_ms);
  StaffDirectory(storage::Env& env, storage::Dbi staff, storage::Dbi sessions,
                 storage::Dbi failures, storage::Dbi audit)
      : env_(&env), staff_(staff), sessions_(sessions), failures_(failures), audit_(audit) {}
  storage::Env* env_;
  storage::Dbi staff_;
  storage::Dbi sessions_;
  storage::Dbi failures_;
  storage::Dbi audit_;
};

}  // namespace tawasul::node
