#include "node/outbox.hpp"

#include <lmdb.h>

#include <algorithm>
#include <array>

#include "node/cases.hpp"
#include "node/node_store.hpp"
#include "node/text.hpp"
#include "node/time_util.hpp"

namespace tawasul::node {

using nlohmann::json;

namespace {

constexpr std::string_view kOutboxSeqKey = "outbox_seq";

// A quoted text (an answer, a reason, a question) is cut to this many
// characters in a message; the whole text is on the case's page.
constexpr std::size_t kQuoteMaxChars = 600;

// What the beneficiary hears, per event: one table, Arabic (formal Modern
// Standard Arabic) first. `{tn}` is the tracking number; `{text}` the
// event's `quote` field. Events not listed notify no one.
struct Message {
  std::string_view event;  // the event kind
  std::string_view kind;   // the message kind
  const char* quote;       // the payload field quoted in the text, or nullptr
  std::string_view ar;
  std::string_view en;
};

constexpr std::array<Message, 16> kMessages = {{
    {"case.filed", "received", nullptr,
     "تم استلام طلبك رقم {tn} وسيتم الرد عليه خلال خمسة أيام عمل. يرجى الاحتفاظ برقم الطلب "
     "ورمز الدخول لمتابعته.",
     "Your case {tn} has been received and will be answered within five working days. Please "
     "keep the tracking number and access code to follow it."},
    {"case.info_requested", "waiting_for_you", "question",
     "طلبك رقم {tn} بانتظار ردك، ونرجو تزويدنا بما يلي: {text}",
     "Your case {tn} is waiting for your reply. Please tell us: {text}"},
    {"case.third_party_awaited", "waiting_for_third_party", "reason",
     "طلبك رقم {tn} بانتظار رد جهة أخرى، وذلك للسبب الآتي: {text}",
     "Your case {tn} is waiting for another body's reply, for this reason: {text}"},
    {"case.answered", "answered", "answer", "تم الرد على طلبك رقم {tn}، ونص الرد: {text}",
     "Your case {tn} has been answered: {text}"},
    {"case.rejected", "rejected", "reason",
     "نعتذر عن عدم قبول طلبك رقم {tn} لأنه خارج نطاق الاختصاص، وذلك للسبب الآتي: {text}",
     "Your case {tn} has been declined as out of scope, for this reason: {text}"},
    {"case.replied", "replied", "text", "رسالة من فريق رعاية المستفيدين بشأن طلبك رقم {tn}: {text}",
     "A message from the beneficiary care team about your case {tn}: {text}"},
    {"case.transferred", "transferred", "reason",
     "تمت إحالة طلبك رقم {tn} إلى جهة أخرى مختصة، وذلك للسبب الآتي: {text}",
     "Your case {tn} has been transferred to another unit, for this reason: {text}"},
    {"case.closed", "closed", nullptr, "تم إغلاق طلبك رقم {tn}. شكرًا لتواصلك معنا.",
     "Your case {tn} has been closed. Thank you for contacting us."},
    {"case.closed/window_ended", "closed", nullptr,
     "انتهت مدة الاعتراض على الرد على طلبك رقم {tn} وتم إغلاقه. شكرًا لتواصلك معنا.",
     "The time to object to the answer on your case {tn} has ended and the case is closed. Thank "
     "you for contacting us."},
    {"case.closed/final_answer", "closed", nullptr,
     "الرد على طلبك رقم {tn} نهائي، وتم إغلاق الطلب. شكرًا لتواصلك معنا.",
     "The answer on your case {tn} is final and the case is closed. Thank you for contacting us."},
    // Every closure also invites the beneficiary to rate the service (the
    // survey itself is a later issue; the invitation is queued now).
    {"survey", "survey", nullptr, "نرجو تقييم خدمتنا في طلبك رقم {tn}؛ رأيك يساعدنا على التحسين.",
     "Please rate our service on your case {tn}; your opinion helps us improve."},
    {"case.objected", "objection_received", nullptr,
     "تم استلام اعتراضك على الرد على طلبك رقم {tn}، وسيراجعه مستوى إداري أعلى.",
     "Your objection to the answer on case {tn} has been received and will be reviewed at a "
     "higher level."},
    {"case.objection_decided", "objection_decided", "answer",
     "تم البت في اعتراضك على طلبك رقم {tn}، ونص القرار: {text}",
     "A decision has been made on your objection on case {tn}: {text}"},
    // Escalations quote the level's name in the message's own language
    // (`level_name` {ar, en}); a breach and a staff decision read differently.
    {"case.escalated", "escalated", "level_name", "تم رفع طلبك رقم {tn} إلى {text} لتأخر الرد عليه",
     "Your case {tn} has been escalated to {text} because its answer was late"},
    {"case.escalated/by_staff", "escalated", "level_name",
     "تم رفع طلبك رقم {tn} إلى {text} لمتابعته",
     "Your case {tn} has been escalated to {text} for follow-up"},
    {"case.handed_to_hub", "escalated", nullptr, "تم رفع طلبك رقم {tn} إلى وزارة التعليم لمتابعته",
     "Your case {tn} has been escalated to the Ministry of Education for follow-up"},
}};

// The pre-breach warning, to staff (the assignee and the unit head); `{text}`
// is the deadline in Riyadh time.
constexpr std::string_view kWarningAr =
    "تنبيه: يقترب موعد الرد على الطلب رقم {tn}، وينتهي في {text} بتوقيت الرياض.";
constexpr std::string_view kWarningEn =
    "Reminder: the answer to case {tn} is due by {text} (Riyadh time).";

const Message* message_for(std::string_view event_kind) {
  for (const auto& m : kMessages) {
    if (m.event == event_kind) return &m;
  }
  return nullptr;
}

// The first `max_chars` characters of `text`, with "…" when cut.
std::string quote(std::string_view text, std::size_t max_chars) {
  return utf8_chars(text, max_chars, "…");
}

std::string fill(std::string_view templ, std::string_view tracking, std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < templ.size();) {
    if (templ.substr(i).starts_with("{tn}")) {
      out += tracking;
      i += 4;
    } else if (templ.substr(i).starts_with("{text}")) {
      out += text;
      i += 6;
    } else {
      out += templ[i++];
    }
  }
  return out;
}

std::string id_key(std::uint64_t id) {
  return storage::encode_u64(id);
}

Result<json> read_entry(const storage::Txn& txn, storage::Dbi dbi, std::uint64_t id) {
  auto v = txn.find(dbi, id_key(id));
  if (!v) return std::unexpected(Error::not_found("no notification " + std::to_string(id)));
  json entry = json::parse(*v, nullptr, false);
  if (entry.is_discarded() || !entry.is_object())
    return std::unexpected(Error::internal("notification " + std::to_string(id) + " is malformed"));
  return entry;
}

Result<void> put(storage::WriteTxn& txn, storage::Dbi dbi, std::uint64_t id, const json& entry,
                 unsigned flags = 0) {
  if (auto r = txn.put(dbi, id_key(id), entry.dump(), flags); !r)
    return std::unexpected(from_storage(r.error()));
  return {};
}

Result<std::uint64_t> entries(const storage::Txn& txn, storage::Dbi dbi) {
  MDB_stat stat{};
  if (int rc = mdb_stat(txn.raw(), dbi.handle, &stat); rc != 0)
    return std::unexpected(from_storage(storage::lmdb_error(rc, "outbox stat")));
  return static_cast<std::uint64_t>(stat.ms_entries);
}

}  // namespace

std::int64_t retry_delay_ms(const RetryPolicy& policy, int failed_attempts) {
  std::int64_t delay = policy.first_delay_ms;
  for (int i = 1; i < failed_attempts && delay < policy.max_delay_ms; ++i) delay *= 2;
  return std::min(delay, policy.max_delay_ms);
}

std::optional<std::string_view> notification_kind(std::string_view event_kind) {
  if (const Message* m = message_for(event_kind)) return m->kind;
  return std::nullopt;
}

std::optional<std::string_view> choose_channel(std::string_view contact_preference, bool has_phone,
                                               bool has_email) {
  if (contact_preference == "any") {
    if (has_phone) return "sms";
    if (has_email) return "email";
    return std::nullopt;
  }
  // written_only, no_calls (and anything unknown: the cautious reading).
  if (has_email) return "email";
  if (has_phone) return "sms";
  return std::nullopt;
}

std::string mask_address(std::string_view address) {
  // By whole code points: an Arabic local part or IDN domain stays valid UTF-8.
  const std::vector<std::string> chars = utf8_code_points(address);
  const auto join = [&](std::size_t from, std::size_t to) {
    std::string out;
    for (std::size_t i = from; i < to; ++i) out += chars[i];
    return out;
  };
  const auto at = std::find(chars.begin(), chars.end(), "@");
  if (at != chars.end()) {
    const auto local = static_cast<std::size_t>(at - chars.begin());
    if (local <= 2) return std::string(local, '*') + join(local, chars.size());
    return chars.front() + std::string(local - 2, '*') + join(local - 1, chars.size());
  }
  if (chars.size() <= 8) return std::string(chars.size(), '*');
  return join(0, 5) + std::string(chars.size() - 8, '*') + join(chars.size() - 3, chars.size());
}

Result<Outbox> Outbox::open(storage::Env& env) {
  storage::Dbi dbis[3];
  const char* names[3] = {"outbox", "outbox_failed", "meta"};
  for (int i = 0; i < 3; ++i) {
    auto dbi = env.dbi(names[i]);
    if (!dbi) return std::unexpected(from_storage(dbi.error()));
    dbis[i] = *dbi;
  }
  return Outbox(env, dbis[0], dbis[1], dbis[2]);
}

Result<std::uint64_t> Outbox::on_event(storage::WriteTxn& txn, const crypto::Event& event,
                                       const json& payload, const json& state) {
  if (event.kind == kCaseSlaWarned) return on_warning(txn, event, payload, state);
  std::string_view key = event.kind;
  if (event.kind == "case.escalated" && payload.value("reason", "") != "sla_breach")
    key = "case.escalated/by_staff";
  if (event.kind == "case.closed" && payload.value("reason", "") == "objection_window_ended")
    key = "case.closed/window_ended";
  if (event.kind == "case.closed" && payload.value("reason", "") == "final_answer")
    key = "case.closed/final_answer";
  const Message* first = message_for(key);
  if (first == nullptr) return 0;
  // A closure, by acceptance or by the end of the window, also invites the
  // beneficiary to the satisfaction survey.
  std::vector<const Message*> messages{first};
  if (event.kind == "case.closed") messages.push_back(message_for("survey"));
  const std::string tracking = state.value("tracking_number", "");
  const json& beneficiary = state.contains("beneficiary") ? state["beneficiary"] : json::object();
  const std::string preference = state.value("contact_preference", "any");
  auto channel = choose_channel(preference, beneficiary.contains("phone_sealed"),
                                beneficiary.contains("email_sealed"));
  if (!channel) return 0;  // no way to reach them (filing requires one; older data may not)
  std::uint64_t last_id = 0;
  for (const Message* m : messages) {
    std::string quoted;
    std::string quoted_en;  // for a quote given per language ({ar, en})
    if (m->quote != nullptr && payload.contains(m->quote) && payload[m->quote].is_string()) {
      quoted = quote(payload[m->quote].get<std::string>(), kQuoteMaxChars);
      quoted_en = quoted;
    } else if (m->quote != nullptr && payload.contains(m->quote) && payload[m->quote].is_object()) {
      quoted = quote(payload[m->quote].value("ar", ""), kQuoteMaxChars);
      quoted_en = quote(payload[m->quote].value("en", ""), kQuoteMaxChars);
    }

    const auto now = static_cast<std::int64_t>(event.time_ms);
    json entry{{"tracking_number", tracking},
               {"kind", m->kind},
               {"event", event.kind},
               {"event_seq", event.seq},
               {"channel", *channel},
               // A voice call is never offered to those who asked for written
               // replies or no calls, nor without a phone.
               {"voice_allowed", preference == "any" && beneficiary.contains("phone_sealed")},
               {"text", json{{"ar", fill(m->ar, tracking, quoted)},
                             {"en", fill(m->en, tracking, quoted_en)}}},
               {"case_status", state.value("status", "")},
               {"created_at_ms", now},
               {"status", "pending"},
               {"attempts", 0},
               {"next_attempt_ms", now}};
    if (state.contains("language_preference") && state["language_preference"].is_string())
      entry["language_preference"] = state["language_preference"];
    auto id = append(txn, std::move(entry));
    if (!id) return id;
    last_id = *id;
  }
  return last_id;
}

Result<std::uint64_t> Outbox::append(storage::WriteTxn& txn, json entry) {
  std::uint64_t last = 0;
  if (auto v = txn.find(meta_, kOutboxSeqKey)) {
    if (v->size() != 8) return std::unexpected(Error::internal("outbox_seq is not 8 bytes"));
    last = storage::decode_u64(*v);
  }
  const std::uint64_t id = last + 1;
  if (auto r = txn.put(meta_, kOutboxSeqKey, storage::encode_u64(id)); !r)
    return std::unexpected(from_storage(r.error()));
  entry["id"] = id;
  // Ids only grow, so a new message is always the last key.
  if (auto r = put(txn, pending_, id, entry, MDB_APPEND); !r) return std::unexpected(r.error());
  return id;
}

Result<std::uint64_t> Outbox::on_warning(storage::WriteTxn& txn, const crypto::Event& event,
                                         const json& payload, const json& state) {
  const std::string tracking = state.value("tracking_number", "");
  // The deadline in Riyadh time, as staff read it: "2026-11-05 15:00".
  std::string due = iso8601_utc(payload["due_at_ms"].get<std::int64_t>() + kRiyadhOffsetMs);
  due = due.substr(0, 10) + " " + due.substr(11, 5);
  const auto now = static_cast<std::int64_t>(event.time_ms);
  std::uint64_t last_id = 0;
  for (const auto& staff : payload["notify"]) {
    json entry{{"tracking_number", tracking},
               {"kind", "sla_warning"},
               {"event", event.kind},
               {"event_seq", event.seq},
               {"channel", "staff"},
               {"to_staff", staff},
               {"voice_allowed", false},
               {"text", json{{"ar", fill(kWarningAr, tracking, due)},
                             {"en", fill(kWarningEn, tracking, due)}}},
               {"case_status", state.value("status", "")},
               {"created_at_ms", now},
               {"status", "pending"},
               {"attempts", 0},
               {"next_attempt_ms", now}};
    auto id = append(txn, std::move(entry));
    if (!id) return id;
    last_id = *id;
  }
  return last_id;
}

Result<bool> Outbox::record_delivered(storage::WriteTxn& txn, std::uint64_t id) {
  auto r = txn.del(pending_, id_key(id));
  if (!r) return std::unexpected(from_storage(r.error()));
  return *r;
}

Result<json> Outbox::record_failure(storage::WriteTxn& txn, std::uint64_t id, std::int64_t now_ms,
                                    const std::string& error, std::int64_t delay_ms,
                                    const RetryPolicy& policy, bool permanent) {
  auto entry = read_entry(txn, pending_, id);
  if (!entry) return entry;
  const int attempts = entry->value("attempts", 0) + 1;
  (*entry)["attempts"] = attempts;
  (*entry)["last_attempt_ms"] = now_ms;
  (*entry)["last_error"] = utf8_prefix(error, 500);
  if (permanent || attempts >= policy.max_attempts) {
    (*entry)["status"] = "failed";
    (*entry)["failed_at_ms"] = now_ms;
    entry->erase("next_attempt_ms");
    if (auto r = txn.del(pending_, id_key(id)); !r) return std::unexpected(from_storage(r.error()));
    if (auto r = put(txn, failed_, id, *entry); !r) return std::unexpected(r.error());
    return entry;
  }
  (*entry)["next_attempt_ms"] = now_ms + delay_ms;
  if (auto r = put(txn, pending_, id, *entry); !r) return std::unexpected(r.error());
  return entry;
}

Result<std::uint64_t> Outbox::retry_failed(storage::WriteTxn& txn, std::uint64_t id,
                                           std::int64_t now_ms) {
  std::vector<std::uint64_t> ids;
  if (id != 0) {
    ids.push_back(id);
  } else {
    auto r = txn.scan(failed_, "", [&](std::string_view key, std::string_view) {
      ids.push_back(storage::decode_u64(key));
      return true;
    });
    if (!r) return std::unexpected(from_storage(r.error()));
  }
  std::uint64_t moved = 0;
  for (std::uint64_t i : ids) {
    auto entry = read_entry(txn, failed_, i);
    if (!entry) {
      if (id != 0) return std::unexpected(entry.error());
      continue;
    }
    (*entry)["status"] = "pending";
    (*entry)["attempts"] = 0;
    (*entry)["next_attempt_ms"] = now_ms;
    entry->erase("failed_at_ms");
    if (auto r = txn.del(failed_, id_key(i)); !r) return std::unexpected(from_storage(r.error()));
    if (auto r = put(txn, pending_, i, *entry); !r) return std::unexpected(r.error());
    ++moved;
  }
  return moved;
}

Result<Outbox::Due> Outbox::due(std::int64_t now_ms, std::size_t max) const {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  Due out;
  auto r = txn->scan(pending_, "", [&](std::string_view, std::string_view value) {
    json entry = json::parse(value, nullptr, false);
    if (entry.is_discarded() || !entry.is_object()) return true;
    const std::int64_t next = entry.value("next_attempt_ms", std::int64_t{0});
    if (next <= now_ms) {
      if (out.messages.size() == max) {
        out.next_due_ms = now_ms;  // more are due than this batch takes
        return false;
      }
      out.messages.push_back(std::move(entry));
    } else if (!out.next_due_ms || next < *out.next_due_ms) {
      out.next_due_ms = next;
    }
    return true;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return out;
}

Result<OutboxCounts> Outbox::counts() const {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  auto pending = entries(*txn, pending_);
  if (!pending) return std::unexpected(pending.error());
  auto failed = entries(*txn, failed_);
  if (!failed) return std::unexpected(failed.error());
  return OutboxCounts{*pending, *failed};
}

Result<std::vector<json>> Outbox::list(bool failed, std::size_t max) const {
  auto txn = env_->begin_read();
  if (!txn) return std::unexpected(from_storage(txn.error()));
  std::vector<json> out;
  auto r = txn->scan(failed ? failed_ : pending_, "", [&](std::string_view, std::string_view v) {
    json entry = json::parse(v, nullptr, false);
    if (!entry.is_discarded()) out.push_back(std::move(entry));
    return out.size() < max;
  });
  if (!r) return std::unexpected(from_storage(r.error()));
  return out;
}

std::optional<json> Outbox::find(std::uint64_t id) const {
  auto txn = env_->begin_read();
  if (!txn) return std::nullopt;
  if (auto e = read_entry(*txn, pending_, id)) return *e;
  if (auto e = read_entry(*txn, failed_, id)) return *e;
  return std::nullopt;
}

}  // namespace tawasul::node
