#include "node/node_store.hpp"

#include <algorithm>

#include "crypto/envelope.hpp"
#include "federation/chain.hpp"
#include "federation/wire.hpp"
#include "node/time_util.hpp"
#include "node/tracking.hpp"

namespace tawasul::node {

using nlohmann::json;

Error from_storage(const storage::Error& e) {
  if (e.code == storage::ErrorCode::kMapFull) return Error{503, "map_full", e.message, {}};
  if (e.code == storage::ErrorCode::kNoSpace) {
    return Error{507,
                 "insufficient_storage",
                 "the node's disk is full: nothing was stored; try again later (" + e.message + ")",
                 {}};
  }
  return Error{503, "storage", "storage: " + e.message, {}};
}

storage::Error to_storage(const Error& e) {
  const auto code =
      e.code == "map_full" ? storage::ErrorCode::kMapFull : storage::ErrorCode::kInvalid;
  return storage::Error{code, e.message};
}

namespace {

constexpr std::string_view kCasesCountKey = "cases_count";
constexpr std::string_view kHubAckedKey = "hub_acked";

std::string case_seq_key(int year) {
  return "case_seq/" + std::to_string(year);
}

Result<std::uint64_t> read_counter(const storage::Txn& txn, storage::Dbi dbi,
                                   std::string_view key) {
  auto v = txn.get(dbi, key);
  if (!v) {
    if (v.error().code == storage::ErrorCode::kNotFound) return 0;
    return std::unexpected(from_storage(v.error()));
  }
  if (v->size() != 8)
    return std::unexpected(Error::internal("counter " + std::string(key) + " is not 8 bytes"));
  return storage::decode_u64(*v);
}

Result<void> write_counter(storage::WriteTxn& txn, storage::Dbi dbi, std::string_view key,
                           std::uint64_t value) {
  auto r = txn.put(dbi, key, storage::encode_u64(value));
  if (!r) return std::unexpected(from_storage(r.error()));
  return {};
}

std::optional<federation::EnrolledNode> parse_enrolled(std::string_view value) {
  json j = json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  federation::EnrolledNode node;
  try {
    node.code = j.at("code").get<std::string>();
    auto curve = federation::z85_decode(j.at("curve_public").get<std::string>());
    auto sign = crypto::array_from_hex<32>(j.at("sign_public").get<std::string>());
    if (!curve || !sign) return std::nullopt;
    node.curve_public = *curve;
    node.sign_public = *sign;
    // The keys the node signed with before rotations (FORMAT.md, `enrolled`).
    auto retired = parse_retired_keys(j.contains("previous") ? j["previous"] : json());
    if (!retired) return std::nullopt;
    node.retired = std::move(*retired);
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return node;
}

std::string_view key_view(const crypto::CurvePublicKey& key) {
  return {reinterpret_cast<const char*>(key.data()), key.size()};
}

}  // namespace

Result<std::unique_ptr<NodeStore>> NodeStore::open(const std::filesystem::path& dir,
                                                   const Identity& identity) {
  auto env = storage::Env::open(dir / "store", storage::EnvOptions{});
  if (!env) return std::unexpected(from_storage(env.error()));
  auto log = storage::EventLog::open(**env);
  if (!log) return std::unexpected(from_storage(log.error()));
  std::unique_ptr<NodeStore> store(new NodeStore(identity, std::move(*env), std::move(*log)));
  for (auto [name, slot] : {std::pair{"meta", &store->meta_}, std::pair{"cases", &store->cases_},
                            std::pair{"enrolled", &store->enrolled_},
                            std::pair{"enrolled_by_curve", &store->enrolled_by_curve_},
                            std::pair{"by_contact", &store->by_contact_},
                            std::pair{"blobs", &store->blobs_}, std::pair{"due", &store->due_}}) {
    auto dbi = store->env_->dbi(name);
    if (!dbi) return std::unexpected(from_storage(dbi.error()));
    *slot = *dbi;
  }
  auto staff = StaffDirectory::open(*store->env_);
  if (!staff) return std::unexpected(staff.error());
  store->staff_.emplace(std::move(*staff));
  auto beneficiaries = BeneficiaryDirectory::open(*store->env_, store->identity_.seal_key);
  if (!beneficiaries) return std::unexpected(beneficiaries.error());
  store->beneficiaries_.emplace(std::move(*beneficiaries));
  auto outbox = Outbox::open(*store->env_);
  if (!outbox) return std::unexpected(outbox.error());
  store->outbox_.emplace(std::move(*outbox));
  NodeStore* self = store.get();
  store->log_.set_apply_hook([self](storage::WriteTxn& txn, std::string_view stream,
                                    std::uint64_t seq,
                                    std::string_view bytes) -> storage::Result<void> {
    auto applied = self->apply(txn, stream, seq, bytes);
    if (!applied) {
      self->fold_error_ = applied.error();
      return std::unexpected(to_storage(applied.error()));
    }
    return {};
  });
  return store;
}

// The fold hook: runs inside the append's transaction for local and
// replicated events alike, so the hub's consolidated view is built by the very
// code that builds each node's own.
Result<void> NodeStore::apply(storage::WriteTxn& txn, std::string_view stream, std::uint64_t seq,
                              std::string_view bytes) {
  auto event = crypto::decode_envelope(bytes);
  if (!event)
    return std::unexpected(Error::internal("event " + std::string(stream) + "#" +
                                           std::to_string(seq) +
                                           " does not decode: " + event.error().message));
  // A kind this build does not know is refused, not skipped: a view folded
  // without it would disagree with the log (storage/FORMAT.md, "Event kinds").
  if (!event->kind.starts_with("case.")) {
    return std::unexpected(
        Error::bad_request("unknown_event", "no fold for event kind " + event->kind));
  }
  json payload = json::parse(event->payload, nullptr, false);
  if (payload.is_discarded() || !payload.is_object() || !payload.contains("tracking_number") ||
      !payload["tracking_number"].is_string()) {
    return std::unexpected(
        Error::bad_request("malformed_event", "event payload is not a case event"));
  }
  const std::string tracking = payload["tracking_number"];
  if (!parse_tracking_number(tracking)) {
    return std::unexpected(
        Error::bad_request("malformed_event", "event carries an invalid tracking number"));
  }
  json state;  // null: not seen yet
  if (auto existing = txn.find(cases_, tracking)) state = json::parse(*existing);
  auto next = fold_case_event(state, *event, payload);
  if (!next) return std::unexpected(next.error());
  if (auto r = txn.put(cases_, tracking, next->dump()); !r)
    return std::unexpected(from_storage(r.error()));
  // The due index follows the view, in this transaction (node/SLA.md).
  if (auto r = update_due(txn, state, *next); !r) return r;
  // What the beneficiary should hear, queued with the event; a hub folding
  // replicated events notifies no one.
  if (identity_.role == Role::kNode && stream == identity_.code) {
    if (auto queued = outbox_->on_event(txn, *event, payload, *next); !queued)
      return std::unexpected(queued.error());
  }
  if (event->kind == kCaseFiled) {
    // The blind indexes of the beneficiary's contact data (invariant 7).
    // and of the beneficiary account it was filed under.
    for (const char* field : {"phone_index", "email_index", "national_id_index", "account_index"}) {
      const json& b = payload["beneficiary"];
      if (!b.contains(field)) continue;
      if (auto r = put_index(txn, b[field], tracking); !r) return r;
    }
    auto count = read_counter(txn, meta_, kCasesCountKey);
    if (!count) return std::unexpected(count.error());
    return write_counter(txn, meta_, kCasesCountKey, *count + 1);
  }
  if (event->kind == kCaseLinked) return put_index(txn, payload["account_index"], tracking);
  return {};
}

namespace {

// The due key of a case view and what falls due then (storage/FORMAT.md
// `due`): an open case's warning ("warning") until it is given, then its
// running deadline ("answer"); an answered case's
// objection window ("objection_window"), after which it closes. Nothing
// while the clock is paused, after the hand-off to the hub, when closed, or
// for an answer that is final (no window).
struct DueKey {
  std::string key;
  std::string_view kind;
  bool operator==(const DueKey&) const = default;
};

std::string due_key_bytes(std::int64_t due_ms, std::string_view tracking) {
  return storage::encode_u64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, due_ms))) +
         std::string(tracking);
}

std::optional<DueKey> due_key(const json& state) {
  if (state.is_null() || state.contains("sla_paused") || state.contains("handed_to_hub"))
    return std::nullopt;
  const std::string status = state.value("status", "");
  const std::string& tracking = state["tracking_number"].get_ref<const std::string&>();
  if (status == "closed") return std::nullopt;
  if (status == "answered") {
    if (!state.contains("objection_deadline_ms") ||
        !state["objection_deadline_ms"].is_number_integer()) {
      return std::nullopt;
    }
    return DueKey{due_key_bytes(state["objection_deadline_ms"].get<std::int64_t>(), tracking),
                  kDueObjectionWindow};
  }
  if (!state.contains("due_at_ms") || !state["due_at_ms"].is_number_integer()) return std::nullopt;
  const auto due = state["due_at_ms"].get<std::int64_t>();
  // Before the deadline, its warning — once per deadline.
  if (state.contains("warn_at_ms") && state["warn_at_ms"].is_number_integer() &&
      !state.contains("sla_warned") && state["warn_at_ms"].get<std::int64_t>() < due) {
    return DueKey{due_key_bytes(state["warn_at_ms"].get<std::int64_t>(), tracking), kDueWarning};
  }
  return DueKey{due_key_bytes(due, tracking), kDueAnswer};
}

}  // namespace

Result<void> NodeStore::update_due(storage::WriteTxn& txn, const json& before, const json& after) {
  auto old_key = due_key(before);
  auto new_key = due_key(after);
  if (old_key == new_key) return {};
  if (old_key) {
    if (auto r = txn.del(due_, old_key->key); !r) return std::unexpected(from_storage(r.error()));
  }
  if (new_key) {
    if (auto r = txn.put(due_, new_key->key, new_key->kind); !r)
      return std::unexpected(from_storage(r.error()));
  }
  return {};
}

Result<std::vector<NodeStore::DueEntry>> NodeStore::due(std::int64_t until_ms, std::size_t max) {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  std::vector<DueEntry> out;
  auto r = txn->scan(due_, "", [&](std::string_view key, std::string_view value) {
    if (out.size() >= max || key.size() < 8) return false;
    const auto due = static_cast<std::int64_t>(storage::decode_u64(key.substr(0, 8)));
    if (due > until_ms) return false;
    out.push_back(DueEntry{due, std::string(key.substr(8)), std::string(value)});
    return true;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return out;
}

Result<std::optional<std::int64_t>> NodeStore::next_due() {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  std::optional<std::int64_t> out;
  auto r = txn->scan(due_, "", [&](std::string_view key, std::string_view) {
    if (key.size() >= 8) out = static_cast<std::int64_t>(storage::decode_u64(key.substr(0, 8)));
    return false;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return out;
}

Result<json> NodeStore::next_level(const storage::Txn& txn, const json& state, std::int64_t now_ms,
                                   std::string& kind) {
  const std::string tracking = state["tracking_number"];
  auto tree = org_tree(txn);
  if (!tree) {
    return std::unexpected(Error::conflict(
        "no_org_tree", "case " + tracking + " cannot climb a ladder: the node has no org tree"));
  }
  const int level = state.value("level", 0);
  // Level 0 is the competent unit, whose head is level 1; at level k >= 1
  // the case sits with the head of `level_unit`, and the ladder goes on above it.
  std::string from = tree->root();
  if (level >= 1 && state.contains("level_unit") && state["level_unit"].is_string()) {
    from = state["level_unit"];
  } else if (state.contains("unit") && state["unit"].is_string()) {
    from = state["unit"];
  }
  auto ladder = tree->ladder(from);
  if (ladder.empty()) ladder = tree->ladder(tree->root());  // the unit left the tree
  const std::size_t skip = level >= 1 ? 1 : 0;              // the current head's own unit
  const int base = level >= 1 ? level - 1 : 0;
  for (std::size_t i = skip; i < ladder.size(); ++i) {
    if (!tree->has_head(ladder[i])) continue;  // vacant: skipped
    const OrgUnit* unit = tree->unit(ladder[i]);
    const int days = state.contains("sla")
                         ? state["sla"].value("level_working_days", kLevelWorkingDays)
                         : kLevelWorkingDays;
    kind = event_kind(CaseAction::kEscalate);
    const std::int64_t due = calendar()->add_working_days(now_ms, days);
    return json{{"tracking_number", tracking},
                {"level", base + static_cast<int>(i) + 1},
                {"unit", unit->id},
                {"assignee", unit->head.empty() ? json() : json(unit->head)},
                {"level_name", json{{"ar", unit->name_ar}, {"en", unit->name_en}}},
                {"due_at_ms", due},
                {"warn_at_ms", warn_at(warn_percent_of(state), now_ms, due)}};
  }
  kind = kCaseHandedToHub;
  return json{{"tracking_number", tracking}, {"level", base + static_cast<int>(ladder.size()) + 1}};
}

bool NodeStore::answers_finally(const storage::Txn& txn, const json& state) {
  auto tree = org_tree(txn);
  if (!tree) return false;
  const int level = state.value("level", 0);
  const json& where = level >= 1 && state.contains("level_unit") && state["level_unit"].is_string()
                          ? state["level_unit"]
                      : state.contains("unit") ? state["unit"]
                                               : json();
  if (!where.is_string()) return false;
  const OrgUnit* unit = tree->unit(where.get<std::string>());
  return unit != nullptr && unit->final_answer;
}

Result<json> NodeStore::escalate_breach(
    storage::WriteTxn& txn, std::string_view tracking_number, std::int64_t due_ms,
    std::int64_t now_ms, const std::function<Result<void>(std::string_view)>& before_commit) {
  const json stale{{"outcome", "stale"}, {"tracking_number", tracking_number}};
  // Inside the write transaction: the key found by the read must still be
  // there, and match the case as it is now. It is the deadline itself — or
  // its warning, found only after the deadline too has passed (a sweeper
  // that was down): then it escalates at once.
  auto found = case_due_at(txn, tracking_number, due_ms, kDueAnswer);
  if (!found) {
    found = case_due_at(txn, tracking_number, due_ms, kDueWarning);
    if (!found || (*found)["due_at_ms"].get<std::int64_t>() > now_ms) return stale;
  }
  const json& state = *found;
  auto status = parse_status(state["status"].get<std::string>());
  if (!status || !next_status(*status, CaseAction::kEscalate)) return stale;
  std::string kind;
  auto payload = next_level(txn, state, now_ms, kind);
  if (!payload) return std::unexpected(payload.error());
  (*payload)["by"] = "system";
  (*payload)["reason"] = "sla_breach";
  (*payload)["breached_due_ms"] = state["due_at_ms"];
  auto appended = append_local(txn, kind, *payload, now_ms);
  if (!appended) return std::unexpected(appended.error());
  if (before_commit) {
    if (auto r = before_commit(tracking_number); !r) return std::unexpected(r.error());
  }
  json out = *payload;
  out["outcome"] = kind == kCaseHandedToHub ? "handed_to_hub" : "escalated";
  out["seq"] = *appended;
  return out;
}

std::int64_t NodeStore::warn_at(int warn_percent, std::int64_t start_ms,
                                std::int64_t due_ms) const {
  const auto cal = calendar();
  const std::int64_t window = std::max<std::int64_t>(0, cal->working_ms_between(start_ms, due_ms));
  return cal->add_working_ms(start_ms, window * warn_percent / 100);
}

int NodeStore::warn_percent_of(const json& state) {
  return state.contains("sla") && state["sla"].is_object()
             ? state["sla"].value("warn_percent", kSlaWarnPercent)
             : kSlaWarnPercent;
}

std::optional<json> NodeStore::case_due_at(storage::WriteTxn& txn, std::string_view tracking_number,
                                           std::int64_t key_ms, std::string_view kind) {
  const std::string key = due_key_bytes(key_ms, tracking_number);
  if (!txn.find(due_, key)) return std::nullopt;
  auto value = txn.find(cases_, tracking_number);
  if (!value) return std::nullopt;
  json state = json::parse(*value);
  if (state["owner"] != identity_.code || due_key(state) != DueKey{key, kind}) return std::nullopt;
  return state;
}

Result<json> NodeStore::warn_near_due(
    storage::WriteTxn& txn, std::string_view tracking_number, std::int64_t warn_ms,
    std::int64_t now_ms, const std::function<Result<void>(std::string_view)>& before_commit) {
  auto found = case_due_at(txn, tracking_number, warn_ms, kDueWarning);
  if (!found) return json{{"outcome", "stale"}, {"tracking_number", tracking_number}};
  const json& state = *found;
  // Too late to warn: the deadline itself has passed.
  if (state["due_at_ms"].get<std::int64_t>() <= now_ms)
    return escalate_breach(txn, tracking_number, warn_ms, now_ms, before_commit);
  // Who hears it: the assignee, and the head of the case's unit.
  json notify = json::array();
  if (state.contains("assignee") && state["assignee"].is_string())
    notify.push_back(state["assignee"]);
  if (auto tree = org_tree(txn); tree && state.contains("unit") && state["unit"].is_string()) {
    const OrgUnit* unit = tree->unit(state["unit"].get<std::string>());
    if (unit != nullptr && !unit->head.empty() &&
        json(unit->head) != state.value("assignee", json()))
      notify.push_back(unit->head);
  }
  const json payload{{"tracking_number", tracking_number},
                     {"by", "system"},
                     {"level", state.value("level", 0)},
                     {"due_at_ms", state["due_at_ms"]},
                     {"notify", notify}};
  auto appended = append_local(txn, kCaseSlaWarned, payload, now_ms);
  if (!appended) return std::unexpected(appended.error());
  if (before_commit) {
    if (auto r = before_commit(tracking_number); !r) return std::unexpected(r.error());
  }
  json out = payload;
  out["outcome"] = "warned";
  out["seq"] = *appended;
  return out;
}

Result<json> NodeStore::close_unobjected(
    storage::WriteTxn& txn, std::string_view tracking_number, std::int64_t due_ms,
    std::int64_t now_ms, const std::function<Result<void>(std::string_view)>& before_commit) {
  const json stale{{"outcome", "stale"}, {"tracking_number", tracking_number}};
  if (!case_due_at(txn, tracking_number, due_ms, kDueObjectionWindow)) return stale;
  // The window ends at its deadline: an objection must come before it.
  if (now_ms < due_ms) return stale;
  const json payload{
      {"tracking_number", tracking_number}, {"by", "system"}, {"reason", "objection_window_ended"}};
  auto appended = append_local(txn, event_kind(CaseAction::kClose), payload, now_ms);
  if (!appended) return std::unexpected(appended.error());
  if (before_commit) {
    if (auto r = before_commit(tracking_number); !r) return std::unexpected(r.error());
  }
  return json{{"outcome", "closed"}, {"tracking_number", tracking_number}, {"seq", *appended}};
}

Result<void> NodeStore::put_index(storage::WriteTxn& txn, const json& index_hex,
                                  std::string_view tracking_number) {
  const auto bad = Error::bad_request("malformed_event", "event has a bad blind index");
  if (!index_hex.is_string()) return std::unexpected(bad);
  auto index = crypto::array_from_hex<32>(index_hex.get<std::string>());
  if (!index) return std::unexpected(bad);
  std::string key(reinterpret_cast<const char*>(index->data()), index->size());
  key += tracking_number;
  if (auto r = txn.put(by_contact_, key, ""); !r) return std::unexpected(from_storage(r.error()));
  return {};
}

Result<crypto::Hash256> NodeStore::head_hash(const storage::Txn& txn, std::string_view origin,
                                             std::uint64_t head) const {
  if (head == 0) return crypto::Hash256{};
  auto last = log_.get(txn, origin, head);
  if (!last) return std::unexpected(from_storage(last.error()));
  return crypto::envelope_hash(*last);
}

Result<std::uint64_t> NodeStore::append_local(storage::WriteTxn& txn, std::string_view kind,
                                              const json& payload, std::int64_t now_ms) {
  fold_error_.reset();
  auto head = log_.head(txn, identity_.code);
  if (!head) return std::unexpected(from_storage(head.error()));
  auto prev = head_hash(txn, identity_.code, *head);
  if (!prev) return std::unexpected(prev.error());
  crypto::Event event;
  event.origin = identity_.code;
  event.seq = *head + 1;
  event.time_ms = static_cast<std::uint64_t>(now_ms);
  event.prev_hash = *prev;
  event.kind = kind;
  event.payload = payload.dump();
  auto bytes = crypto::seal_envelope(event, identity_.sign.secret_key);
  if (!bytes)
    return std::unexpected(Error::internal("cannot build event: " + bytes.error().message));
  auto appended = log_.append(txn, identity_.code, event.seq, *bytes);
  if (!appended) {
    if (fold_error_ && appended.error().code != storage::ErrorCode::kMapFull) {
      Error refused = *fold_error_;
      fold_error_.reset();
      return std::unexpected(refused);
    }
    return std::unexpected(from_storage(appended.error()));
  }
  return event.seq;
}

Result<json> NodeStore::file_case(storage::WriteTxn& txn, const FilingRequest& request,
                                  std::int64_t now_ms) {
  if (identity_.role != Role::kNode) {
    return std::unexpected(
        Error{405, "not_a_sector_node", "cases are filed at a sector node, not at the hub", ""});
  }
  const int year = riyadh_year(now_ms);
  auto seq = read_counter(txn, meta_, case_seq_key(year));
  if (!seq) return std::unexpected(seq.error());
  if (auto r = write_counter(txn, meta_, case_seq_key(year), *seq + 1); !r)
    return std::unexpected(r.error());
  const std::string tracking = make_tracking_number(identity_.code, year, *seq + 1);
  const AccessSecret access = request.access ? *request.access : new_access_secret();
  if (access.hash.empty()) return std::unexpected(Error::internal("cannot hash the access code"));
  // The SLA promised at filing, resolved from the node's policy now and
  // carried in the event (node/SLA.md): the service's answer time, else the
  // case type's, else the node's, else the ministry's five working days. No
  // fold reads the policy, so changing it later leaves this case's promise.
  const auto tree = org_tree(txn);
  const CaseSla sla = resolve_sla(tree ? &tree->sla() : nullptr, request.type, request.service,
                                  request.answer_working_days);
  const auto cal = calendar();
  const std::int64_t due_ms = cal->add_working_days(now_ms, sla.answer_working_days);
  json payload =
      case_filed_payload(request, tracking, access.hash, now_ms, due_ms, identity_.seal_key);
  payload["warn_at_ms"] = warn_at(sla.warn_percent, now_ms, due_ms);
  payload["sla"] = json{
      {"policy", sla.policy},
      {"answer_working_days", sla.answer_working_days},
      {"first_response_working_days", sla.first_response_working_days},
      {"level_working_days", sla.level_working_days},
      {"objection_working_days", sla.objection_working_days},
      {"warn_percent", sla.warn_percent},
      {"pause_for_third_party", sla.pause_for_third_party},
      {"first_response_due_ms", cal->add_working_days(now_ms, sla.first_response_working_days)}};
  auto appended = append_local(txn, kCaseFiled, payload, now_ms);
  if (!appended) return std::unexpected(appended.error());
  if (!request.route_unit.empty()) {
    // Auto-routing by the service catalogue: assigned in the same transaction.
    json routed{{"tracking_number", tracking}, {"by", "system"}, {"unit", request.route_unit}};
    auto assigned = append_local(txn, event_kind(CaseAction::kAssign), routed, now_ms);
    if (!assigned) return std::unexpected(assigned.error());
  }
  return json{{"tracking_number", tracking},
              {"access_code", access.code},
              {"status", request.route_unit.empty() ? "submitted" : "assigned"},
              {"submitted_at", iso8601_utc(now_ms)},
              {"due_at", iso8601_utc(due_ms)},
              {"due_at_hijri", hijri_json(due_ms)}};
}

Result<json> NodeStore::owned_case(storage::WriteTxn& txn, std::string_view tracking_number,
                                   const Authorize& authorize) {
  auto value = txn.find(cases_, tracking_number);
  if (!value) return std::unexpected(Error::not_found("no case " + std::string(tracking_number)));
  json state = json::parse(*value);
  if (state["owner"] != identity_.code) {
    return std::unexpected(Error::conflict(
        "not_owner", "case " + std::string(tracking_number) + " is owned by " +
                         state["owner"].get<std::string>() + "; only its owner changes it"));
  }
  if (authorize) {
    if (auto allowed = authorize(state); !allowed) return std::unexpected(allowed.error());
  }
  return state;
}

Result<json> NodeStore::add_attachment(storage::WriteTxn& txn, std::string_view tracking_number,
                                       const std::string& by, std::string_view name,
                                       std::string_view bytes, std::int64_t now_ms,
                                       const Authorize& authorize) {
  auto found = owned_case(txn, tracking_number, authorize);
  if (!found) return std::unexpected(found.error());
  json state = std::move(*found);
  // The fold checks state, count and duplicates again (for replicated
  // events too); checked here first so a refused file is never written.
  if (state["status"] == "closed") {
    return std::unexpected(
        Error::conflict("transition_not_allowed",
                        "cannot add an attachment to a case that is closed; it allows: nothing"));
  }
  auto checked_name = check_attachment_name(name);
  if (!checked_name) return std::unexpected(checked_name.error());
  if (bytes.empty())
    return std::unexpected(Error::bad_request("empty_file", "the file is empty", "file"));
  if (bytes.size() > kAttachmentMax) {
    return std::unexpected(
        Error{413, "body_too_large",
              "the file is over " + std::to_string(kAttachmentMax / (1024 * 1024)) + " MiB", ""});
  }
  auto media_type = sniff_media_type(bytes);
  if (!media_type) {
    return std::unexpected(Error{415, "unsupported_media_type",
                                 "attach a PDF, JPEG or PNG file (judged by its content)", ""});
  }
  const crypto::Hash256 hash = crypto::blake2b_256(crypto::as_bytes(bytes));
  const std::string id = crypto::to_hex(hash);
  const json& existing = state.contains("attachments") ? state["attachments"] : json::array();
  for (const auto& a : existing) {
    if (a["id"] == id) {
      return std::unexpected(Error::conflict(
          "duplicate_attachment", "this file is already attached to the case (" + id + ")"));
    }
  }
  if (existing.size() >= kAttachmentsPerCaseMax) {
    return std::unexpected(Error::conflict(
        "too_many_attachments",
        "a case holds at most " + std::to_string(kAttachmentsPerCaseMax) + " attachments"));
  }
  // Content-addressed: a file already stored (on this or another case) is kept once.
  const std::string key(reinterpret_cast<const char*>(hash.data()), hash.size());
  if (!txn.find(blobs_, key)) {
    if (auto r = txn.put(blobs_, key, bytes); !r) return std::unexpected(from_storage(r.error()));
  }
  json payload{{"tracking_number", tracking_number},
               {"by", by},
               {"attachment",
                {{"id", id},
                 {"name", *checked_name},
                 {"media_type", *media_type},
                 {"size", bytes.size()},
                 {"hash", id}}}};
  auto appended = append_local(txn, kCaseAttachmentAdded, payload, now_ms);
  if (!appended) return std::unexpected(appended.error());
  auto updated = txn.find(cases_, tracking_number);
  if (!updated) return std::unexpected(Error::internal("case vanished after its event"));
  const json after = json::parse(*updated);
  return public_attachment(after["attachments"].back());
}

Result<json> NodeStore::act_on_case(storage::WriteTxn& txn, std::string_view tracking_number,
                                    CaseAction action, const std::string& by, const json& fields,
                                    std::int64_t now_ms, const Authorize& authorize) {
  auto found = owned_case(txn, tracking_number, authorize);
  if (!found) return std::unexpected(found.error());
  json state = std::move(*found);
  auto status = parse_status(state["status"].get<std::string>());
  if (!status) return std::unexpected(Error::internal("case in unknown state"));
  if (action == CaseAction::kObject && state.value("answer_final", false)) {
    return std::unexpected(
        Error::conflict("answer_final",
                        "this answer was given at the top of the ladder and is final: it "
                        "cannot be objected to"));
  }
  if (!next_status(*status, action)) return std::unexpected(refusal(*status, action));
  if (!fields.is_object())
    return std::unexpected(Error::bad_request("wrong_type", "fields must be an object"));
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (!is_action_field(action, it.key())) {
      return std::unexpected(Error::bad_request(
          "unknown_field", it.key() + " is not a field of " + std::string(action_name(action)),
          it.key()));
    }
  }
  if (auto checked = check_action_fields(action, fields); !checked)
    return std::unexpected(checked.error());
  json payload = fields;
  payload["tracking_number"] = tracking_number;
  payload["by"] = by;
  std::string objection_rung;  // the kind of the objection's rung (kObject only)
  // The SLA clock (node/SLA.md): asking the beneficiary pauses it with the
  // working time left; their reply resumes it with a new due time. Both are
  // computed here, with this node's calendar, and carried by the event.
  const auto cal = calendar();
  const bool pauses =
      action == CaseAction::kRequestInfo ||
      (action == CaseAction::kAwaitThirdParty && state.contains("sla") &&
       state["sla"].is_object() && state["sla"].value("pause_for_third_party", false));
  if (pauses) {
    payload["sla_remaining_ms"] = std::max<std::int64_t>(
        0, cal->working_ms_between(now_ms, state["due_at_ms"].get<std::int64_t>()));
    if (state.contains("warn_at_ms") && !state.contains("sla_warned")) {
      payload["warn_remaining_ms"] = std::max<std::int64_t>(
          0, cal->working_ms_between(now_ms, state["warn_at_ms"].get<std::int64_t>()));
    }
  } else if ((action == CaseAction::kProvideInfo || action == CaseAction::kThirdPartyReplied) &&
             state.contains("sla_paused")) {
    const json& paused = state["sla_paused"];
    payload["due_at_ms"] = cal->add_working_ms(now_ms, paused["remaining_ms"].get<std::int64_t>());
    if (paused.contains("warn_remaining_ms")) {
      payload["warn_at_ms"] =
          cal->add_working_ms(now_ms, paused["warn_remaining_ms"].get<std::int64_t>());
    }
  } else if (action == CaseAction::kObject) {
    // Within the window the answer opened, one level higher than the level
    // that answered, with that level's own deadline.
    if (!state.contains("objection_deadline_ms") ||
        now_ms >= state["objection_deadline_ms"].get<std::int64_t>()) {
      return std::unexpected(
          Error::conflict("objection_window_closed",
                          "the time to object to this answer has passed (" +
                              (state.contains("objection_deadline_ms")
                                   ? iso8601_utc(state["objection_deadline_ms"].get<std::int64_t>())
                                   : std::string("no window")) +
                              ")"));
    }
    const std::size_t previous = state.contains("objections") ? state["objections"].size() : 0;
    // The review goes to the next rung of the ladder (its unit and head, a
    // vacant level skipped), exactly as an escalation would climb; above the
    // sector head it goes to the hub, with the hand-off appended below.
    auto rung = next_level(txn, state, now_ms, objection_rung);
    if (!rung && rung.error().code == "no_org_tree") {
      // A node without its tree yet still hears the objection: one level
      // up, in the case's own unit (coordinators route it).
      objection_rung.clear();
      rung = json{{"level", state.value("level", 0) + 1}};
    }
    if (!rung) return std::unexpected(rung.error());
    if (!rung->contains("due_at_ms")) {
      const int window = state.contains("sla")
                             ? state["sla"].value("level_working_days", kLevelWorkingDays)
                             : kLevelWorkingDays;
      (*rung)["due_at_ms"] = cal->add_working_days(now_ms, window);
    }
    rung->erase("tracking_number");
    payload.update(*rung);
    payload["objection"] = previous + 1;
  } else if (action == CaseAction::kDecideObjection) {
    if (!fields.contains("outcome") || !fields["outcome"].is_string() ||
        !is_objection_outcome(fields["outcome"].get<std::string>())) {
      return std::unexpected(Error::bad_request(
          "invalid_outcome", "outcome is upheld, partly_upheld or rejected", "outcome"));
    }
    if (state.value("answered_by", "") == by) {
      return std::unexpected(Error{403, "same_reviewer",
                                   "an objection is reviewed by someone other than the author "
                                   "of the answer objected to",
                                   ""});
    }
  }
  bool final_answer = false;
  if (action == CaseAction::kAnswer || action == CaseAction::kReject ||
      action == CaseAction::kDecideObjection) {
    // The answer of the ladder's top (a unit marked `final`: the Minister's
    // office) has no objection window; the case closes with it.
    final_answer = answers_finally(txn, state);
    if (final_answer) {
      payload["final"] = true;
    } else {
      const int window = state.contains("sla")
                             ? state["sla"].value("objection_working_days", kObjectionWorkingDays)
                             : kObjectionWorkingDays;
      payload["objection_deadline_ms"] = cal->add_working_days(now_ms, window);
    }
  }
  std::string kind(event_kind(action));
  if (action == CaseAction::kEscalate) {
    // By hand: the next rung, as the sweeper would climb it, with the
    // staff member's reason; above the sector head, the hand-off.
    if (state.contains("handed_to_hub")) {
      return std::unexpected(Error::conflict(
          "handed_to_hub", "case " + std::string(tracking_number) +
                               " is already handed to the hub; it climbs no further here"));
    }
    auto next = next_level(txn, state, now_ms, kind);
    if (!next) return std::unexpected(next.error());
    next->update(payload);
    payload = std::move(*next);
  }
  auto appended = append_local(txn, kind, payload, now_ms);
  if (!appended) return std::unexpected(appended.error());
  if (final_answer) {
    const json closed{
        {"tracking_number", tracking_number}, {"by", "system"}, {"reason", "final_answer"}};
    if (auto r = append_local(txn, event_kind(CaseAction::kClose), closed, now_ms); !r)
      return std::unexpected(r.error());
  }
  if (objection_rung == kCaseHandedToHub) {
    // An objection to the sector head's answer is reviewed at the ministry.
    const json hand_off{{"tracking_number", tracking_number},
                        {"by", "system"},
                        {"level", payload["level"]},
                        {"reason", "objection_above_sector"}};
    if (auto r = append_local(txn, kCaseHandedToHub, hand_off, now_ms); !r)
      return std::unexpected(r.error());
  }
  auto updated = txn.find(cases_, tracking_number);
  if (!updated) return std::unexpected(Error::internal("case vanished after its event"));
  return public_case_view(json::parse(*updated));
}

Result<std::uint64_t> NodeStore::store_remote(storage::WriteTxn& txn, std::string_view origin,
                                              std::span<const std::string> batch) {
  fold_error_.reset();
  if (origin == identity_.code) {
    return std::unexpected(
        Error::conflict("wrong_origin", "events of the hub's own chain cannot come from a node"));
  }
  auto head = log_.head(txn, origin);
  if (!head) return std::unexpected(from_storage(head.error()));
  auto hash = head_hash(txn, origin, *head);
  if (!hash) return std::unexpected(hash.error());
  auto plan = federation::plan_batch(federation::ChainHead{*head, *hash}, batch,
                                     [&](std::uint64_t seq) -> std::optional<std::string_view> {
                                       auto stored = log_.get(txn, origin, seq);
                                       if (!stored) return std::nullopt;
                                       return *stored;
                                     });
  if (!plan) {
    bool gap = plan.error().status == federation::StoreOutcome::Status::kGap;
    return std::unexpected(Error::conflict(gap ? "gap" : "fork", plan.error().message));
  }
  std::uint64_t new_head = *head;
  for (std::size_t i = plan->first_new; i < batch.size(); ++i) {
    auto appended = log_.append(txn, origin, new_head + 1, batch[i]);
    if (!appended) {
      // The fold's refusal is the event's (federation NACK `refused`, or
      // `unsupported` for a kind this hub does not know); anything else is
      // the store's and may pass (`unavailable`).
      if (!fold_error_ || appended.error().code == storage::ErrorCode::kMapFull)
        return std::unexpected(from_storage(appended.error()));
      const bool unknown = fold_error_->code == "unknown_event";
      return std::unexpected(Error::conflict(unknown ? "unsupported" : "refused",
                                             "event " + std::to_string(new_head + 1) + " of " +
                                                 std::string(origin) + " (" + fold_error_->code +
                                                 "): " + fold_error_->message));
    }
    ++new_head;
  }
  return new_head;
}

Result<void> NodeStore::set_hub_acked(storage::WriteTxn& txn, std::uint64_t cursor) {
  return write_counter(txn, meta_, kHubAckedKey, cursor);
}

Result<void> NodeStore::write(const std::function<Result<void>(storage::WriteTxn&)>& fn) {
  Result<void> outcome;
  auto written = env_->write([&](storage::WriteTxn& txn) -> storage::Result<void> {
    outcome = fn(txn);
    if (!outcome) {
      // A full map grows and the function runs again (Env::write), as it
      // does for the writer thread's batches.
      return std::unexpected(to_storage(outcome.error()));
    }
    return {};
  });
  if (!outcome) return outcome;
  if (!written) return std::unexpected(from_storage(written.error()));
  return {};
}

Result<void> NodeStore::enroll(const federation::EnrolledNode& node, bool replace,
                               std::int64_t now_ms) {
  if (!valid_node_code(node.code)) {
    return std::unexpected(
        Error::bad_request("invalid_code", "invalid node code '" + node.code + "'", "code"));
  }
  if (node.code == identity_.code) {
    return std::unexpected(
        Error::conflict("own_code", "a node cannot be enrolled under the hub's own code"));
  }
  Result<void> outcome;
  auto written = env_->write([&](storage::WriteTxn& txn) -> storage::Result<void> {
    auto refuse = [&](Error e) {
      outcome = std::unexpected(std::move(e));
      return storage::Result<void>(
          std::unexpected(storage::Error{storage::ErrorCode::kConflict, "refused"}));
    };
    auto existing = enrolled(txn, node.code);
    if (existing && !replace &&
        (existing->curve_public != node.curve_public ||
         existing->sign_public != node.sign_public)) {
      return refuse(Error::conflict(
          "already_enrolled",
          node.code + " is enrolled with other keys; use --replace to rotate them"));
    }
    if (auto other = txn.find(enrolled_by_curve_, key_view(node.curve_public));
        other && *other != node.code) {
      return refuse(Error::conflict(
          "key_in_use", "this CURVE key is already enrolled as " + std::string(*other)));
    }
    if (existing) {
      if (auto r = txn.del(enrolled_by_curve_, key_view(existing->curve_public)); !r)
        return std::unexpected(r.error());
    }
    // A rotated signing key still verifies the history it signed. The node
    // says up to which event each old key signed (its identity.pub, written
    // by `tawasul rotate-key`): events it signed before the rotation but had
    // not sent yet verify too. Without that, the old key is kept up to the
    // last event the hub holds, as an operator's manual rotation implies.
    auto head = log_.head(txn, node.code);
    if (!head) return std::unexpected(head.error());
    std::vector<federation::RetiredKey> retired =
        existing ? existing->retired : std::vector<federation::RetiredKey>{};
    if (!node.retired.empty()) {
      retired = node.retired;
    } else if (existing && existing->sign_public != node.sign_public) {
      retired.push_back(federation::RetiredKey{existing->sign_public, *head});
    }
    json previous = json::array();
    for (const auto& k : retired) {
      previous.push_back(
          json{{"sign_public", crypto::to_hex(k.sign_public)}, {"last_seq", k.last_seq}});
    }
    json record{{"code", node.code},
                {"curve_public", federation::z85_encode(node.curve_public)},
                {"sign_public", crypto::to_hex(node.sign_public)},
                {"enrolled_at", iso8601_utc(now_ms)},
                {"previous", previous}};
    if (auto r = txn.put(enrolled_, node.code, record.dump()); !r) return r;
    return txn.put(enrolled_by_curve_, key_view(node.curve_public), node.code);
  });
  if (!outcome) return outcome;
  if (!written) return std::unexpected(from_storage(written.error()));
  return {};
}

std::optional<federation::EnrolledNode> NodeStore::enrolled(const storage::Txn& txn,
                                                            std::string_view code) const {
  auto v = txn.find(enrolled_, code);
  if (!v) return std::nullopt;
  return parse_enrolled(*v);
}

std::optional<federation::EnrolledNode> NodeStore::by_curve_key(
    const crypto::CurvePublicKey& key) const {
  auto txn = env_->begin_read();
  if (!txn) return std::nullopt;  // fail closed
  auto code = txn->find(enrolled_by_curve_, key_view(key));
  if (!code) return std::nullopt;
  auto node = enrolled(*txn, *code);
  if (!node || node->curve_public != key) return std::nullopt;
  return node;
}

std::optional<federation::EnrolledNode> NodeStore::by_code(std::string_view code) const {
  auto txn = env_->begin_read();
  if (!txn) return std::nullopt;
  return enrolled(*txn, code);
}

Result<json> NodeStore::lookup_case(std::string_view tracking_number,
                                    std::string_view access_code) {
  const auto not_found = Error::not_found("no case with this tracking number and access code");
  if (!normalize_access_code(access_code)) return std::unexpected(not_found);
  json state;
  {
    auto txn = env_->begin_read();
    if (!txn) return std::unexpected(from_storage(txn.error()));
    auto value = txn->find(cases_, tracking_number);
    if (!value) return std::unexpected(not_found);
    state = json::parse(*value);
  }  // the slow check runs with no transaction open
  if (!access_code_matches(state.value("access_hash", ""), tracking_number, access_code))
    return std::unexpected(not_found);
  return public_case_view(state);
}

void NodeStore::set_calendar(std::shared_ptr<const WorkingCalendar> calendar) {
  std::lock_guard lock(calendar_mutex_);
  calendar_ = std::move(calendar);
}

std::shared_ptr<const WorkingCalendar> NodeStore::calendar() const {
  std::lock_guard lock(calendar_mutex_);
  return calendar_ ? calendar_ : national_calendar();
}

namespace {

constexpr std::string_view kNationalCalendarKey = "national_calendar";

Result<std::optional<federation::SignedCalendar>> read_national_calendar(const storage::Txn& txn,
                                                                         storage::Dbi meta) {
  auto v = txn.get(meta, kNationalCalendarKey);
  if (!v) {
    if (v.error().code == storage::ErrorCode::kNotFound)
      return std::optional<federation::SignedCalendar>{};
    return std::unexpected(from_storage(v.error()));
  }
  auto bad = [] { return std::unexpected(Error::internal("meta national_calendar is malformed")); };
  json j = json::parse(*v, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("version") ||
      !j["version"].is_number_unsigned() || !j.contains("text") || !j["text"].is_string() ||
      !j.contains("signature") || !j["signature"].is_string())
    return bad();
  auto signature = crypto::array_from_hex<64>(j["signature"].get<std::string>());
  if (!signature) return bad();
  return federation::SignedCalendar{j["version"].get<std::uint64_t>(), j["text"].get<std::string>(),
                                    *signature};
}

Result<void> write_national_calendar(storage::WriteTxn& txn, storage::Dbi meta,
                                     const federation::SignedCalendar& c) {
  json j{{"version", c.version}, {"text", c.text}, {"signature", crypto::to_hex(c.signature)}};
  if (auto r = txn.put(meta, kNationalCalendarKey, j.dump()); !r)
    return std::unexpected(from_storage(r.error()));
  return {};
}

}  // namespace

Result<std::optional<federation::SignedCalendar>> NodeStore::national_calendar_held() {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  return read_national_calendar(*txn, meta_);
}

Result<federation::SignedCalendar> NodeStore::publish_national_calendar(storage::WriteTxn& txn,
                                                                        std::string_view text,
                                                                        std::string_view source) {
  if (text.size() > federation::kCalendarTextMax) {
    return std::unexpected(Error::bad_request(
        "bad_calendar", std::string(source) + ": a national calendar is at most " +
                            std::to_string(federation::kCalendarTextMax / 1024) + " KiB"));
  }
  if (text.empty()) {
    return std::unexpected(
        Error::bad_request("bad_calendar", std::string(source) + ": the file is empty"));
  }
  if (auto loaded = WorkingCalendar::load({{text, source}}); !loaded)
    return std::unexpected(Error::bad_request("bad_calendar", loaded.error().message));
  auto held = read_national_calendar(txn, meta_);
  if (!held) return std::unexpected(held.error());
  if (*held && (*held)->text == text &&
      federation::verify_calendar(**held, identity_.sign.public_key))
    return **held;
  auto next = federation::sign_calendar(identity_.sign.secret_key, *held ? (*held)->version + 1 : 1,
                                        std::string(text));
  if (auto r = write_national_calendar(txn, meta_, next); !r) return std::unexpected(r.error());
  return next;
}

Result<std::shared_ptr<const WorkingCalendar>> NodeStore::accept_national_calendar(
    storage::WriteTxn& txn, const federation::SignedCalendar& calendar,
    const crypto::SignPublicKey& hub_key, const std::vector<WorkingCalendar::Layer>& own_layers) {
  if (calendar.text.empty() || calendar.text.size() > federation::kCalendarTextMax) {
    return std::unexpected(Error::bad_request(
        "bad_calendar", "national calendar version " + std::to_string(calendar.version) +
                            " is empty or over " +
                            std::to_string(federation::kCalendarTextMax / 1024) + " KiB"));
  }
  if (!federation::verify_calendar(calendar, hub_key)) {
    return std::unexpected(Error::bad_request(
        "bad_signature", "national calendar version " + std::to_string(calendar.version) +
                             " is not signed by the hub's key (federation.hub_sign_key)"));
  }
  auto held = read_national_calendar(txn, meta_);
  if (!held) return std::unexpected(held.error());
  const std::uint64_t held_version = *held ? (*held)->version : 0;
  if (calendar.version <= held_version) {
    return std::unexpected(Error::conflict(
        "stale", "national calendar version " + std::to_string(calendar.version) +
                     " is not newer than the held version " + std::to_string(held_version)));
  }
  const std::string source = "national calendar v" + std::to_string(calendar.version);
  std::vector<WorkingCalendar::Layer> layers = {{calendar.text, source}};
  layers.insert(layers.end(), own_layers.begin(), own_layers.end());
  auto loaded = WorkingCalendar::load(layers);
  if (!loaded) return std::unexpected(Error::bad_request("bad_calendar", loaded.error().message));
  if (auto r = write_national_calendar(txn, meta_, calendar); !r) return std::unexpected(r.error());
  return *loaded;
}

Result<void> NodeStore::set_org_tree(storage::WriteTxn& txn, const OrgTree& tree,
                                     std::int64_t now_ms) {
  auto version = read_counter(txn, meta_, "org_version");
  if (!version) return std::unexpected(version.error());
  if (auto r = txn.put(meta_, "org_tree", tree.to_json().dump()); !r)
    return std::unexpected(from_storage(r.error()));
  if (auto r = write_counter(txn, meta_, "org_version", *version + 1); !r) return r;
  return staff_->audit(
      txn, now_ms,
      json{{"event", "org_tree_replaced"}, {"units", tree.size()}, {"root", tree.root()}});
}

std::shared_ptr<const OrgTree> NodeStore::org_tree() {
  auto txn = env_->begin_read();
  if (!txn) return nullptr;
  return org_tree(*txn);
}

std::shared_ptr<const OrgTree> NodeStore::org_tree(const storage::Txn& txn) {
  auto version = read_counter(txn, meta_, "org_version");
  if (!version || *version == 0) return nullptr;
  std::lock_guard lock(org_mutex_);
  if (*version == org_version_ && org_) return org_;
  auto text = txn.find(meta_, "org_tree");
  if (!text) return nullptr;
  auto tree = OrgTree::parse_text(*text);
  if (!tree) return nullptr;
  auto parsed = std::make_shared<const OrgTree>(std::move(*tree));
  // Only a committed tree is cached: a write transaction's may still abort,
  // and its version number would then be given to another tree.
  if (txn.read_only()) {
    org_ = parsed;
    org_version_ = *version;
  }
  return parsed;
}

Result<std::vector<std::string>> NodeStore::find_by_contact(std::string_view field,
                                                            std::string_view value) {
  auto normalized = normalize_contact(field, value);
  if (!normalized) {
    return std::unexpected(Error::bad_request("invalid_" + std::string(field),
                                              std::string(field) + " is not a valid value",
                                              std::string(field)));
  }
  return cases_by_index(blind_index(identity_.seal_key, field, *normalized));
}

Result<std::vector<std::string>> NodeStore::cases_of_account(std::string_view account_id) {
  return cases_by_index(beneficiaries_->account_index(account_id));
}

Result<json> NodeStore::account_case_view(std::string_view tracking_number,
                                          std::string_view account_id) {
  const auto not_found = Error::not_found("no case with this tracking number and access code");
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  auto value = txn->find(cases_, tracking_number);
  if (!value) return std::unexpected(not_found);
  json state = json::parse(*value);
  const json& b = state["beneficiary"];
  if (!b.contains("account_index") ||
      b["account_index"] != beneficiaries_->account_index(account_id)) {
    return std::unexpected(not_found);
  }
  return public_case_view(state);
}

Result<json> NodeStore::link_case(storage::WriteTxn& txn, std::string_view tracking_number,
                                  std::string_view access_code, std::string_view account_id,
                                  std::int64_t now_ms) {
  const auto not_found = Error::not_found("no case with this tracking number and access code");
  auto value = txn.find(cases_, tracking_number);
  if (!value) return std::unexpected(not_found);
  json state = json::parse(*value);
  if (!access_code_matches(state.value("access_hash", ""), tracking_number, access_code))
    return std::unexpected(not_found);
  if (state["owner"] != identity_.code) {
    return std::unexpected(Error::conflict(
        "not_owner", "case " + std::string(tracking_number) + " is owned by " +
                         state["owner"].get<std::string>() + "; link it at its own node"));
  }
  const std::string index = beneficiaries_->account_index(account_id);
  if (state["beneficiary"].contains("account_index")) {
    if (state["beneficiary"]["account_index"] == index) return public_case_view(state);
    return std::unexpected(Error::conflict(
        "already_linked", "this case is already linked to another beneficiary account"));
  }
  json payload{
      {"tracking_number", tracking_number}, {"by", "beneficiary"}, {"account_index", index}};
  auto appended = append_local(txn, kCaseLinked, payload, now_ms);
  if (!appended) return std::unexpected(appended.error());
  auto updated = txn.find(cases_, tracking_number);
  if (!updated) return std::unexpected(Error::internal("case vanished after its event"));
  return public_case_view(json::parse(*updated));
}

Result<std::vector<std::string>> NodeStore::cases_by_index(std::string_view index_hex) {
  auto index = crypto::from_hex(index_hex);
  if (!index) return std::unexpected(Error::internal("blind index is not hex"));
  const std::string prefix(reinterpret_cast<const char*>(index->data()), index->size());
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  std::vector<std::string> out;
  auto r = txn->scan(by_contact_, prefix, [&](std::string_view key, std::string_view) {
    if (!key.starts_with(prefix)) return false;
    out.emplace_back(key.substr(prefix.size()));
    return out.size() < 10000;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return out;
}

Result<void> NodeStore::scan_cases(const std::function<bool(const json&)>& fn) {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  auto r = txn->scan(cases_, "", [&](std::string_view, std::string_view value) {
    json state = json::parse(value, nullptr, false);
    return state.is_discarded() || fn(state);
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return {};
}

Result<json> NodeStore::staff_case_view(std::string_view tracking_number) {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  auto value = txn->find(cases_, tracking_number);
  if (!value) return std::unexpected(Error::not_found("no case " + std::string(tracking_number)));
  json state = json::parse(*value);
  state.erase("access_hash");
  state.erase("events");
  json beneficiary{{"name", state["beneficiary"]["name"]}};
  // Staff who may read the case see the contact data, opened here; a hub
  // holds only sealed values (it has no node's seal key).
  if (state["owner"] == identity_.code) {
    for (const char* field : {"phone", "email", "national_id"}) {
      const std::string sealed = std::string(field) + "_sealed";
      if (!state["beneficiary"].contains(sealed)) continue;
      if (auto opened = open_contact(identity_.seal_key, tracking_number, field,
                                     state["beneficiary"][sealed].get<std::string>())) {
        beneficiary[field] = *opened;
      }
    }
  }
  state["beneficiary"] = beneficiary;
  for (auto& h : state["history"]) {
    if (h.contains("at_ms")) h["at"] = iso8601_utc(h["at_ms"].get<std::int64_t>());
  }
  state["submitted_at"] = iso8601_utc(state["submitted_at_ms"].get<std::int64_t>());
  state["due_at"] = iso8601_utc(state["due_at_ms"].get<std::int64_t>());
  state["submitted_at_hijri"] = hijri_json(state["submitted_at_ms"].get<std::int64_t>());
  state["due_at_hijri"] = hijri_json(state["due_at_ms"].get<std::int64_t>());
  // The first-response promise and whether it was kept.
  const json& sla = state.contains("sla") ? state["sla"] : json();
  if (sla.is_object() && sla.contains("first_response_due_ms")) {
    const auto promised = sla["first_response_due_ms"].get<std::int64_t>();
    state["first_response_due"] = iso8601_utc(promised);
    if (state.contains("first_response_at_ms")) {
      const auto at = state["first_response_at_ms"].get<std::int64_t>();
      state["first_response_at"] = iso8601_utc(at);
      state["first_response_on_time"] = at <= promised;
    }
  }
  if (!state.contains("attachments")) state["attachments"] = json::array();
  for (auto& a : state["attachments"]) {
    a["added_at"] = iso8601_utc(a["added_at_ms"].get<std::int64_t>());
    a["from"] = a["by"] == "beneficiary" ? "beneficiary" : "staff";
  }
  return state;
}

Result<AttachmentFile> NodeStore::read_attachment(std::string_view tracking_number,
                                                  std::string_view id) {
  const auto not_found = Error::not_found("no such attachment on this case");
  auto hash = crypto::array_from_hex<32>(id);
  if (!hash) return std::unexpected(not_found);
  const std::string wanted = crypto::to_hex(*hash);  // lower case, as stored
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  auto value = txn->find(cases_, tracking_number);
  if (!value) return std::unexpected(not_found);
  json state = json::parse(*value);
  if (!state.contains("attachments")) return std::unexpected(not_found);
  for (const auto& a : state["attachments"]) {
    if (a["id"] != wanted) continue;
    const std::string key(reinterpret_cast<const char*>(hash->data()), hash->size());
    auto bytes = txn->find(blobs_, key);
    if (!bytes) {
      return std::unexpected(Error{404, "not_held_here",
                                   "this attachment's file is kept by node " +
                                       state["owner"].get<std::string>() + "; download it there",
                                   ""});
    }
    return AttachmentFile{public_attachment(a), std::string(*bytes)};
  }
  return std::unexpected(not_found);
}

Result<std::uint64_t> NodeStore::head(std::string_view origin) {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  auto h = log_.head(*txn, origin);
  if (!h) return std::unexpected(from_storage(h.error()));
  return *h;
}

Result<std::vector<std::string>> NodeStore::read_events(std::string_view origin,
                                                        std::uint64_t from_seq,
                                                        std::size_t max_events,
                                                        std::size_t max_bytes) {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  std::vector<std::string> out;
  std::size_t bytes = 0;
  auto r = log_.scan(*txn, origin, from_seq, [&](std::uint64_t, std::string_view value) {
    if (!out.empty() && bytes + value.size() > max_bytes) return false;
    out.emplace_back(value);
    bytes += value.size();
    return out.size() < max_events;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return out;
}

Result<StoreStats> NodeStore::stats() {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  StoreStats s;
  auto cases = read_counter(*txn, meta_, kCasesCountKey);
  if (!cases) return std::unexpected(cases.error());
  s.cases = *cases;
  auto acked = read_counter(*txn, meta_, kHubAckedKey);
  if (!acked) return std::unexpected(acked.error());
  s.hub_acked = *acked;
  auto r = log_.streams(*txn, [&](std::string_view stream, std::uint64_t head) {
    s.streams[std::string(stream)] = head;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return s;
}

Result<std::vector<std::string>> NodeStore::tracking_numbers() {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  std::vector<std::string> out;
  auto r = txn->scan(cases_, "", [&](std::string_view key, std::string_view) {
    out.emplace_back(key);
    return true;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return out;
}

Result<VerifyReport> NodeStore::verify() {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  VerifyReport report;
  std::vector<std::pair<std::string, std::uint64_t>> streams;
  auto listed =
      log_.streams(*txn, [&](std::string_view s, std::uint64_t h) { streams.emplace_back(s, h); });
  if (!listed) return std::unexpected(from_storage(listed.error()));
  std::uint64_t filed = 0;
  for (const auto& [stream, head] : streams) {
    auto fault = [&, stream = stream](std::uint64_t seq, const std::string& what) {
      return Error{
          1, "fault", "stream " + stream + " event " + std::to_string(seq) + ": " + what, {}};
    };
    // The key that signed each event: our own, or the enrolled node's — its
    // earlier keys for the events it signed before a rotation.
    federation::EnrolledNode keys;
    if (stream == identity_.code) {
      keys.sign_public = identity_.sign.public_key;
      keys.retired = identity_.retired_sign;
    } else if (auto node = enrolled(*txn, stream)) {
      keys = *node;
    } else {
      return std::unexpected(
          Error{1, "fault", "stream " + stream + ": no enrolled key to verify it with", {}});
    }
    auto key_for = [&](std::uint64_t seq) { return federation::signing_key_for(keys, seq); };
    crypto::Hash256 prev{};
    std::uint64_t expected = 1;
    std::optional<Error> found;
    auto r = log_.scan(*txn, stream, 1, [&](std::uint64_t seq, std::string_view bytes) {
      if (seq != expected) {
        found = fault(expected, "missing (next stored is " + std::to_string(seq) + ")");
        return false;
      }
      auto event = crypto::decode_envelope(bytes);
      if (!event) {
        found = fault(seq, "does not decode: " + event.error().message);
        return false;
      }
      if (event->origin != stream || event->seq != seq) {
        found = fault(seq, "claims to be " + event->origin + "#" + std::to_string(event->seq));
        return false;
      }
      if (!crypto::verify_envelope(bytes, key_for(seq))) {
        found = fault(seq, "signature does not verify");
        return false;
      }
      if (event->prev_hash != prev) {
        found = fault(seq, "does not chain to the event before it (prev_hash mismatch)");
        return false;
      }
      if (event->kind == kCaseFiled) ++filed;
      prev = crypto::envelope_hash(bytes);
      ++expected;
      return true;
    });
    if (!r) return std::unexpected(from_storage(r.error()));
    if (found) return std::unexpected(*found);
    if (expected - 1 != head) {
      return std::unexpected(
          fault(expected, "missing: the head says " + std::to_string(head) + " events"));
    }
    report.streams[stream] = head;
  }
  auto cases = read_counter(*txn, meta_, kCasesCountKey);
  if (!cases) return std::unexpected(cases.error());
  if (*cases != filed) {
    return std::unexpected(Error{1,
                                 "fault",
                                 "the case view counts " + std::to_string(*cases) +
                                     " cases but the log files " + std::to_string(filed),
                                 {}});
  }
  report.cases = filed;
  return report;
}

}  // namespace tawasul::node
