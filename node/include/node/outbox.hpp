// The notifications outbox: what the beneficiary should hear about a case
// (received, waiting for you, answered, …), queued durably in the same
// transaction as the event that caused it, and delivered later by the
// Notifier (notifier.hpp).
//
// Enqueueing happens only inside the fold hook (NodeStore::apply), and only
// for events of the node's own stream at a sector node: a hub folds the same
// events when they are replicated and must notify no one. So a message exists
// exactly when its event is committed (DESIGN.md invariant 1), and an aborted
// transaction leaves neither.
//
// Which events notify, and the texts (Arabic first, English too), are one
// table in outbox.cpp; storage/FORMAT.md documents the databases and
// node/API.md the delivery command's contract.
//
// Personal data: an entry records the channel (sms or email) chosen from the
// case's contact data and contact preference, never the address itself. The
// Notifier opens the sealed phone or e-mail from the case at delivery time,
// in memory only (DESIGN.md invariant 7).
//
// Thread rules: writes inside a write transaction given by the caller (the
// fold, or the single writer); reads open their own read transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/envelope.hpp"
#include "node/error.hpp"
#include "storage/env.hpp"

namespace tawasul::node {

// When a failed delivery is tried again: 30 s after the first failure,
// doubling each time, never more than an hour apart; after `max_attempts`
// failed deliveries the message is marked failed and kept for the operator.
struct RetryPolicy {
  std::int64_t first_delay_ms = 30'000;
  std::int64_t max_delay_ms = 3'600'000;
  int max_attempts = 12;
};

// The delay before the next try after `failed_attempts` (>= 1) failures,
// without jitter: 30 s, 60 s, 120 s, … capped at max_delay_ms.
std::int64_t retry_delay_ms(const RetryPolicy& policy, int failed_attempts);

// The message kind an event gives the beneficiary, or nullopt when the event
// is not one they hear about (notes are internal; assignment and start are
// staff routine; info_provided is the beneficiary's own doing).
std::optional<std::string_view> notification_kind(std::string_view event_kind);

// The channel for a case's beneficiary: with "written_only" or "no_calls" an
// e-mail when there is one, else SMS; with "any" an SMS when there is a
// phone, else e-mail. nullopt when the case has neither.
std::optional<std::string_view> choose_channel(std::string_view contact_preference, bool has_phone,
                                               bool has_email);

// "+966501234567" -> "+9665*****567"; "m.alotaibi@example.sa" ->
// "m********i@example.sa". For logs and operators: never the whole address.
std::string mask_address(std::string_view address);

struct OutboxCounts {
  std::uint64_t pending = 0;
  std::uint64_t failed = 0;
};

class Outbox {
 public:
  // Opens (creates) `outbox`, `outbox_failed` and uses `meta` for the id
  // counter. Call during set-up.
  static Result<Outbox> open(storage::Env& env);

  // --- writes: inside a write transaction ---

  // The fold's hook: queues the message `event` (already folded into
  // `state`, the case's new view) gives the beneficiary, if any — a closure
  // gives two: the closing message and the survey invitation (kind
  // "survey"). A pre-breach warning is the one event that notifies staff
  // instead: one message per staff id it names (channel "staff"). Returns
  // the last new message's id, or 0 when the event notifies no one.
  Result<std::uint64_t> on_event(storage::WriteTxn& txn, const crypto::Event& event,
                                 const nlohmann::json& payload, const nlohmann::json& state);

  // Delivered: the message leaves the outbox. false when it was not there.
  Result<bool> record_delivered(storage::WriteTxn& txn, std::uint64_t id);
  // A failed try at `now_ms`: counts it and schedules the next try `delay_ms`
  // later (the caller's back-off, jitter included), or, after the policy's
  // last attempt — or at once when `permanent` — moves the message to
  // `outbox_failed`. `error` must hold no personal data. Returns the entry
  // as stored; not_found when it is gone.
  Result<nlohmann::json> record_failure(storage::WriteTxn& txn, std::uint64_t id,
                                        std::int64_t now_ms, const std::string& error,
                                        std::int64_t delay_ms, const RetryPolicy& policy,
                                        bool permanent = false);
  // Operator: puts failed messages back in the outbox, due at `now_ms` with
  // their attempts reset. `id` 0: all of them. Returns how many.
  Result<std::uint64_t> retry_failed(storage::WriteTxn& txn, std::uint64_t id, std::int64_t now_ms);

  // --- reads: any thread ---

  // Pending messages due at `now_ms` (next_attempt_ms <= now_ms), oldest
  // first, at most `max`; and when the next one not yet due will be.
  struct Due {
    std::vector<nlohmann::json> messages;
    std::optional<std::int64_t> next_due_ms;
  };
  Result<Due> due(std::int64_t now_ms, std::size_t max) const;
  Result<OutboxCounts> counts() const;
  // Every pending (or failed) entry, oldest first, at most `max`.
  Result<std::vector<nlohmann::json>> list(bool failed, std::size_t max) const;
  // One entry, pending or failed.
  std::optional<nlohmann::json> find(std::uint64_t id) const;

 private:
  // Gives `entry` the next id and queues it; returns the id.
  Result<std::uint64_t> append(storage::WriteTxn& txn, nlohmann::json entry);
  // The staff messages of a pre-breach warning (`case.sla_warned`): one per
  // staff id it names, channel "staff".
  Result<std::uint64_t> on_warning(storage::WriteTxn& txn, const crypto::Event& event,
                                   const nlohmann::json& payload, const nlohmann::json& state);

  Outbox(storage::Env& env, storage::Dbi pending, storage::Dbi failed, storage::Dbi meta)
      : env_(&env), pending_(pending), failed_(failed), meta_(meta) {}
  storage::Env* env_;
  storage::Dbi pending_;
  storage::Dbi failed_;
  storage::Dbi meta_;
};

}  // namespace tawasul::node
