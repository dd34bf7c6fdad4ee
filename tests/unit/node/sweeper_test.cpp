// The SLA sweeper and the escalation ladder (node/sweeper.hpp, node/SLA.md):
// the due index kept by the fold, breaches escalated exactly once up the org
// tree to the hand-off to the hub, vacant levels skipped, paused clocks left
// alone, and a crash between detection and commit that escalates nothing
// twice after a restart. Real LMDB in a TempDir, a FakeClock, the real
// writer; no sleeps.
#include <catch2/catch.hpp>

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/envelope.hpp"
#include "node/calendar.hpp"
#include "node/cases.hpp"
#include "node/clock.hpp"
#include "node/failpoint.hpp"
#include "node/sweeper.hpp"
#include "node/time_util.hpp"
#include "node/workflow.hpp"
#include "node/writer.hpp"
#include "node_test_util.hpp"
#include "test_support.hpp"

namespace {

namespace node = tawasul::node;
namespace storage = tawasul::storage;
using namespace tawasul::node::testing;
using nlohmann::json;
using node::CaseAction;
using tawasul::test::TempDir;

constexpr std::int64_t kStart = 1'793'512'800'000;  // 2026-11-01T06:00:00Z, a Sunday
constexpr std::int64_t kForever = std::numeric_limits<std::int64_t>::max();

json label(const char* ar, const char* en) {
  return json{{"ar", ar}, {"en", en}};
}

// KSU (the president) > KSU.SA (the dean) > KSU.SA.FIN (its head); with
// `vacant_sa`, Student Affairs names no head at all.
json tree_document(bool vacant_sa = false, bool final_root = false) {
  json sa{{"id", "KSU.SA"},
          {"parent", "KSU"},
          {"name", label("عمادة شؤون الطلاب", "Deanship of Student Affairs")}};
  if (!vacant_sa) {
    sa["head_title"] = label("عميد شؤون الطلاب", "Dean of Student Affairs");
    sa["head"] = "dean.sa";
  }
  json ksu{{"id", "KSU"},
           {"name", label("جامعة الملك سعود", "King Saud University")},
           {"head_title", label("مدير الجامعة", "University President")},
           {"head", "president"}};
  if (final_root) ksu["final"] = true;
  json fin{{"id", "KSU.SA.FIN"},
           {"parent", "KSU.SA"},
           {"name", label("الشؤون المالية للطلاب", "Student Financial Affairs")},
           {"head_title", label("مدير الشؤون المالية", "Director of Financial Affairs")},
           {"head", "fin.head"}};
  json stipend{{"id", "stipend"},
               {"name", label("المكافأة الشهرية", "Monthly stipend")},
               {"unit", "KSU.SA.FIN"},
               {"default_type", "complaint"}};
  json doc = json::object();
  doc["version"] = 1;
  doc["units"] = json::array({ksu, sa, fin});
  doc["services"] = json::array({stipend});
  return doc;
}

struct Site {
  TempDir dir{"sweeper"};
  node::Identity id;
  std::unique_ptr<node::NodeStore> store;
  std::unique_ptr<node::Writer> writer;
  node::FakeClock clock{kStart};
  node::SweeperOptions options;

  explicit Site(bool vacant_sa = false, bool final_root = false) {
    init_crypto();
    id = make_identity(dir.path(), node::Role::kNode, "KSU");
    open();
    auto tree = node::OrgTree::parse(tree_document(vacant_sa, final_root));
    REQUIRE(tree);
    REQUIRE(in_write<bool>(*store, [&](storage::WriteTxn& txn) -> node::Result<bool> {
      auto r = store->set_org_tree(txn, *tree, clock.now_ms());
      if (!r) return std::unexpected(r.error());
      return true;
    }));
  }
  ~Site() { close(); }

  void open() {
    store = open_store(dir.path(), id);
    writer = std::make_unique<node::Writer>(store->env());
    writer->start();
  }
  // As a process ending: the writer stops, the environment is closed.
  void close() {
    if (writer) writer->stop();
    writer.reset();
    store.reset();
  }

  node::SweepRound sweep() {
    node::Sweeper sweeper(*store, *writer, clock, options, {});
    return sweeper.run_once(clock.now_ms());
  }

  std::string file_routed() {
    node::FilingRequest request = sample_request();
    request.service = "stipend";
    request.route_unit = "KSU.SA.FIN";
    return file_ok(*store, request, clock.now_ms())["tracking_number"];
  }
  node::Result<json> act(const std::string& tn, CaseAction action, const json& fields,
                         const std::string& by = "emp") {
    return in_write<json>(*store, [&](storage::WriteTxn& txn) {
      return store->act_on_case(txn, tn, action, by, fields, clock.now_ms());
    });
  }
  json act_ok(const std::string& tn, CaseAction action, const json& fields) {
    auto r = act(tn, action, fields);
    if (!r) FAIL(node::action_name(action) << " failed: " << r.error().message);
    return *r;
  }
  json state(const std::string& tn) {
    // The stored view, as the fold wrote it.
    json out;
    REQUIRE(store->scan_cases([&](const json& s) {
      if (s["tracking_number"] == tn) out = s;
      return true;
    }));
    return out;
  }
  // Every event of the node's chain: (kind, payload).
  std::vector<std::pair<std::string, json>> events() {
    std::vector<std::pair<std::string, json>> out;
    const auto all = store->read_events(id.code, 1, 100000, 1u << 30).value();
    for (const auto& bytes : all) {
      auto e = tawasul::crypto::decode_envelope(bytes);
      REQUIRE(e);
      out.emplace_back(e->kind, json::parse(e->payload));
    }
    return out;
  }
  std::vector<std::string> kinds() {
    std::vector<std::string> out;
    for (const auto& [kind, payload] : events()) out.push_back(kind);
    return out;
  }
  std::vector<node::NodeStore::DueEntry> due_entries() {
    return store->due(kForever, 1000).value();
  }
  std::int64_t after_working_days(std::int64_t from, int days) {
    return store->calendar()->add_working_days(from, days);
  }
  // When a deadline set at `start` is warned of: after 80 % of its working time.
  std::int64_t warn_for(std::int64_t start, std::int64_t due) {
    const auto cal = store->calendar();
    return cal->add_working_ms(start, cal->working_ms_between(start, due) * 80 / 100);
  }
};

std::size_t count_kind(const std::vector<std::string>& kinds, const std::string& kind) {
  return static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), kind));
}

}  // namespace

TEST_CASE("the due index follows each case's running deadline, kept by the fold",
          "[sweeper][store]") {
  Site site;
  const std::string tn = site.file_routed();
  const std::int64_t due = site.state(tn)["due_at_ms"];
  CHECK(due == site.after_working_days(kStart, 5));
  CHECK(site.state(tn)["level"] == 0);
  CHECK(site.state(tn)["sla"]["level_working_days"] == 3);
  // First the warning, at 80 % of the working time to the deadline.
  const std::int64_t warn = site.state(tn)["warn_at_ms"];
  CHECK(warn == site.warn_for(kStart, due));
  CHECK(warn < due);
  auto entries = site.due_entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].due_ms == warn);
  CHECK(entries[0].tracking_number == tn);
  CHECK(entries[0].kind == "warning");
  CHECK(site.store->due(warn - 1, 10).value().empty());
  CHECK(site.store->next_due().value() == warn);

  // Once warned, the deadline itself.
  site.clock.set(warn);
  CHECK(site.sweep().warned == 1);
  entries = site.due_entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].due_ms == due);
  CHECK(entries[0].kind == "answer");
  CHECK(site.store->due(due - 1, 10).value().empty());
  CHECK(site.store->next_due().value() == due);

  // An answered case's key moves to the end of its objection window; a
  // closed case leaves the index.
  site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
  CHECK(site.due_entries().size() == 1);
  site.act_ok(tn, CaseAction::kAnswer, {{"answer", "تم صرف المكافأة"}});
  const std::int64_t window = site.state(tn)["objection_deadline_ms"];
  CHECK(window == site.after_working_days(warn, 10));  // answered at the warning
  entries = site.due_entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].due_ms == window);
  CHECK(entries[0].kind == "objection_window");
  site.act_ok(tn, CaseAction::kClose, {{"reason", "accepted"}});
  CHECK(site.due_entries().empty());
  CHECK_FALSE(site.store->next_due().value().has_value());
}

TEST_CASE("breaches climb the ladder one level at a time, up to the hand-off to the hub",
          "[concurrency][sweeper][store]") {
  Site site;
  const std::string tn = site.file_routed();
  site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
  const std::int64_t due0 = site.state(tn)["due_at_ms"];

  // Not yet due: only the warning.
  site.clock.set(due0 - 1);
  auto round = site.sweep();
  CHECK(round.escalated == 0);
  CHECK(round.warned == 1);
  CHECK(round.next_due_ms == due0);

  // Level 1: the head of the case's own unit.
  site.clock.set(due0 + 1);
  round = site.sweep();
  CHECK(round.escalated == 1);
  const std::int64_t due1 = site.after_working_days(due0 + 1, 3);
  auto events = site.events();
  REQUIRE(events.back().first == "case.escalated");
  CHECK(events.back().second ==
        json{{"tracking_number", tn},
             {"by", "system"},
             {"level", 1},
             {"unit", "KSU.SA.FIN"},
             {"assignee", "fin.head"},
             {"level_name", label("الشؤون المالية للطلاب", "Student Financial Affairs")},
             {"reason", "sla_breach"},
             {"breached_due_ms", due0},
             {"due_at_ms", due1},
             {"warn_at_ms", site.warn_for(due0 + 1, due1)}});
  json s = site.state(tn);
  CHECK(s["status"] == "assigned");
  CHECK(s["level"] == 1);
  CHECK(s["level_unit"] == "KSU.SA.FIN");
  CHECK(s["assignee"] == "fin.head");
  CHECK(s["due_at_ms"] == due1);
  // The new level has its own warning (the last one is cleared).
  CHECK_FALSE(s.contains("sla_warned"));
  REQUIRE(site.due_entries().size() == 1);
  CHECK(site.due_entries()[0].due_ms == site.warn_for(due0 + 1, due1));
  CHECK(site.due_entries()[0].kind == "warning");

  // The same instant again: the breach is already escalated.
  round = site.sweep();
  CHECK(round.escalated == 0);
  CHECK(count_kind(site.kinds(), "case.escalated") == 1);

  // Level 2: the dean of Student Affairs, after the level's three working days.
  site.clock.set(due1 + 1);
  CHECK(site.sweep().escalated == 1);
  s = site.state(tn);
  CHECK(s["level"] == 2);
  CHECK(s["unit"] == "KSU.SA");
  CHECK(s["assignee"] == "dean.sa");
  const std::int64_t due2 = s["due_at_ms"];
  CHECK(due2 == site.after_working_days(due1 + 1, 3));

  // Level 3: the president, the sector head.
  site.clock.set(due2 + 1);
  CHECK(site.sweep().escalated == 1);
  s = site.state(tn);
  CHECK(s["level"] == 3);
  CHECK(s["unit"] == "KSU");
  CHECK(s["assignee"] == "president");
  const std::int64_t due3 = s["due_at_ms"];

  // Above the sector head: handed to the hub, and the node stops escalating.
  site.clock.set(due3 + 1);
  round = site.sweep();
  CHECK(round.handed_to_hub == 1);
  events = site.events();
  CHECK(events.back().second == json{{"tracking_number", tn},
                                     {"by", "system"},
                                     {"level", 4},
                                     {"reason", "sla_breach"},
                                     {"breached_due_ms", due3}});
  CHECK(site.due_entries().empty());
  site.clock.set(due3 + 30LL * 24 * 3600 * 1000);
  round = site.sweep();
  CHECK(round.escalated + round.handed_to_hub == 0);

  // Each level's warning came due after its deadline had passed too (the
  // clock jumped): the sweeper escalated at once rather than warn late.
  CHECK(site.kinds() == std::vector<std::string>{"case.filed", "case.assigned", "case.started",
                                                 "case.sla_warned", "case.escalated",
                                                 "case.escalated", "case.escalated",
                                                 "case.handed_to_hub"});

  // Every step is the beneficiary's to see, with the level's name.
  auto view = site.store->lookup_case(tn, "").error();  // (no code: not found)
  CHECK(view.status == 404);
  json history = node::public_case_view(site.state(tn))["history"];
  std::vector<json> names;
  for (const auto& h : history) {
    if (h["event"] == "escalate" || h["event"] == "handed_to_hub") names.push_back(h["level_name"]);
  }
  CHECK(names == std::vector<json>{label("الشؤون المالية للطلاب", "Student Financial Affairs"),
                                   label("عمادة شؤون الطلاب", "Deanship of Student Affairs"),
                                   label("جامعة الملك سعود", "King Saud University"),
                                   label("وزارة التعليم", "Ministry of Education")});
  CHECK(history.dump().find("fin.head") == std::string::npos);  // no staff identity

  // And each one queued a message.
  std::vector<json> escalated;
  const auto messages = site.store->outbox().list(false, 1000).value();
  for (const auto& m : messages) {
    if (m["kind"] == "escalated") escalated.push_back(m);
  }
  REQUIRE(escalated.size() == 4);
  CHECK(escalated[0]["text"]["ar"] ==
        "تم رفع طلبك رقم " + tn + " إلى الشؤون المالية للطلاب لتأخر الرد عليه");
  CHECK(escalated[0]["text"]["en"] == "Your case " + tn +
                                          " has been escalated to Student Financial Affairs "
                                          "because its answer was late");
  CHECK(site.store->verify().has_value());
}

TEST_CASE("a vacant level is skipped", "[sweeper][store]") {
  Site site(/*vacant_sa=*/true);
  const std::string tn = site.file_routed();
  site.clock.set(site.state(tn)["due_at_ms"].get<std::int64_t>() + 1);
  CHECK(site.sweep().escalated == 1);
  CHECK(site.state(tn)["level"] == 1);
  site.clock.set(site.state(tn)["due_at_ms"].get<std::int64_t>() + 1);
  CHECK(site.sweep().escalated == 1);
  json s = site.state(tn);
  CHECK(s["level"] == 3);  // level 2, Student Affairs, has no head
  CHECK(s["unit"] == "KSU");
  CHECK(s["assignee"] == "president");
  site.clock.set(s["due_at_ms"].get<std::int64_t>() + 1);
  CHECK(site.sweep().handed_to_hub == 1);
  CHECK(site.events().back().second["level"] == 4);
  CHECK(site.kinds() == std::vector<std::string>{"case.filed", "case.assigned", "case.escalated",
                                                 "case.escalated", "case.handed_to_hub"});
}

TEST_CASE("a paused clock is not escalated, and the reply puts the resumed deadline back",
          "[sweeper][store]") {
  Site site;
  const std::string tn = site.file_routed();
  site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
  const std::int64_t due0 = site.state(tn)["due_at_ms"];
  site.clock.set(site.after_working_days(kStart, 2));
  site.act_ok(tn, CaseAction::kRequestInfo, {{"question", "ما رقمك الجامعي؟"}});
  CHECK(site.due_entries().empty());

  site.clock.set(due0 + 10LL * 24 * 3600 * 1000);
  auto round = site.sweep();
  CHECK(round.escalated == 0);
  CHECK(count_kind(site.kinds(), "case.escalated") == 0);

  auto replied = site.act(tn, CaseAction::kProvideInfo, {{"reply", "441234567"}}, "beneficiary");
  REQUIRE(replied);
  const std::int64_t resumed = site.state(tn)["due_at_ms"];
  CHECK(resumed > site.clock.now_ms());
  // The warning not given before the pause keeps its share of the time: it
  // was due 3 working days after the pause's 2 (80 % of 5), so it now comes
  // 2 working days after the reply, and the deadline 3.
  const std::int64_t warn = site.state(tn)["warn_at_ms"];
  CHECK(warn == site.store->calendar()->add_working_ms(
                    site.clock.now_ms(),
                    site.store->calendar()->working_ms_between(site.after_working_days(kStart, 2),
                                                               site.warn_for(kStart, due0))));
  CHECK(resumed == site.store->calendar()->add_working_ms(
                       site.clock.now_ms(), site.store->calendar()->working_ms_between(
                                                site.after_working_days(kStart, 2), due0)));
  auto entries = site.due_entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].due_ms == warn);
  CHECK(entries[0].kind == "warning");
  CHECK(entries[0].tracking_number == tn);
  CHECK(site.sweep().escalated == 0);
  site.clock.set(resumed + 1);
  CHECK(site.sweep().escalated == 1);
}

TEST_CASE("a crash between breach detection and commit escalates once after the restart",
          "[concurrency][sweeper][store][crash]") {
  Site site;
  const std::string tn = site.file_routed();
  const std::int64_t due0 = site.state(tn)["due_at_ms"];
  const auto head_before = site.store->head("KSU").value();
  site.clock.set(due0 + 1);

  // The escalation is appended in the transaction, then the "crash": the
  // command fails before the commit and the transaction is rolled back.
  int crashes = 0;
  site.options.before_commit = [&](std::string_view crashed) -> node::Result<void> {
    CHECK(crashed == tn);
    ++crashes;
    return std::unexpected(node::Error::internal("injected crash before commit"));
  };
  auto round = site.sweep();
  CHECK(crashes == 1);
  CHECK(round.failed == 1);
  CHECK(round.escalated == 0);
  CHECK(site.store->head("KSU").value() == head_before);

  // Restart: the store is closed and opened again from its directory.
  site.close();
  site.options.before_commit = {};
  site.open();
  CHECK(site.store->head("KSU").value() == head_before);  // read back from disk
  // The key is still there to be handled: the deadline's warning, never
  // given, which the sweeper turns into the escalation when the deadline
  // has passed too.
  auto entries = site.due_entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].due_ms == site.warn_for(kStart, due0));
  CHECK(entries[0].kind == "warning");

  round = site.sweep();
  CHECK(round.escalated == 1);
  round = site.sweep();
  CHECK(round.escalated == 0);
  site.close();
  site.open();
  CHECK(site.sweep().escalated == 0);
  CHECK(count_kind(site.kinds(), "case.escalated") == 1);
  CHECK(site.events().back().second["breached_due_ms"] == due0);
  CHECK(site.store->verify().has_value());
}

TEST_CASE("the fold refuses a replayed breach, and escalations of closed or waiting cases",
          "[sweeper][store]") {
  Site site;
  const std::string tn = site.file_routed();
  site.clock.set(site.state(tn)["due_at_ms"].get<std::int64_t>() + 1);
  REQUIRE(site.sweep().escalated == 1);
  const json breach = site.events().back().second;
  const auto head = site.store->head("KSU").value();

  // The same breach event once more: its deadline is no longer the case's.
  auto replayed = in_write<std::uint64_t>(*site.store, [&](storage::WriteTxn& txn) {
    return site.store->append_local(txn, "case.escalated", breach, site.clock.now_ms());
  });
  REQUIRE_FALSE(replayed);
  CHECK(replayed.error().code == "stale_breach");
  CHECK(site.store->head("KSU").value() == head);

  // The sweeper's command for a key that has moved on does nothing.
  auto stale = in_write<json>(*site.store, [&](storage::WriteTxn& txn) {
    return site.store->escalate_breach(txn, tn, breach["breached_due_ms"].get<std::int64_t>(),
                                       site.clock.now_ms());
  });
  REQUIRE(stale);
  CHECK((*stale)["outcome"] == "stale");
  CHECK(site.store->head("KSU").value() == head);

  // Waiting for the beneficiary, answered, closed: no escalation.
  site.act_ok(tn, CaseAction::kStart, {{"assignee", "fin.head"}});
  site.act_ok(tn, CaseAction::kRequestInfo, {{"question", "ما رقمك الجامعي؟"}});
  auto waiting = site.act(tn, CaseAction::kEscalate, {{"reason", "تأخر"}});
  REQUIRE_FALSE(waiting);
  CHECK(waiting.error().status == 409);
  site.act_ok(tn, CaseAction::kProvideInfo, {{"reply", "441234567"}});
  site.act_ok(tn, CaseAction::kAnswer, {{"answer", "تم الصرف"}});
  auto answered = site.act(tn, CaseAction::kEscalate, {{"reason", "تأخر"}});
  REQUIRE_FALSE(answered);
  CHECK(answered.error().code == "transition_not_allowed");
  CHECK(site.store->verify().has_value());
}

TEST_CASE("staff escalate by hand with a reason, and the beneficiary is told", "[sweeper][store]") {
  Site site;
  const std::string tn = site.file_routed();
  site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
  site.clock.advance(3600 * 1000);
  auto missing = site.act(tn, CaseAction::kEscalate, json::object());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().field == "reason");

  json view = site.act_ok(tn, CaseAction::kEscalate, {{"reason", "يحتاج قرارًا من مدير الإدارة"}});
  CHECK(view["status"] == "assigned");
  CHECK(view["level"] == 1);
  const json event = site.events().back().second;
  CHECK(event["by"] == "emp");
  CHECK(event["reason"] == "يحتاج قرارًا من مدير الإدارة");
  CHECK_FALSE(event.contains("breached_due_ms"));
  CHECK(event["due_at_ms"] == site.after_working_days(site.clock.now_ms(), 3));
  CHECK(site.state(tn)["assignee"] == "fin.head");
  const json message = site.store->outbox().list(false, 1000).value().back();
  CHECK(message["kind"] == "escalated");
  CHECK(message["text"]["ar"] == "تم رفع طلبك رقم " + tn + " إلى الشؤون المالية للطلاب لمتابعته");

  // Up to the sector head by hand, then the hand-off; nothing above it.
  site.act_ok(tn, CaseAction::kEscalate, {{"reason", "ثانيًا"}});
  site.act_ok(tn, CaseAction::kEscalate, {{"reason", "ثالثًا"}});
  CHECK(site.state(tn)["assignee"] == "president");
  site.act_ok(tn, CaseAction::kEscalate, {{"reason", "إلى الوزارة"}});
  CHECK(site.kinds().back() == "case.handed_to_hub");
  CHECK(site.due_entries().empty());
  auto again = site.act(tn, CaseAction::kEscalate, {{"reason", "مرة أخرى"}});
  REQUIRE_FALSE(again);
  CHECK(again.error().code == "handed_to_hub");
}

TEST_CASE("the sweeper closes an answer once its objection window ends, and invites the survey",
          "[sweeper][store]") {
  Site site;
  const std::string tn = site.file_routed();
  site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
  site.act_ok(tn, CaseAction::kAnswer, {{"answer", "تم صرف المكافأة"}});
  const std::int64_t window = site.state(tn)["objection_deadline_ms"];

  // One millisecond before the end of the window the case stays answered;
  // the beneficiary may still object then.
  site.clock.set(window - 1);
  auto round = site.sweep();
  CHECK(round.closed == 0);
  CHECK(site.state(tn)["status"] == "answered");

  // At the end of the window: closed by the system, exactly once.
  site.clock.set(window);
  round = site.sweep();
  CHECK(round.closed == 1);
  CHECK(round.escalated == 0);
  CHECK(site.state(tn)["status"] == "closed");
  const auto [kind, payload] = site.events().back();
  CHECK(kind == "case.closed");
  CHECK(payload["by"] == "system");
  CHECK(payload["reason"] == "objection_window_ended");
  CHECK(site.sweep().closed == 0);
  CHECK(site.due_entries().empty());
  CHECK(count_kind(site.kinds(), "case.closed") == 1);

  // The beneficiary hears that the case closed, then gets the survey invitation.
  const auto pending = site.store->outbox().list(false, 1000).value();
  REQUIRE(pending.size() >= 2);
  CHECK(pending[pending.size() - 2]["kind"] == "closed");
  CHECK(pending[pending.size() - 2]["text"]["en"] ==
        "The time to object to the answer on your case " + tn +
            " has ended and the case is closed. Thank you for contacting us.");
  CHECK(pending.back()["kind"] == "survey");
  CHECK(pending.back()["event"] == "case.closed");

  // An objection now is refused: the window is over.
  auto late = site.act(tn, CaseAction::kObject, {{"reason", "لم يصلني المبلغ"}}, "beneficiary");
  REQUIRE_FALSE(late);
  CHECK(late.error().status == 409);
}

TEST_CASE("an objection inside the window keeps the case open, and a crash does not close twice",
          "[sweeper][store][crash]") {
  Site site;
  const std::string tn = site.file_routed();
  site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
  site.act_ok(tn, CaseAction::kAnswer, {{"answer", "تم صرف المكافأة"}});
  const std::int64_t window = site.state(tn)["objection_deadline_ms"];

  SECTION("an objection at the last moment moves the key to the review's deadline") {
    site.clock.set(window - 1);
    REQUIRE(site.act(tn, CaseAction::kObject, {{"reason", "لم يصلني المبلغ"}}, "beneficiary"));
    site.clock.set(window);
    CHECK(site.sweep().closed == 0);
    CHECK(site.state(tn)["status"] == "objection_review");
    auto entries = site.due_entries();
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].kind == "warning");  // the review's own warning comes first
    CHECK(entries[0].due_ms == site.state(tn)["warn_at_ms"]);
    CHECK(site.state(tn)["warn_at_ms"] == site.warn_for(window - 1, site.state(tn)["due_at_ms"]));
  }
  SECTION("a crash before the commit closes nothing, and the restart closes once") {
    const auto head_before = site.store->head("KSU").value();
    site.clock.set(window + 1);
    site.options.before_commit = [](std::string_view) -> node::Result<void> {
      return std::unexpected(node::Error::internal("injected crash before commit"));
    };
    auto round = site.sweep();
    CHECK(round.failed == 1);
    CHECK(round.closed == 0);
    site.close();
    site.options.before_commit = {};
    site.open();
    CHECK(site.store->head("KSU").value() == head_before);
    CHECK(site.state(tn)["status"] == "answered");
    CHECK(site.sweep().closed == 1);
    CHECK(site.sweep().closed == 0);
    CHECK(count_kind(site.kinds(), "case.closed") == 1);
    CHECK(site.store->verify().has_value());
  }
}

// The scenario (issue 4, "Done when"): one case, on a fake clock,
// from filing through two breaches and two objections up the ladder of the
// Site's tree — Student Financial Affairs (its director) > Student Affairs
// (the dean) > the university (the president, head of the sector) — and on
// to the ministry. The whole event sequence is asserted, payload by payload.
TEST_CASE("one case through two breaches and two objections, up to the sector head and beyond",
          "[sweeper][store][scenario]") {
  Site site;
  const std::string tn = site.file_routed();  // filed and routed to KSU.SA.FIN
  const json sla = site.state(tn)["sla"];
  CHECK(sla["answer_working_days"] == 5);
  CHECK(sla["level_working_days"] == 3);
  CHECK(sla["objection_working_days"] == 10);
  const std::int64_t due0 = site.state(tn)["due_at_ms"];
  CHECK(due0 == site.after_working_days(kStart, 5));

  // Breach 1: nobody answered within five working days; the director of the
  // case's unit (level 1) holds it now.
  site.clock.set(due0);
  CHECK(site.sweep().escalated == 1);
  const std::int64_t t1 = due0;
  const std::int64_t due1 = site.after_working_days(t1, 3);

  // The director answers on the next working day.
  site.clock.set(site.after_working_days(t1, 1));
  const std::int64_t t_answer = site.clock.now_ms();
  REQUIRE(site.act(tn, CaseAction::kStart, {{"assignee", "fin.head"}}, "fin.head"));
  REQUIRE(site.act(tn, CaseAction::kAnswer, {{"answer", "صرفت المكافأة"}}, "fin.head"));
  const std::int64_t window1 = site.after_working_days(t_answer, 10);
  CHECK(site.state(tn)["objection_deadline_ms"] == window1);

  // Objection 1, two days later: one level higher — the dean of Student
  // Affairs — with the level's three working days.
  site.clock.set(site.after_working_days(t_answer, 2));
  const std::int64_t t_obj1 = site.clock.now_ms();
  REQUIRE(site.act(tn, CaseAction::kObject, {{"reason", "لم يصلني المبلغ"}}, "beneficiary"));
  const std::int64_t due2 = site.after_working_days(t_obj1, 3);
  json s = site.state(tn);
  CHECK(s["status"] == "objection_review");
  CHECK(s["unit"] == "KSU.SA");
  CHECK(s["assignee"] == "dean.sa");
  CHECK(s["objections"][0]["answer_by"] == "fin.head");

  // Breach 2: the dean lets the review run late; it climbs to the
  // president, head of the sector (level 3), and stays a review.
  site.clock.set(due2);
  CHECK(site.sweep().escalated == 1);
  const std::int64_t due3 = site.after_working_days(due2, 3);
  CHECK(site.state(tn)["status"] == "objection_review");

  // The author of the answer may not decide the objection to it.
  auto own = site.act(tn, CaseAction::kDecideObjection,
                      {{"outcome", "rejected"}, {"answer", "الرد صحيح"}}, "fin.head");
  REQUIRE_FALSE(own);
  CHECK(own.error().status == 403);
  CHECK(own.error().code == "same_reviewer");

  // The president decides: partly upheld — an answer with a new window.
  site.clock.set(site.after_working_days(due2, 1));
  const std::int64_t t_decide = site.clock.now_ms();
  REQUIRE(site.act(tn, CaseAction::kDecideObjection,
                   {{"outcome", "partly_upheld"}, {"answer", "يصرف الفرق خلال أسبوع"}},
                   "president"));
  const std::int64_t window2 = site.after_working_days(t_decide, 10);
  CHECK(site.state(tn)["status"] == "answered");

  // Objection 2, to the sector head's decision: above the sector, so the
  // review is handed to the ministry in the same commit.
  site.clock.set(site.after_working_days(t_decide, 3));
  const std::int64_t t_obj2 = site.clock.now_ms();
  REQUIRE(site.act(tn, CaseAction::kObject, {{"reason", "لم يصرف الفرق"}}, "beneficiary"));
  const std::int64_t due4 = site.after_working_days(t_obj2, 3);

  // Nothing is left for the node's sweeper: the case is the hub's now.
  site.clock.set(due4 + 30LL * 24 * 3600 * 1000);
  auto round = site.sweep();
  CHECK(round.escalated == 0);
  CHECK(round.closed == 0);
  CHECK(site.due_entries().empty());

  // The exact sequence, with every payload.
  const json dir_name = label("الشؤون المالية للطلاب", "Student Financial Affairs");
  const json dean_name = label("عمادة شؤون الطلاب", "Deanship of Student Affairs");
  const json ksu_name = label("جامعة الملك سعود", "King Saud University");
  const auto events = site.events();
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.push_back(e.first);
  CHECK(kinds == std::vector<std::string>{"case.filed", "case.assigned", "case.escalated",
                                          "case.started", "case.answered", "case.objected",
                                          "case.escalated", "case.objection_decided",
                                          "case.objected", "case.handed_to_hub"});
  REQUIRE(events.size() == 10);
  CHECK(events[1].second ==
        json{{"tracking_number", tn}, {"by", "system"}, {"unit", "KSU.SA.FIN"}});
  CHECK(events[2].second == json{{"tracking_number", tn},
                                 {"by", "system"},
                                 {"level", 1},
                                 {"unit", "KSU.SA.FIN"},
                                 {"assignee", "fin.head"},
                                 {"level_name", dir_name},
                                 {"reason", "sla_breach"},
                                 {"breached_due_ms", due0},
                                 {"due_at_ms", due1},
                                 {"warn_at_ms", site.warn_for(t1, due1)}});
  CHECK(events[3].second ==
        json{{"tracking_number", tn}, {"by", "fin.head"}, {"assignee", "fin.head"}});
  CHECK(events[4].second == json{{"tracking_number", tn},
                                 {"by", "fin.head"},
                                 {"answer", "صرفت المكافأة"},
                                 {"objection_deadline_ms", window1}});
  CHECK(events[5].second == json{{"tracking_number", tn},
                                 {"by", "beneficiary"},
                                 {"reason", "لم يصلني المبلغ"},
                                 {"objection", 1},
                                 {"level", 2},
                                 {"unit", "KSU.SA"},
                                 {"assignee", "dean.sa"},
                                 {"level_name", dean_name},
                                 {"due_at_ms", due2},
                                 {"warn_at_ms", site.warn_for(t_obj1, due2)}});
  CHECK(events[6].second == json{{"tracking_number", tn},
                                 {"by", "system"},
                                 {"level", 3},
                                 {"unit", "KSU"},
                                 {"assignee", "president"},
                                 {"level_name", ksu_name},
                                 {"reason", "sla_breach"},
                                 {"breached_due_ms", due2},
                                 {"due_at_ms", due3},
                                 {"warn_at_ms", site.warn_for(due2, due3)}});
  CHECK(events[7].second == json{{"tracking_number", tn},
                                 {"by", "president"},
                                 {"outcome", "partly_upheld"},
                                 {"answer", "يصرف الفرق خلال أسبوع"},
                                 {"objection_deadline_ms", window2}});
  CHECK(events[8].second == json{{"tracking_number", tn},
                                 {"by", "beneficiary"},
                                 {"reason", "لم يصرف الفرق"},
                                 {"objection", 2},
                                 {"level", 4},
                                 {"due_at_ms", due4}});
  CHECK(events[9].second == json{{"tracking_number", tn},
                                 {"by", "system"},
                                 {"level", 4},
                                 {"reason", "objection_above_sector"}});

  // What the beneficiary sees: each step with its level's name in Arabic
  // and English, and the deadline it set in both calendars.
  const json view = node::public_case_view(site.state(tn));
  std::vector<std::string> seen;
  for (const auto& h : view["history"]) seen.push_back(h["event"]);
  CHECK(seen == std::vector<std::string>{"filed", "assign", "escalate", "start", "answer", "object",
                                         "escalate", "decide_objection", "object",
                                         "handed_to_hub"});
  const json& escalated = view["history"][2];
  CHECK(escalated["level_name"] == dir_name);
  CHECK(escalated["due_at"] == node::iso8601_utc(due1));
  CHECK(escalated["due_at_hijri"] == node::hijri_json(due1));
  CHECK(view["history"][5]["level_name"] == dean_name);
  CHECK(view["history"][6]["level_name"] == ksu_name);
  CHECK(view["history"][9]["level_name"] == label("وزارة التعليم", "Ministry of Education"));
  REQUIRE(view["objections"].size() == 2);
  CHECK(view["objections"][0]["outcome"] == "partly_upheld");
  CHECK(site.store->verify().has_value());
}

TEST_CASE("TAWASUL_FAILPOINT arms known points and refuses anything else", "[sweeper][failpoint]") {
  auto none = node::parse_failpoints("");
  REQUIRE(none);
  CHECK_FALSE(none->any());
  CHECK_FALSE(static_cast<bool>(node::sweeper_before_commit(*none)));

  auto kill = node::parse_failpoints("sweeper.before_commit:kill");
  REQUIRE(kill);
  CHECK(kill->sweeper_before_commit_kill);
  CHECK(kill->describe() == "sweeper.before_commit:kill");
  CHECK(static_cast<bool>(
      node::sweeper_before_commit(*kill)));  // not called here: it would kill the test

  for (const char* bad :
       {"sweeper.before_commit", "sweeper.after_commit:kill", "sweeper.before_commit:panic",
        "sweeper.before_commit:kill,", ":kill", "sweeper.before_commit:"}) {
    auto r = node::parse_failpoints(bad);
    INFO(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "bad_failpoint");
    CHECK(r.error().message.find("TAWASUL_FAILPOINT") != std::string::npos);
  }
}

TEST_CASE("parse_iso8601 reads instants with a zone and refuses the rest", "[sweeper][time]") {
  CHECK(node::parse_iso8601("2026-11-01T06:00:00Z") == kStart);
  CHECK(node::parse_iso8601("2026-11-01T09:00:00+03:00") == kStart);
  CHECK(node::parse_iso8601("2026-11-01T06:00:00.5Z") == kStart + 500);
  CHECK(node::parse_iso8601("2026-11-01T06:00:00.123Z") == kStart + 123);
  CHECK(node::iso8601_utc(*node::parse_iso8601("2028-02-29T23:59:59Z")) == "2028-02-29T23:59:59Z");
  for (const char* bad :
       {"", "2026-11-01", "2026-11-01T06:00:00", "2026-11-01T06:00Z", "2026-02-29T06:00:00Z",
        "2026-13-01T06:00:00Z", "2026-11-01T24:00:00Z", "1899-12-31T23:59:59Z",
        "2026-11-01T06:00:00.Z", "2026-11-01T06:00:00.1234Z", "2026-11-01T06:00:00Zjunk",
        "2026-11-01 06:00:00Z", "2026-11-01T06:00:00+3:00"}) {
    INFO(bad);
    CHECK_FALSE(node::parse_iso8601(bad));
  }
}

TEST_CASE("near its deadline a case is warned once, to its assignee and its unit head",
          "[concurrency][sweeper][store][warning]") {
  Site site;
  const std::string tn = site.file_routed();
  site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
  const std::int64_t due = site.state(tn)["due_at_ms"];
  const std::int64_t warn = site.warn_for(kStart, due);
  CHECK(site.state(tn)["sla"]["warn_percent"] == 80);
  const auto messages_before = site.store->outbox().list(false, 1000).value().size();

  site.clock.set(warn - 1);
  CHECK(site.sweep().warned == 0);
  site.clock.set(warn);
  auto round = site.sweep();
  CHECK(round.warned == 1);
  CHECK(round.escalated == 0);
  CHECK(round.next_due_ms == due);
  const auto [kind, payload] = site.events().back();
  CHECK(kind == "case.sla_warned");
  CHECK(payload == json{{"tracking_number", tn},
                        {"by", "system"},
                        {"level", 0},
                        {"due_at_ms", due},
                        {"notify", json::array({"emp", "fin.head"})}});
  CHECK(site.sweep().warned == 0);  // once per deadline
  CHECK(count_kind(site.kinds(), "case.sla_warned") == 1);
  json s = site.state(tn);
  CHECK(s["status"] == "in_progress");  // a flag, not a change of state
  CHECK(s["sla_warned"]["due_at_ms"] == due);

  // Two staff messages, one each, through the outbox; none to the beneficiary.
  const auto messages = site.store->outbox().list(false, 1000).value();
  REQUIRE(messages.size() == messages_before + 2);
  std::string local = node::iso8601_utc(due + node::kRiyadhOffsetMs);
  local = local.substr(0, 10) + " " + local.substr(11, 5);
  for (std::size_t i = 0; i < 2; ++i) {
    const json& m = messages[messages_before + i];
    INFO(m.dump());
    CHECK(m["kind"] == "sla_warning");
    CHECK(m["channel"] == "staff");
    CHECK(m["to_staff"] == (i == 0 ? "emp" : "fin.head"));
    CHECK(m["text"]["en"] ==
          "Reminder: the answer to case " + tn + " is due by " + local + " (Riyadh time).");
    CHECK(m["text"]["ar"] == "تنبيه: يقترب موعد الرد على الطلب رقم " + tn + "، وينتهي في " + local +
                                 " بتوقيت الرياض.");
  }

  // Internal: the beneficiary's history does not show it.
  const json view = node::public_case_view(s);
  CHECK(view.dump().find("sla_warned") == std::string::npos);

  // The fold refuses a second warning of the same deadline (a replay).
  tawasul::crypto::Event replay;
  replay.kind = "case.sla_warned";
  replay.origin = "KSU";
  replay.seq = 999;
  replay.time_ms = warn;
  auto again = node::fold_case_event(s, replay, payload);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == "stale_warning");

  // The deadline itself still escalates when it passes, and the next level
  // has a warning of its own.
  site.clock.set(due);
  CHECK(site.sweep().escalated == 1);
  s = site.state(tn);
  CHECK_FALSE(s.contains("sla_warned"));
  CHECK(site.due_entries().at(0).kind == "warning");
}

TEST_CASE("no warning for a paused clock, and a paused warning keeps its time",
          "[sweeper][store][warning]") {
  Site site;
  const std::string tn = site.file_routed();
  site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
  const std::int64_t due = site.state(tn)["due_at_ms"];
  const std::int64_t warn = site.warn_for(kStart, due);
  site.clock.set(warn - 1);
  site.act_ok(tn, CaseAction::kRequestInfo, {{"question", "ما رقمك الجامعي؟"}});
  CHECK(site.state(tn)["sla_paused"]["warn_remaining_ms"] == 1);
  site.clock.set(due + 1);
  CHECK(site.sweep().warned == 0);
  auto refused = node::fold_case_event(
      site.state(tn),
      [&] {
        tawasul::crypto::Event e;
        e.kind = "case.sla_warned";
        e.origin = "KSU";
        e.seq = 999;
        e.time_ms = due + 1;
        return e;
      }(),
      json{{"tracking_number", tn},
           {"by", "system"},
           {"level", 0},
           {"due_at_ms", due},
           {"notify", json::array()}});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == "transition_not_allowed");
}

TEST_CASE("the answer at the top of a final ladder has no window and closes the case",
          "[sweeper][store][final]") {
  // The Minister's office is the top of the hub's ladder; here the tree's
  // root stands for it (its `final` mark is what the rule reads).
  Site site(false, true);
  const std::string tn = site.file_routed();
  site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
  for (int i = 0; i < 3; ++i) site.act_ok(tn, CaseAction::kEscalate, {{"reason", "متابعة"}});
  REQUIRE(site.state(tn)["level_unit"] == "KSU");
  const auto messages_before = site.store->outbox().list(false, 1000).value().size();

  REQUIRE(site.act(tn, CaseAction::kStart, {{"assignee", "president"}}, "president"));
  REQUIRE(site.act(tn, CaseAction::kAnswer, {{"answer", "القرار النهائي"}}, "president"));
  const auto events = site.events();
  REQUIRE(events.size() >= 2);
  CHECK(events[events.size() - 2].first == "case.answered");
  CHECK(events[events.size() - 2].second == json{{"tracking_number", tn},
                                                 {"by", "president"},
                                                 {"answer", "القرار النهائي"},
                                                 {"final", true}});
  CHECK(events.back().first == "case.closed");
  CHECK(events.back().second ==
        json{{"tracking_number", tn}, {"by", "system"}, {"reason", "final_answer"}});
  const json s = site.state(tn);
  CHECK(s["status"] == "closed");
  CHECK(s["answer_final"] == true);
  CHECK_FALSE(s.contains("objection_deadline_ms"));
  CHECK(site.due_entries().empty());

  // The beneficiary hears the answer, that it is final, and the survey.
  const auto messages = site.store->outbox().list(false, 1000).value();
  REQUIRE(messages.size() == messages_before + 3);
  CHECK(messages[messages_before]["kind"] == "answered");
  CHECK(messages[messages_before + 1]["text"]["en"] ==
        "The answer on your case " + tn +
            " is final and the case is closed. Thank you for contacting us.");
  CHECK(messages[messages_before + 2]["kind"] == "survey");

  auto refused = site.act(tn, CaseAction::kObject, {{"reason", "أعترض"}}, "beneficiary");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().status == 409);
  CHECK(refused.error().code == "answer_final");
  CHECK(node::public_case_view(s)["history"][events.size() - 2]["final"] == true);
}

TEST_CASE("the first public act of staff is the first response, measured against its promise",
          "[sweeper][store][first_response]") {
  Site site;
  const std::string on_time = site.file_routed();
  const std::string late = site.file_routed();
  const std::int64_t promised = site.state(on_time)["sla"]["first_response_due_ms"];
  CHECK(promised == site.after_working_days(kStart, 1));

  // Internal work and the beneficiary's own acts are no response.
  site.act_ok(on_time, CaseAction::kStart, {{"assignee", "emp"}});
  site.act_ok(on_time, CaseAction::kAddNote, {{"text", "راجعت النظام"}});
  CHECK_FALSE(site.state(on_time).contains("first_response_at_ms"));
  site.clock.set(promised - 1);
  site.act_ok(on_time, CaseAction::kRequestInfo, {{"question", "ما رقمك الجامعي؟"}});
  CHECK(site.state(on_time)["first_response_at_ms"] == promised - 1);
  // Later acts leave it as it was.
  site.clock.set(promised + 5);
  REQUIRE(site.act(on_time, CaseAction::kProvideInfo, {{"reply", "441234567"}}, "beneficiary"));
  site.act_ok(on_time, CaseAction::kReply, {{"text", "شكرًا"}});
  CHECK(site.state(on_time)["first_response_at_ms"] == promised - 1);
  auto view = site.store->staff_case_view(on_time).value();
  CHECK(view["first_response_due"] == node::iso8601_utc(promised));
  CHECK(view["first_response_at"] == node::iso8601_utc(promised - 1));
  CHECK(view["first_response_on_time"] == true);

  site.act_ok(late, CaseAction::kStart, {{"assignee", "emp"}});
  site.act_ok(late, CaseAction::kAnswer, {{"answer", "تم"}});
  view = site.store->staff_case_view(late).value();
  CHECK(view["first_response_at"] == node::iso8601_utc(promised + 5));
  CHECK(view["first_response_on_time"] == false);
}

TEST_CASE(
    "a case waiting for a third party shows why, and its clock runs unless the policy pauses it",
    "[sweeper][store][third_party]") {
  SECTION("by default the clock runs: a late wait still climbs, and keeps waiting") {
    Site site;
    const std::string tn = site.file_routed();
    CHECK(site.state(tn)["sla"]["pause_for_third_party"] == false);
    site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
    site.act_ok(tn, CaseAction::kAwaitThirdParty,
                {{"party", "البنك الأهلي"}, {"reason", "بانتظار تأكيد التحويل"}});
    json s = site.state(tn);
    CHECK(s["status"] == "waiting_for_third_party");
    CHECK_FALSE(s.contains("sla_paused"));
    const std::int64_t due = s["due_at_ms"];
    site.clock.set(due);
    CHECK(site.sweep().escalated == 1);
    s = site.state(tn);
    CHECK(s["status"] == "waiting_for_third_party");
    CHECK(s["level"] == 1);
    // The beneficiary sees whom and why, and was told.
    const json view = node::public_case_view(s);
    CHECK(view["status_label"]["en"] == "Waiting for another body");
    const json& waited = view["history"][3];
    CHECK(waited["event"] == "await_third_party");
    CHECK(waited["party"] == "البنك الأهلي");
    CHECK(waited["reason"] == "بانتظار تأكيد التحويل");
    bool told = false;
    const auto messages = site.store->outbox().list(false, 1000).value();
    for (const auto& m : messages) told = told || m["kind"] == "waiting_for_third_party";
    CHECK(told);
    // Not an answer: the state machine refuses it until the reply comes.
    CHECK_FALSE(site.act(tn, CaseAction::kAnswer, {{"answer", "تم"}}));
    site.act_ok(tn, CaseAction::kThirdPartyReplied, json::object());
    CHECK(site.state(tn)["status"] == "in_progress");
    CHECK_FALSE(site.state(tn).contains("third_party"));
  }
  SECTION("with pause_for_third_party the wait stops the clock, and the reply restarts it") {
    Site site;
    json doc = tree_document();
    doc["sla"] = json{{"pause_for_third_party", true}};
    auto tree = node::OrgTree::parse(doc);
    REQUIRE(tree);
    REQUIRE(in_write<bool>(*site.store, [&](storage::WriteTxn& txn) -> node::Result<bool> {
      if (auto r = site.store->set_org_tree(txn, *tree, site.clock.now_ms()); !r)
        return std::unexpected(r.error());
      return true;
    }));
    const std::string tn = site.file_routed();
    CHECK(site.state(tn)["sla"]["pause_for_third_party"] == true);
    site.act_ok(tn, CaseAction::kStart, {{"assignee", "emp"}});
    const std::int64_t due0 = site.state(tn)["due_at_ms"];
    const std::int64_t paused_at = site.after_working_days(kStart, 2);
    site.clock.set(paused_at);
    site.act_ok(tn, CaseAction::kAwaitThirdParty,
                {{"party", "وزارة الموارد البشرية"}, {"reason", "التحقق من الضمان"}});
    json s = site.state(tn);
    CHECK(s["sla_paused"]["reason"] == "waiting_for_third_party");
    CHECK(site.due_entries().empty());
    site.clock.set(due0 + 20LL * 24 * 3600 * 1000);
    CHECK(site.sweep().escalated == 0);
    site.act_ok(tn, CaseAction::kThirdPartyReplied, json::object());
    const auto cal = site.store->calendar();
    CHECK(site.state(tn)["due_at_ms"] ==
          cal->add_working_ms(site.clock.now_ms(), cal->working_ms_between(paused_at, due0)));
    CHECK_FALSE(site.state(tn).contains("sla_paused"));
    CHECK(site.due_entries().size() == 1);
  }
}
