// The node's store: one LMDB environment holding the event log and the views
// folded from it (storage/FORMAT.md has the layout).
//
// Every write goes through a write transaction given by the caller — in the
// daemon, the single writer thread (writer.hpp). Appending an event folds it
// into the views in that same transaction, through the event log's hook
// (DESIGN.md invariant 1). Reads open their own short read transactions and
// may run on any thread.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "federation/interfaces.hpp"
#include "node/attachments.hpp"
#include "node/beneficiaries.hpp"
#include "node/calendar.hpp"
#include "node/cases.hpp"
#include "node/error.hpp"
#include "node/identity.hpp"
#include "node/org_tree.hpp"
#include "node/outbox.hpp"
#include "node/staff.hpp"
#include "node/workflow.hpp"
#include "storage/env.hpp"
#include "storage/event_log.hpp"

namespace tawasul::node {

// A storage error as a node error; MDB_MAP_FULL keeps code "map_full" so the
// writer can grow the map and run the batch again.
// A full disk (ENOSPC, EDQUOT, EFBIG) is 507 insufficient_storage.
Error from_storage(const storage::Error& e);
// A node error inside a storage callback: "map_full" stays kMapFull (the
// map grows and the work runs again), anything else is kInvalid.
storage::Error to_storage(const Error& e);

struct StoreStats {
  std::uint64_t cases = 0;
  std::map<std::string, std::uint64_t> streams;  // origin -> head
  std::uint64_t hub_acked = 0;                   // node role: the hub's last ACK
};

// One attachment as it is downloaded: its metadata (public_attachment's
// shape) and its bytes.
struct AttachmentFile {
  nlohmann::json meta;
  std::string bytes;
};

struct VerifyReport {
  std::map<std::string, std::uint64_t> streams;  // origin -> events verified
  std::uint64_t cases = 0;
};

class NodeStore final : public federation::KeyDirectory {
 public:
  static Result<std::unique_ptr<NodeStore>> open(const std::filesystem::path& dir,
                                                 const Identity& identity);

  storage::Env& env() { return *env_; }
  // The node's staff accounts, sessions and audit log, in the same environment.
  StaffDirectory& staff() { return *staff_; }
  // The node's beneficiary accounts, in the same environment.
  BeneficiaryDirectory& beneficiaries() { return *beneficiaries_; }
  // The notifications outbox, filled by the fold for this node's own events
  // (sector nodes only), in the same environment.
  Outbox& outbox() { return *outbox_; }
  const Identity& identity() const { return identity_; }

  // The working-day calendar that due times are computed with (calendar.hpp):
  // the national defaults until the daemon sets the node's layered one. Due
  // times are computed when a case is filed or acted on and carried in the
  // event, so a later calendar never rewrites an old promise (node/SLA.md).
  void set_calendar(std::shared_ptr<const WorkingCalendar> calendar);
  std::shared_ptr<const WorkingCalendar> calendar() const;

  // --- the national calendar layer (federation/PROTOCOL.md, "The national
  // calendar"; storage/FORMAT.md, meta `national_calendar`) ---------------

  // The signed national layer this store holds, if any.
  Result<std::optional<federation::SignedCalendar>> national_calendar_held();
  // Hub role, in `txn`: makes `text` (source `source`, for messages) the
  // national layer to distribute. Refuses a text over 64 KiB or one that does
  // not load (code "bad_calendar", naming the source and line). Keeps the held
  // version when the text is the same and its signature is this identity's;
  // otherwise stores version + 1 (1 for the first), signed with this
  // identity's signing key. Returns what is held after it.
  Result<federation::SignedCalendar> publish_national_calendar(storage::WriteTxn& txn,
                                                               std::string_view text,
                                                               std::string_view source);
  // Node role, in `txn`: accepts a national layer received from the hub when
  // (in this order) it is at most 64 KiB, its signature verifies under
  // `hub_key` (code "bad_signature"), its version is above the held one
  // (code "stale") and it loads under `own_layers` — the node's own layer, 0
  // or 1 of them (code "bad_calendar"). Then stores it and returns the
  // calendar to use once `txn` has committed. A refusal writes nothing.
  Result<std::shared_ptr<const WorkingCalendar>> accept_national_calendar(
      storage::WriteTxn& txn, const federation::SignedCalendar& calendar,
      const crypto::SignPublicKey& hub_key, const std::vector<WorkingCalendar::Layer>& own_layers);

  // Runs `fn` in one write transaction of its own and commits; a domain error
  // from `fn` aborts it and comes back as it was. For one-off writes outside
  // the daemon's writer (the command line, the demo's set-up).
  Result<void> write(const std::function<Result<void>(storage::WriteTxn&)>& fn);

  // --- writes: call inside a write transaction ---------------------------

  // Files a case at this node: allocates the tracking number, generates the
  // access code, seals personal data, appends `case.filed`. Returns the
  // receipt {tracking_number, access_code, status, submitted_at, due_at}.
  Result<nlohmann::json> file_case(storage::WriteTxn& txn, const FilingRequest& request,
                                   std::int64_t now_ms);

  // Moves a case of this node through its lifecycle (workflow.hpp): checks
  // the case exists here and is owned here, that its state allows `action`,
  // and appends the action's event with `fields` (the texts the action needs,
  // e.g. {"question": …}) and `by` (who acted). Returns the case's new public
  // view. A refused action is a 409 naming the state and what it allows.
  // `authorize`, when given, sees the case's current state inside the same
  // transaction and may refuse (e.g. 403): permission and change are atomic.
  using Authorize = std::function<Result<void>(const nlohmann::json& state)>;
  Result<nlohmann::json> act_on_case(storage::WriteTxn& txn, std::string_view tracking_number,
                                     CaseAction action, const std::string& by,
                                     const nlohmann::json& fields, std::int64_t now_ms,
                                     const Authorize& authorize = {});

  // Attaches a file to a case of this node (attachments.hpp): checks the
  // case exists and is owned here, `authorize` (as for act_on_case), that
  // it is not closed and holds fewer than 10 files, not this one; that the
  // file is 1 byte to 5 MiB of PDF, JPEG or PNG by its magic bytes, and the
  // name (400 naming "name"). Then puts the bytes in `blobs` under their
  // BLAKE2b-256 (once, whoever uploads them again) and appends
  // `case.attachment_added`, in `txn`: the file and the event commit together.
  // Returns the attachment's public metadata.
  Result<nlohmann::json> add_attachment(storage::WriteTxn& txn, std::string_view tracking_number,
                                        const std::string& by, std::string_view name,
                                        std::string_view bytes, std::int64_t now_ms,
                                        const Authorize& authorize = {});

  // Escalation (node/SLA.md). The next rung of the ladder above the case's
  // current level, from this node's org tree, as the payload of the event
  // that climbs to it: `case.escalated` {level, unit, assignee, level_name,
  // due_at_ms, …} or, above the sector head, `case.handed_to_hub`. `kind`
  // receives which. Errors: 409 when the case cannot be escalated.
  Result<nlohmann::json> next_level(const storage::Txn& txn, const nlohmann::json& state,
                                    std::int64_t now_ms, std::string& kind);

  // The sweeper's command: if `tracking_number` still has the due key
  // (due_ms, tracking) — i.e. this very deadline is still current, open and
  // not paused; or its warning key when the deadline has passed too —
  // appends its escalation (reason "sla_breach", breached_due_ms = the
  // case's deadline) in `txn`, which also moves the key. Returns
  // {"outcome": "escalated" | "handed_to_hub" | "stale", …}. `before_commit`,
  // when given, runs after the event is appended and may fail the command
  // (tests inject a crash there).
  Result<nlohmann::json> escalate_breach(
      storage::WriteTxn& txn, std::string_view tracking_number, std::int64_t due_ms,
      std::int64_t now_ms, const std::function<Result<void>(std::string_view)>& before_commit = {});

  // The sweeper's command for a pre-breach warning: if the due key (warn_ms,
  // tracking) is still the case's warning, appends `case.sla_warned`
  // {level, due_at_ms, notify: the assignee and the head of the case's unit}
  // (node/SLA.md), which moves the key to the deadline itself. When the
  // deadline too has passed by `now_ms` (a sweeper that was down), escalates
  // at once instead (escalate_breach). Returns {"outcome": "warned" |
  // "escalated" | "handed_to_hub" | "stale", …}; `before_commit` as above.
  Result<nlohmann::json> warn_near_due(
      storage::WriteTxn& txn, std::string_view tracking_number, std::int64_t warn_ms,
      std::int64_t now_ms, const std::function<Result<void>(std::string_view)>& before_commit = {});

  // The sweeper's command for an objection window that has ended: if the
  // due key (due_ms, tracking) is still the case's — answered, the very
  // window still current — closes the case (`case.closed` {by: "system",
  // reason: "objection_window_ended"}), which queues the survey invitation.
  // Returns {"outcome": "closed" | "stale", …}; `before_commit` as above.
  Result<nlohmann::json> close_unobjected(
      storage::WriteTxn& txn, std::string_view tracking_number, std::int64_t due_ms,
      std::int64_t now_ms, const std::function<Result<void>(std::string_view)>& before_commit = {});

  // Replaces the node's organisation tree (writes are audited). Units that
  // open cases still point at must remain: refuses otherwise.
  // Links a case of this node to a beneficiary account, the access code
  // proving the beneficiary's claim (`case.linked`). A wrong code is the
  // look-up's 404; a case linked to another account is 409 `already_linked`;
  // linking it again to the same account changes nothing. Returns the public view.
  Result<nlohmann::json> link_case(storage::WriteTxn& txn, std::string_view tracking_number,
                                   std::string_view access_code, std::string_view account_id,
                                   std::int64_t now_ms);

  Result<void> set_org_tree(storage::WriteTxn& txn, const OrgTree& tree, std::int64_t now_ms);
  // The current tree, or null before one is loaded. Cheap: re-parsed only
  // when another write (in any process) has replaced it.
  std::shared_ptr<const OrgTree> org_tree();
  // The tree as `txn` sees it: a command reads the tree inside its own
  // transaction (a second read transaction beside a write one would hold the
  // same lock, and see the committed tree rather than the command's).
  std::shared_ptr<const OrgTree> org_tree(const storage::Txn& txn);

  // This node's cases whose beneficiary has this phone, email or national_id
  // (`field`), found through the blind index; 400 naming the field when the
  // value is not one.
  Result<std::vector<std::string>> find_by_contact(std::string_view field, std::string_view value);

  // Tracking numbers of the cases linked to a beneficiary account (filed
  // while signed in, or claimed), through the account's blind index.
  Result<std::vector<std::string>> cases_of_account(std::string_view account_id);
  // The public view of a case linked to `account_id`; not_found otherwise,
  // exactly like a wrong access code.
  Result<nlohmann::json> account_case_view(std::string_view tracking_number,
                                           std::string_view account_id);

  // Visits every case's state (as stored) in tracking-number order while
  // `fn` returns true. A scan: fine for a node's queue today; a later issue
  // adds the status/unit/due-time views of DESIGN.md for large nodes.
  Result<void> scan_cases(const std::function<bool(const nlohmann::json& state)>& fn);

  // Entries of the due index (storage/FORMAT.md `due`) with due_at_ms <=
  // `until_ms`, earliest first, at most `max`.
  struct DueEntry {
    std::int64_t due_ms;
    std::string tracking_number;
    std::string kind;  // kDueAnswer, kDueObjectionWindow
  };
  Result<std::vector<DueEntry>> due(std::int64_t until_ms, std::size_t max);
  // The earliest due time in the index, if any.
  Result<std::optional<std::int64_t>> next_due();

  // The case as staff see it: everything but the access hash and sealed data.
  // not_found when absent.
  Result<nlohmann::json> staff_case_view(std::string_view tracking_number);

  // Signs and appends an event of this node's own chain. Returns its seq.
  Result<std::uint64_t> append_local(storage::WriteTxn& txn, std::string_view kind,
                                     const nlohmann::json& payload, std::int64_t now_ms);

  // Hub role: appends a batch of verified events from `origin` after the
  // chain rules (federation/chain.hpp). Returns the origin's new head, or an
  // error with code "gap" or "fork".
  Result<std::uint64_t> store_remote(storage::WriteTxn& txn, std::string_view origin,
                                     std::span<const std::string> batch);

  Result<void> set_hub_acked(storage::WriteTxn& txn, std::uint64_t cursor);

  // Hub role: binds a node's keys to its code. Refuses a code or CURVE key
  // already enrolled with other keys unless `replace`.
  Result<void> enroll(const federation::EnrolledNode& node, bool replace, std::int64_t now_ms);

  // --- reads: any thread --------------------------------------------------

  // The public view of a case if `access_code` opens it; not_found otherwise
  // (no hint whether the case exists).
  Result<nlohmann::json> lookup_case(std::string_view tracking_number,
                                     std::string_view access_code);
  // An attachment's metadata and bytes: not_found unless the case lists
  // `id` (64 hex digits); at a node that holds the case's events but not the
  // file's bytes (the hub, today), 404 "not_held_here" naming the owner.
  // Permission is the caller's to check first.
  Result<AttachmentFile> read_attachment(std::string_view tracking_number, std::string_view id);
  Result<std::uint64_t> head(std::string_view origin);
  // Committed envelopes of `origin` from `from_seq` on (see EventSource::read).
  Result<std::vector<std::string>> read_events(std::string_view origin, std::uint64_t from_seq,
                                               std::size_t max_events, std::size_t max_bytes);
  Result<StoreStats> stats();
  Result<std::vector<std::string>> tracking_numbers();

  // Walks every chain: decodes, checks origin, sequence, prev_hash and the
  // signature of every event, and that the case count matches the events.
  // Fails on the first fault, naming it.
  Result<VerifyReport> verify();

  // federation::KeyDirectory
  std::optional<federation::EnrolledNode> by_curve_key(
      const crypto::CurvePublicKey& key) const override;
  std::optional<federation::EnrolledNode> by_code(std::string_view code) const override;

 private:
  NodeStore(Identity identity, std::unique_ptr<storage::Env> env, storage::EventLog log)
      : identity_(std::move(identity)), env_(std::move(env)), log_(std::move(log)) {}
  Result<void> apply(storage::WriteTxn& txn, std::string_view stream, std::uint64_t seq,
                     std::string_view bytes);
  // The case's state for a change at this node: not_found when absent, 409
  // not_owner when another node owns it, then `authorize`'s verdict.
  Result<nlohmann::json> owned_case(storage::WriteTxn& txn, std::string_view tracking_number,
                                    const Authorize& authorize);
  Result<crypto::Hash256> head_hash(const storage::Txn& txn, std::string_view origin,
                                    std::uint64_t head) const;
  std::optional<federation::EnrolledNode> enrolled(const storage::Txn& txn,
                                                   std::string_view code) const;
  Result<std::vector<std::string>> cases_by_index(std::string_view index_hex);
  Result<void> put_index(storage::WriteTxn& txn, const nlohmann::json& index_hex,
                         std::string_view tracking_number);

  Identity identity_;
  // Why the fold hook last refused an event, so append_local can return the
  // domain error rather than storage's. Touched only by the thread holding
  // the write transaction.
  std::optional<Error> fold_error_;
  std::unique_ptr<storage::Env> env_;
  storage::EventLog log_;
  storage::Dbi meta_{};
  storage::Dbi cases_{};
  storage::Dbi enrolled_{};
  storage::Dbi enrolled_by_curve_{};
  // blind index (32 bytes) ‖ tracking number → "": contact data and accounts
  storage::Dbi by_contact_{};
  storage::Dbi blobs_{};  // BLAKE2b-256 of a file (32 bytes) → its bytes
  // u64 BE due_at_ms ‖ tracking number → kind ("answer"): open cases' deadlines
  storage::Dbi due_{};
  // True when the unit that holds the case (its level's unit, or its own
  // unit at level 0) is marked `final` in this node's tree: its answers
  // have no objection window and close the case.
  bool answers_finally(const storage::Txn& txn, const nlohmann::json& state);
  // Inside a sweeper command: the case of this node whose due key is still
  // (key_ms, tracking) of `kind` — the very thing the sweeper found — or
  // nullopt when it has moved (the command is then stale).
  std::optional<nlohmann::json> case_due_at(storage::WriteTxn& txn,
                                            std::string_view tracking_number, std::int64_t key_ms,
                                            std::string_view kind);
  // When to warn of a deadline `due_ms` set at `start_ms`: after
  // `warn_percent` % of the working time between them.
  std::int64_t warn_at(int warn_percent, std::int64_t start_ms, std::int64_t due_ms) const;
  // The case's `sla.warn_percent`, or the default.
  static int warn_percent_of(const nlohmann::json& state);
  Result<void> update_due(storage::WriteTxn& txn, const nlohmann::json& before,
                          const nlohmann::json& after);
  std::optional<StaffDirectory> staff_;
  std::optional<BeneficiaryDirectory> beneficiaries_;
  std::optional<Outbox> outbox_;
  mutable std::mutex calendar_mutex_;
  std::shared_ptr<const WorkingCalendar> calendar_;
  std::mutex org_mutex_;
  std::uint64_t org_version_ = 0;
  std::shared_ptr<const OrgTree> org_;
};

}  // namespace tawasul::node
