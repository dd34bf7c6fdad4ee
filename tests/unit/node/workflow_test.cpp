// The case lifecycle (node/workflow.hpp): the transition table, every refused
// transition, and a case's whole life folded at the node and at the hub.
#include "node/workflow.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <vector>

#include "crypto/envelope.hpp"
#include "node_test_util.hpp"
#include "test_support.hpp"

using namespace tawasul;
using namespace tawasul::node::testing;
using nlohmann::json;
using node::CaseAction;
using node::CaseStatus;

namespace {

constexpr std::int64_t kNow = 1'773'568'800'000;  // 2026-03-15T10:00:00Z, a Sunday

// The table as the design note draws it, written out independently of the code.
const std::map<std::pair<CaseStatus, CaseAction>, CaseStatus>& expected_transitions() {
  using S = CaseStatus;
  using A = CaseAction;
  static const std::map<std::pair<S, A>, S> table = {
      {{S::kSubmitted, A::kAssign}, S::kAssigned},
      {{S::kSubmitted, A::kReject}, S::kAnswered},
      {{S::kSubmitted, A::kAddNote}, S::kSubmitted},
      {{S::kSubmitted, A::kReply}, S::kSubmitted},
      {{S::kAssigned, A::kAssign}, S::kAssigned},
      {{S::kAssigned, A::kStart}, S::kInProgress},
      {{S::kAssigned, A::kTransfer}, S::kAssigned},
      {{S::kAssigned, A::kReject}, S::kAnswered},
      {{S::kAssigned, A::kAddNote}, S::kAssigned},
      {{S::kAssigned, A::kReply}, S::kAssigned},
      {{S::kInProgress, A::kRequestInfo}, S::kWaitingForBeneficiary},
      {{S::kInProgress, A::kAnswer}, S::kAnswered},
      {{S::kInProgress, A::kReject}, S::kAnswered},
      {{S::kInProgress, A::kTransfer}, S::kAssigned},
      {{S::kInProgress, A::kAddNote}, S::kInProgress},
      {{S::kInProgress, A::kReply}, S::kInProgress},
      {{S::kWaitingForBeneficiary, A::kProvideInfo}, S::kInProgress},
      {{S::kWaitingForBeneficiary, A::kAddNote}, S::kWaitingForBeneficiary},
      {{S::kWaitingForBeneficiary, A::kReply}, S::kWaitingForBeneficiary},
      {{S::kInProgress, A::kAwaitThirdParty}, S::kWaitingForThirdParty},
      {{S::kWaitingForThirdParty, A::kThirdPartyReplied}, S::kInProgress},
      {{S::kWaitingForThirdParty, A::kAddNote}, S::kWaitingForThirdParty},
      {{S::kWaitingForThirdParty, A::kReply}, S::kWaitingForThirdParty},
      {{S::kWaitingForThirdParty, A::kEscalate}, S::kWaitingForThirdParty},
      {{S::kSubmitted, A::kEscalate}, S::kAssigned},
      {{S::kAssigned, A::kEscalate}, S::kAssigned},
      {{S::kInProgress, A::kEscalate}, S::kAssigned},
      {{S::kAnswered, A::kClose}, S::kClosed},
      {{S::kAnswered, A::kAddNote}, S::kAnswered},
      {{S::kAnswered, A::kReply}, S::kAnswered},
      {{S::kAnswered, A::kObject}, S::kObjectionReview},
      {{S::kObjectionReview, A::kDecideObjection}, S::kAnswered},
      {{S::kObjectionReview, A::kAddNote}, S::kObjectionReview},
      {{S::kObjectionReview, A::kReply}, S::kObjectionReview},
      {{S::kObjectionReview, A::kEscalate}, S::kObjectionReview},
  };
  return table;
}

// The texts each action needs.
json fields_for(CaseAction action) {
  switch (action) {
    case CaseAction::kAssign:
      return {{"unit", "REG"}};
    case CaseAction::kStart:
      return {{"assignee", "staff-7"}};
    case CaseAction::kRequestInfo:
      return {{"question", "ما رقمك الجامعي؟"}};
    case CaseAction::kProvideInfo:
      return {{"reply", "رقمي الجامعي 441234567"}};
    case CaseAction::kAnswer:
      return {{"answer", "تم صرف المكافأة اليوم."}};
    case CaseAction::kReject:
      return {{"reason", "الطلب من اختصاص جهة أخرى"}};
    case CaseAction::kTransfer:
      return {{"to_unit", "FIN"}, {"reason", "من اختصاص الشؤون المالية"}};
    case CaseAction::kClose:
      return {{"reason", "accepted"}};
    case CaseAction::kAddNote:
      return {{"text", "راجعت النظام المالي"}};
    case CaseAction::kReply:
      return {{"text", "نعمل على طلبك"}};
    case CaseAction::kObject:
      return {{"reason", "لم تصرف المكافأة رغم الرد"}};
    case CaseAction::kDecideObjection:
      return {{"outcome", "upheld"}, {"answer", "قبل الاعتراض وصرفت المكافأة."}};
    case CaseAction::kEscalate:
      return {{"reason", "تأخر الرد"}};
    case CaseAction::kAwaitThirdParty:
      return {{"party", "البنك"}, {"reason", "بانتظار تأكيد التحويل من البنك"}};
    case CaseAction::kThirdPartyReplied:
      return json::object();
  }
  return json::object();
}

// The shortest way from a new case to each state.
std::vector<CaseAction> path_to(CaseStatus status) {
  using A = CaseAction;
  switch (status) {
    case CaseStatus::kSubmitted:
      return {};
    case CaseStatus::kAssigned:
      return {A::kAssign};
    case CaseStatus::kInProgress:
      return {A::kAssign, A::kStart};
    case CaseStatus::kWaitingForBeneficiary:
      return {A::kAssign, A::kStart, A::kRequestInfo};
    case CaseStatus::kWaitingForThirdParty:
      return {A::kAssign, A::kStart, A::kAwaitThirdParty};
    case CaseStatus::kAnswered:
      return {A::kAssign, A::kStart, A::kAnswer};
    case CaseStatus::kObjectionReview:
      return {A::kAssign, A::kStart, A::kAnswer, A::kObject};
    case CaseStatus::kClosed:
      return {A::kAssign, A::kStart, A::kAnswer, A::kClose};
  }
  return {};
}

struct Site {
  test::TempDir dir{"workflow"};
  node::Identity id;
  std::unique_ptr<node::NodeStore> store;
  explicit Site(node::Role role = node::Role::kNode, const std::string& code = "KSU") {
    init_crypto();
    id = make_identity(dir.path(), role, code);
    store = open_store(dir.path(), id);
  }
  node::Result<json> act(const std::string& tracking, CaseAction action, json fields,
                         std::int64_t at = kNow) {
    return in_write<json>(*store, [&](storage::WriteTxn& txn) {
      // An objection is decided by someone other than the author of the answer.
      const std::string by = action == CaseAction::kDecideObjection ? "head-3" : "staff-7";
      return store->act_on_case(txn, tracking, action, by, fields, at);
    });
  }
  json act_ok(const std::string& tracking, CaseAction action, std::int64_t at = kNow) {
    auto r = act(tracking, action, fields_for(action), at);
    if (!r) FAIL(node::action_name(action) << " failed: " << r.error().message);
    return *r;
  }
  std::uint64_t head() { return store->head(id.code).value(); }
};

}  // namespace

TEST_CASE("the transition table is exactly the one the design note draws", "[workflow]") {
  const auto& expected = expected_transitions();
  for (CaseStatus s : node::kAllStatuses) {
    for (CaseAction a : node::kAllActions) {
      INFO(node::status_name(s) << " + " << node::action_name(a));
      auto it = expected.find({s, a});
      auto next = node::next_status(s, a);
      if (it == expected.end()) {
        CHECK_FALSE(next.has_value());
      } else {
        REQUIRE(next.has_value());
        CHECK(*next == it->second);
      }
    }
  }
  CHECK(node::allowed_actions(CaseStatus::kClosed).empty());
}

TEST_CASE("names, event kinds and their parsers agree", "[workflow]") {
  for (CaseStatus s : node::kAllStatuses) CHECK(node::parse_status(node::status_name(s)) == s);
  for (CaseAction a : node::kAllActions) {
    CHECK(node::parse_action(node::action_name(a)) == a);
    CHECK(node::action_of_event(node::event_kind(a)) == a);
  }
  CHECK_FALSE(node::parse_status("lost"));
  CHECK_FALSE(node::parse_action("escalate_to_mars"));
  CHECK_FALSE(node::action_of_event("case.filed"));
}

TEST_CASE("a refusal is a 409 naming the state and every action it allows", "[workflow]") {
  auto e = node::refusal(CaseStatus::kAnswered, CaseAction::kStart);
  CHECK(e.status == 409);
  CHECK(e.code == "transition_not_allowed");
  CHECK(e.message ==
        "cannot start a case that is answered; it allows: close, add_note, reply, object");
  auto closed = node::refusal(CaseStatus::kClosed, CaseAction::kReply);
  CHECK(closed.message.find("allows: nothing") != std::string::npos);
}

TEST_CASE(
    "a case runs through its whole life at the node, and the beneficiary sees the public part",
    "[workflow][store]") {
  Site ksu;
  json receipt = file_ok(*ksu.store, sample_request(), kNow);
  const std::string tn = receipt["tracking_number"];
  const std::vector<std::pair<CaseAction, std::string>> life = {
      {CaseAction::kAssign, "assigned"},
      {CaseAction::kStart, "in_progress"},
      {CaseAction::kAddNote, "in_progress"},
      {CaseAction::kRequestInfo, "waiting_for_beneficiary"},
      {CaseAction::kProvideInfo, "in_progress"},
      {CaseAction::kTransfer, "assigned"},
      {CaseAction::kStart, "in_progress"},
      {CaseAction::kReply, "in_progress"},
      {CaseAction::kAnswer, "answered"},
      {CaseAction::kClose, "closed"},
  };
  std::int64_t at = kNow;
  json view;
  for (const auto& [action, status] : life) {
    at += 60'000;
    view = ksu.act_ok(tn, action, at);
    INFO(node::action_name(action));
    CHECK(view["status"] == status);
  }
  CHECK(ksu.head() == 1 + life.size());
  CHECK(view["outcome"] == "answered");
  CHECK(view["answer"] == "تم صرف المكافأة اليوم.");
  // The internal note is not in the public history, and no staff identity is.
  const auto& history = view["history"];
  CHECK(history.size() == life.size());  // filed + 10 actions - the note
  for (const auto& h : history) {
    CHECK(h["event"] != "add_note");
    CHECK_FALSE(h.contains("by"));
    CHECK(h["event_label"].contains("ar"));
  }
  CHECK(view.dump().find("راجعت النظام المالي") == std::string::npos);
  CHECK(view.dump().find("staff-7") == std::string::npos);
  // The transfer's reason and the question are visible to the beneficiary.
  CHECK(view.dump().find("من اختصاص الشؤون المالية") != std::string::npos);
  CHECK(view.dump().find("ما رقمك الجامعي؟") != std::string::npos);
  // What the access code opens is the same view.
  auto looked_up = ksu.store->lookup_case(tn, receipt["access_code"].get<std::string>());
  REQUIRE(looked_up);
  CHECK(*looked_up == view);
  CHECK(ksu.store->verify().has_value());
}

TEST_CASE("every action a state refuses is a 409 and writes nothing", "[workflow][store]") {
  Site ksu;
  const auto& expected = expected_transitions();
  for (CaseStatus s : node::kAllStatuses) {
    json receipt = file_ok(*ksu.store, sample_request(), kNow);
    const std::string tn = receipt["tracking_number"];
    for (CaseAction step : path_to(s)) ksu.act_ok(tn, step);
    for (CaseAction a : node::kAllActions) {
      if (expected.count({s, a}) != 0) continue;
      INFO(node::status_name(s) << " refuses " << node::action_name(a));
      const auto before = ksu.head();
      auto r = ksu.act(tn, a, fields_for(a));
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().status == 409);
      CHECK(r.error().code == "transition_not_allowed");
      CHECK(r.error().message.find(std::string(node::status_name(s))) != std::string::npos);
      CHECK(ksu.head() == before);
    }
  }
}

TEST_CASE("rejection as out of scope is an answer with its reason", "[workflow][store]") {
  Site ksu;
  json receipt = file_ok(*ksu.store, sample_request(), kNow);
  json view = ksu.act_ok(receipt["tracking_number"], CaseAction::kReject);
  CHECK(view["status"] == "answered");
  CHECK(view["outcome"] == "rejected");
  CHECK(view["answer"] == "الطلب من اختصاص جهة أخرى");
  CHECK(ksu.act_ok(receipt["tracking_number"], CaseAction::kClose)["status"] == "closed");
}

TEST_CASE("an action without the text it needs is refused and writes nothing",
          "[workflow][store]") {
  Site ksu;
  json receipt = file_ok(*ksu.store, sample_request(), kNow);
  const std::string tn = receipt["tracking_number"];
  ksu.act_ok(tn, CaseAction::kAssign);
  ksu.act_ok(tn, CaseAction::kStart);
  const auto before = ksu.head();
  auto no_answer = ksu.act(tn, CaseAction::kAnswer, json::object());
  REQUIRE_FALSE(no_answer);
  CHECK(no_answer.error().status == 400);
  CHECK(no_answer.error().message.find("answer") != std::string::npos);
  auto too_long = ksu.act(tn, CaseAction::kAnswer, json{{"answer", std::string(5001, 'x')}});
  CHECK_FALSE(too_long);
  auto not_text = ksu.act(tn, CaseAction::kAnswer, json{{"answer", 42}});
  CHECK_FALSE(not_text);
  auto unknown = ksu.act("KSU-26-9999999-0", CaseAction::kAnswer, fields_for(CaseAction::kAnswer));
  CHECK_FALSE(unknown);
  CHECK(ksu.head() == before);
}

TEST_CASE("the hub folds a replicated lifecycle into the same view, and cannot act on it",
          "[workflow][hub]") {
  Site ksu;
  Site hub(node::Role::kHub, "MOE");
  REQUIRE(hub.store->enroll({ksu.id.code, ksu.id.curve.public_key, ksu.id.sign.public_key}, false,
                            kNow));
  json receipt = file_ok(*ksu.store, sample_request(), kNow);
  const std::string tn = receipt["tracking_number"];
  for (CaseAction a : {CaseAction::kAssign, CaseAction::kStart, CaseAction::kRequestInfo})
    ksu.act_ok(tn, a);
  auto events = ksu.store->read_events("KSU", 1, 100, 1 << 20).value();
  auto stored = in_write<std::uint64_t>(*hub.store, [&](storage::WriteTxn& txn) {
    return hub.store->store_remote(txn, "KSU", events);
  });
  REQUIRE(stored);
  CHECK(*stored == 4);
  const std::string code = receipt["access_code"];
  CHECK(hub.store->lookup_case(tn, code).value() == ksu.store->lookup_case(tn, code).value());
  auto at_hub = hub.act(tn, CaseAction::kReply, fields_for(CaseAction::kReply));
  REQUIRE_FALSE(at_hub);
  CHECK(at_hub.error().code == "not_owner");
}

TEST_CASE("a replicated event the state machine does not allow is refused at the hub",
          "[workflow][hub]") {
  Site ksu;
  Site hub(node::Role::kHub, "MOE");
  REQUIRE(hub.store->enroll({ksu.id.code, ksu.id.curve.public_key, ksu.id.sign.public_key}, false,
                            kNow));
  json receipt = file_ok(*ksu.store, sample_request(), kNow);
  auto first = ksu.store->read_events("KSU", 1, 1, 1 << 20).value();
  // A rogue KSU signs "answered" for a case that was never started.
  crypto::Event answered;
  answered.origin = "KSU";
  answered.seq = 2;
  answered.time_ms = static_cast<std::uint64_t>(kNow);
  answered.prev_hash = crypto::envelope_hash(first[0]);
  answered.kind = "case.answered";
  answered.payload =
      json{{"tracking_number", receipt["tracking_number"]}, {"by", "x"}, {"answer", "done"}}.dump();
  auto envelope = crypto::seal_envelope(answered, ksu.id.sign.secret_key);
  REQUIRE(envelope);
  auto stored = in_write<std::uint64_t>(*hub.store, [&](storage::WriteTxn& txn) {
    return hub.store->store_remote(txn, "KSU", std::vector<std::string>{first[0], *envelope});
  });
  CHECK_FALSE(stored);
  CHECK(hub.store->head("KSU").value() == 0);
}

TEST_CASE(
    "an objection reopens the case one level higher, is decided by another reviewer, and closes "
    "its window",
    "[workflow][store][objection]") {
  Site ksu;
  json receipt = file_ok(*ksu.store, sample_request(), kNow);
  const std::string tn = receipt["tracking_number"];
  // Objecting to a case never answered is refused by the state machine.
  auto early = ksu.act(tn, CaseAction::kObject, fields_for(CaseAction::kObject));
  REQUIRE_FALSE(early);
  CHECK(early.error().status == 409);
  for (CaseAction a : {CaseAction::kAssign, CaseAction::kStart, CaseAction::kAnswer})
    ksu.act_ok(tn, a);
  json answered = ksu.store->lookup_case(tn, receipt["access_code"].get<std::string>()).value();
  // Ten working days from Sunday 15 March 2026: 16, 17, then the Eid al-Fitr
  // holiday (29 Ramadan 1447 = 18 March, seven days) is not counted: 25, 26,
  // 29, 30, 31 March, 1, 2 and 5 April.
  CHECK(answered["objection_deadline"] == "2026-04-05T12:00:00Z");
  CHECK(answered["objection_deadline_hijri"].contains("date"));

  // The beneficiary objects: objection 1, level 1, that level's three working days.
  auto objected = in_write<json>(*ksu.store, [&](storage::WriteTxn& txn) {
    return ksu.store->act_on_case(txn, tn, CaseAction::kObject, "beneficiary",
                                  json{{"reason", "لم تصرف المكافأة"}}, kNow + 3'600'000);
  });
  REQUIRE(objected);
  CHECK((*objected)["status"] == "objection_review");
  REQUIRE((*objected)["objections"].size() == 1);
  CHECK((*objected)["objections"][0]["reason"] == "لم تصرف المكافأة");
  CHECK((*objected)["objections"][0]["status"] == "open");
  CHECK((*objected)["due_at"] == "2026-03-25T12:00:00Z");  // Mon 16, Tue 17, (Eid), Wed 25
  auto staff = ksu.store->staff_case_view(tn).value();
  CHECK(staff["level"] == 1);

  // The author of the answer may not decide the objection to it.
  const auto before = ksu.head();
  auto same = in_write<json>(*ksu.store, [&](storage::WriteTxn& txn) {
    return ksu.store->act_on_case(txn, tn, CaseAction::kDecideObjection, "staff-7",
                                  fields_for(CaseAction::kDecideObjection), kNow + 7'200'000);
  });
  REQUIRE_FALSE(same);
  CHECK(same.error().status == 403);
  CHECK(same.error().code == "same_reviewer");
  auto bad_outcome = ksu.act(tn, CaseAction::kDecideObjection,
                             json{{"outcome", "maybe"}, {"answer", "؟"}}, kNow + 7'200'000);
  REQUIRE_FALSE(bad_outcome);
  CHECK(bad_outcome.error().field == "outcome");
  CHECK(ksu.head() == before);

  json decided = ksu.act_ok(tn, CaseAction::kDecideObjection, kNow + 7'200'000);
  CHECK(decided["status"] == "answered");
  CHECK(decided["outcome"] == "objection_upheld");
  CHECK(decided["answer"] == "قبل الاعتراض وصرفت المكافأة.");
  CHECK(decided["objections"][0]["outcome"] == "upheld");
  CHECK(decided["objections"][0]["status"] == "decided");

  // The decision is an answer the beneficiary may object to again, a level higher.
  json second = ksu.act_ok(tn, CaseAction::kObject, kNow + 10'800'000);
  CHECK(second["objections"].size() == 2);
  CHECK(ksu.store->staff_case_view(tn).value()["level"] == 2);
  // head-3 decided the first objection, so the second goes to someone else.
  auto again = ksu.act(tn, CaseAction::kDecideObjection, fields_for(CaseAction::kDecideObjection),
                       kNow + 14'400'000);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == "same_reviewer");
  REQUIRE(in_write<json>(*ksu.store, [&](storage::WriteTxn& txn) {
    return ksu.store->act_on_case(txn, tn, CaseAction::kDecideObjection, "director-1",
                                  json{{"outcome", "rejected"}, {"answer", "القرار نهائي"}},
                                  kNow + 14'400'000);
  }));

  // After the window the objection is refused, naming why, and nothing is written.
  const auto after = ksu.head();
  auto late = ksu.act(tn, CaseAction::kObject, fields_for(CaseAction::kObject),
                      kNow + 60LL * 24 * 3'600'000);
  REQUIRE_FALSE(late);
  CHECK(late.error().status == 409);
  CHECK(late.error().code == "objection_window_closed");
  CHECK(ksu.head() == after);
  CHECK(ksu.store->verify().has_value());
}
