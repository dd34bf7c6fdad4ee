// "Escalation above the sector head hands the case to the hub … the hand-off
// is an event the hub receives like any other and shows in its consolidated
// view" (node/SLA.md), with real processes: a hub and a KSU node, staff
// signed in over HTTP, the sample KSU org tree (every unit names its head by
// post). A case climbs the ladder by hand to the president and beyond; a case
// answered by the president is objected to; a case left unanswered is climbed
// by `tawasul sweep` past each deadline. Each time the node appends
// `case.handed_to_hub`, the hub receives it with the rest of the case's chain
// and shows the same history as the node.
#include <catch2/catch.hpp>

#include <httplib.h>
#include <fstream>
#include <sstream>

#include "integration_util.hpp"
#include "launcher.hpp"
#include "node/time_util.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using nlohmann::json;
namespace node = tawasul::node;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string error_code(const HttpReply& r) {
  if (!r.body.is_object() || !r.body.contains("error")) return "";
  return r.body["error"].value("code", "");
}

json label(const std::string& ar, const std::string& en) {
  return json{{"ar", ar}, {"en", en}};
}

// The public history's entries for one kind of step.
std::vector<json> entries(const json& view, const std::string& event) {
  std::vector<json> out;
  for (const auto& h : view["history"])
    if (h["event"] == event) out.push_back(h);
  return out;
}

const json kMinistry = label("وزارة التعليم", "Ministry of Education");

// The sample tree's ladder above a case of the student stipends unit.
const json kStipends = label("المكافآت الطلابية", "Student Stipends");
const json kDeanship = label("عمادة شؤون الطلاب", "Deanship of Student Affairs");
const json kUniversity = label("جامعة الملك سعود", "King Saud University");

}  // namespace

TEST_CASE("escalation above the sector head hands a case to a real hub, which shows the hand-off",
          "[integration][handoff]") {
  TempDir tmp("handoff");
  const auto hub_dir = tmp / "hub";
  const auto ksu_dir = tmp / "KSU";
  ok(run_tawasul({"init", "--role", "hub", "--code", "MOE", "--data", hub_dir.string()}));
  ok(run_tawasul({"init", "--role", "node", "--code", "KSU", "--data", ksu_dir.string()}));
  ok(run_tawasul(
      {"enroll", "--data", hub_dir.string(), "--from", (ksu_dir / "identity.pub").string()}));
  ok(run_tawasul({"org", "load", "--data", ksu_dir.string(), "--file",
                  TAWASUL_SOURCE_DIR "/deploy/org/ksu.json"}));
  {
    std::ofstream pw(tmp / "pw");
    pw << "correct horse battery\n";
  }
  // A head for each rung of the stipends unit's ladder, and a coordinator at the root.
  const std::vector<std::pair<std::string, std::vector<std::string>>> staff = {
      {"coord", {"--unit", "KSU", "--role", "coordinator"}},
      {"president", {"--unit", "KSU", "--role", "unit_head"}},
      {"dean", {"--unit", "KSU.SA", "--role", "unit_head"}},
      {"finhead", {"--unit", "KSU.SA.FIN", "--role", "unit_head"}},
      {"emp", {"--unit", "KSU.SA.FIN", "--role", "employee"}},
  };
  for (const auto& [id, extra] : staff) {
    std::vector<std::string> args = {
        "staff", "add",    "--data",     ksu_dir.string(),  "--id",
        id,      "--name", "موظف " + id, "--password-file", (tmp / "pw").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    ok(run_tawasul(args));
  }

  const int hub_http = free_port();
  const int ksu_http = free_port();
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(free_port());
  const std::string hub_key = json::parse(read_file(hub_dir / "identity.pub"))["curve_public"];
  Daemon hub("hub",
             {"run", "--data", hub_dir.string(), "--http.listen",
              "127.0.0.1:" + std::to_string(hub_http), "--federation.listen", endpoint},
             tmp / "hub.log");
  Daemon ksu(
      "KSU",
      {"run", "--data", ksu_dir.string(), "--http.listen", "127.0.0.1:" + std::to_string(ksu_http),
       "--federation.hub", endpoint, "--federation.hub_key", hub_key},
      tmp / "ksu.log");
  bool node_stopped = false;  // by a section that restarts it itself
  REQUIRE(wait_healthy(hub_http));
  REQUIRE(wait_healthy(ksu_http));
  Http node{ksu_http};
  Http at_hub{hub_http};
  const auto coord = bearer(node.login("coord"));
  const auto president = bearer(node.login("president"));
  const auto dean = bearer(node.login("dean"));
  const auto finhead = bearer(node.login("finhead"));
  const auto emp = bearer(node.login("emp"));

  json filing{{"type", "demand"},
              {"subject", "تأخر صرف المكافأة"},
              {"description", "لم تصرف مكافأة الشهر الماضي حتى الآن رغم المراجعة."},
              {"channel", "portal"},
              {"beneficiary", {{"name", "هيا السبيعي"}, {"phone", "+966551234567"}}}};
  auto filed = node.call("POST", "/api/v1/cases", filing, {});
  INFO(filed.body.dump());
  REQUIRE(filed.status == 201);
  const std::string tn = filed.body["tracking_number"];
  const httplib::Headers owner = {{"X-Access-Code", filed.body["access_code"].get<std::string>()}};

  auto act = [&](const httplib::Headers& who, const std::string& action, const json& fields,
                 int expected = 200, const std::string& code = "") {
    auto r = node.call("POST", "/api/v1/cases/" + tn + "/actions/" + action, fields, who);
    INFO(action << ": " << r.body.dump());
    REQUIRE(r.status == expected);
    if (!code.empty()) CHECK(error_code(r) == code);
    return r.body;
  };
  // Checks the reply to an escalation that climbed to `level`, held by `unit`'s head.
  auto climbed = [&](const json& view, int level, const json& name, const std::string& reason) {
    INFO(view.dump());
    CHECK(view["status"] == "assigned");
    CHECK(view["level"] == level);
    const json& last = view["history"].back();
    CHECK(last["event"] == "escalate");
    CHECK(last["level"] == level);
    CHECK(last["level_name"] == name);
    CHECK(last["reason"] == reason);
    CHECK(last.contains("due_at"));
  };
  // The case at the node, as the beneficiary sees it.
  auto node_view = [&] {
    auto r = node.call("GET", "/api/v1/cases/" + tn, nullptr, owner);
    REQUIRE(r.status == 200);
    return r.body;
  };
  // Waits (bounded) until the hub has every event of the case and shows the
  // node's own view of it; returns the hub's view.
  auto replicated = [&](const json& expected) {
    json seen;
    const bool same = wait_until([&] {
      auto r = at_hub.call("GET", "/api/v1/cases/" + tn, nullptr, owner);
      seen = r.body;
      return r.status == 200 && seen == expected;
    });
    INFO("node: " << expected.dump());
    INFO("hub: " << seen.dump());
    REQUIRE(same);
    return seen;
  };

  SECTION("manual escalation climbs the ladder by hand and hands the case to the hub") {
    act(coord, "assign", {{"unit", "KSU.SA.FIN"}});
    act(emp, "start", json::object());
    act(emp, "escalate", json::object(), 400, "missing_field");  // a reason is required

    const std::vector<std::string> reasons = {"تأخر الرد على المستفيد", "لم يعالج رئيس القسم الطلب",
                                              "يحتاج قرار مدير الجامعة", "خارج صلاحيات الجامعة"};
    // Each head escalates what reached them: the stipends unit's head, the
    // dean of student affairs, the president (the head of the sector).
    climbed(act(emp, "escalate", {{"reason", reasons[0]}}), 1, kStipends, reasons[0]);
    climbed(act(finhead, "escalate", {{"reason", reasons[1]}}), 2, kDeanship, reasons[1]);
    // The case now sits with the dean: the stipends unit's head no longer reaches it.
    act(finhead, "escalate", {{"reason", "x"}}, 403, "forbidden");
    climbed(act(dean, "escalate", {{"reason", reasons[2]}}), 3, kUniversity, reasons[2]);
    act(dean, "escalate", {{"reason", "x"}}, 403, "forbidden");

    // Above the sector head: the hand-off. The case keeps its status and level.
    const json handed = act(president, "escalate", {{"reason", reasons[3]}});
    {
      INFO(handed.dump());
      CHECK(handed["status"] == "assigned");
      CHECK(handed["level"] == 3);
      const json& last = handed["history"].back();
      CHECK(last["event"] == "handed_to_hub");
      CHECK(last["level"] == 4);
      CHECK(last["level_name"] == kMinistry);
      CHECK(last["reason"] == reasons[3]);
      CHECK(last["status"] == "assigned");
    }
    // The node escalates it no further, whoever asks.
    act(president, "escalate", {{"reason", "مرة أخرى"}}, 409, "handed_to_hub");
    act(coord, "escalate", {{"reason", "مرة أخرى"}}, 409, "handed_to_hub");

    const json at_node = node_view();
    CHECK(at_node == handed);
    // The hub receives the hand-off like any other event and shows it.
    const json at_hub_view = replicated(at_node);
    CHECK(at_hub_view["history"] == at_node["history"]);
    const auto steps = entries(at_hub_view, "escalate");
    REQUIRE(steps.size() == 3);
    const std::vector<json> names = {kStipends, kDeanship, kUniversity};
    for (std::size_t i = 0; i < steps.size(); ++i) {
      INFO("step " << i << ": " << steps[i].dump());
      CHECK(steps[i]["level"] == static_cast<int>(i) + 1);
      CHECK(steps[i]["level_name"] == names[i]);
      CHECK(steps[i]["reason"] == reasons[i]);
      CHECK(steps[i]["status"] == "assigned");
    }
    const auto hand_off = entries(at_hub_view, "handed_to_hub");
    REQUIRE(hand_off.size() == 1);
    CHECK(hand_off[0]["level"] == 4);
    CHECK(hand_off[0]["level_name"] == kMinistry);
    CHECK(hand_off[0]["reason"] == reasons[3]);
    CHECK(at_hub_view["history"].back() == hand_off[0]);
    std::vector<std::string> events;
    for (const auto& h : at_hub_view["history"]) events.push_back(h["event"]);
    CHECK(events == std::vector<std::string>{"filed", "assign", "start", "escalate", "escalate",
                                             "escalate", "handed_to_hub"});
  }

  SECTION("an objection to the sector head's answer hands the case to the hub") {
    act(coord, "assign", {{"unit", "KSU.SA.FIN"}});
    // Held at the root by escalation: the coordinator climbs it to the president.
    climbed(act(coord, "escalate", {{"reason", "تأخر الرد"}}), 1, kStipends, "تأخر الرد");
    climbed(act(coord, "escalate", {{"reason", "تأخر الرد"}}), 2, kDeanship, "تأخر الرد");
    climbed(act(coord, "escalate", {{"reason", "يحتاج قرار مدير الجامعة"}}), 3, kUniversity,
            "يحتاج قرار مدير الجامعة");
    act(dean, "start", json::object(), 403, "forbidden");  // no longer the dean's
    act(president, "start", json::object());
    const std::string answer = "لا يحق لك صرف المكافأة لهذا الفصل وفق لائحة المكافآت.";
    const json answered = act(president, "answer", {{"answer", answer}});
    CHECK(answered["status"] == "answered");
    CHECK(answered.contains("objection_deadline"));
    CHECK(node.call("POST", "/api/v1/cases/" + tn + "/object", {{"reason", "x"}}, {}).status ==
          404);  // no access code

    const std::string reason = "الرد مخالف للائحة، وأطلب مراجعته في الوزارة";
    auto objected =
        node.call("POST", "/api/v1/cases/" + tn + "/object", {{"reason", reason}}, owner);
    INFO(objected.body.dump());
    REQUIRE(objected.status == 200);
    const json& view = objected.body;
    CHECK(view["status"] == "objection_review");
    CHECK(view["level"] == 4);
    REQUIRE(view["objections"].size() == 1);
    CHECK(view["objections"][0]["number"] == 1);
    CHECK(view["objections"][0]["reason"] == reason);
    // Both in one commit: the reply to the objection already carries the hand-off.
    const json& history = view["history"];
    REQUIRE(history.size() >= 2);
    const json& object = history[history.size() - 2];
    const json& hand_off = history.back();
    CHECK(object["event"] == "object");
    CHECK(object["objection"] == 1);
    CHECK(object["level"] == 4);
    CHECK(object["reason"] == reason);
    CHECK(object["status"] == "objection_review");
    CHECK(hand_off["event"] == "handed_to_hub");
    CHECK(hand_off["level"] == 4);
    CHECK(hand_off["level_name"] == kMinistry);
    CHECK(hand_off["reason"] == "objection_above_sector");
    CHECK(hand_off["status"] == "objection_review");
    CHECK(hand_off["at"] == object["at"]);

    // Nothing climbs further at the node, and the objection is not heard twice.
    act(coord, "escalate", {{"reason", "مرة أخرى"}}, 409, "handed_to_hub");
    auto again = node.call("POST", "/api/v1/cases/" + tn + "/object", {{"reason", reason}}, owner);
    CHECK(again.status == 409);
    CHECK(error_code(again) == "transition_not_allowed");
    // The president wrote the answer objected to: never its reviewer.
    act(president, "decide_objection", {{"outcome", "rejected"}, {"answer", "لا"}}, 403,
        "same_reviewer");

    const json at_node = node_view();
    CHECK(at_node == view);
    const json at_hub_view = replicated(at_node);
    CHECK(at_hub_view["history"] == at_node["history"]);
    CHECK(at_hub_view["status"] == "objection_review");
    CHECK(entries(at_hub_view, "escalate").size() == 3);
    const auto objections = entries(at_hub_view, "object");
    REQUIRE(objections.size() == 1);
    CHECK(objections[0] == object);
    const auto hand_offs = entries(at_hub_view, "handed_to_hub");
    REQUIRE(hand_offs.size() == 1);
    CHECK(hand_offs[0] == hand_off);
    CHECK(at_hub_view["history"].back() == hand_off);
  }

  SECTION("the sweeper climbs a late case to the sector head and hands it to the hub") {
    // Routed to the stipends unit (level 0), then left unanswered.
    act(coord, "assign", {{"unit", "KSU.SA.FIN"}});
    const std::int64_t due_ms =
        node::parse_iso8601(filed.body["due_at"].get<std::string>()).value();
    REQUIRE(ksu.stop() == 0);
    node_stopped = true;

    // Each round a month after the last: every level's three working days
    // have passed, so each round climbs one rung — the last one to the hub.
    std::int64_t now_ms = due_ms + 24LL * 3600 * 1000;
    const std::vector<std::string> rounds = {
        ": 1 escalated, 0 handed to the hub, 0 closed, 0 warned, 0 stale, 0 failed",
        ": 1 escalated, 0 handed to the hub, 0 closed, 0 warned, 0 stale, 0 failed",
        ": 1 escalated, 0 handed to the hub, 0 closed, 0 warned, 0 stale, 0 failed",
        ": 0 escalated, 1 handed to the hub, 0 closed, 0 warned, 0 stale, 0 failed",
        ": 0 escalated, 0 handed to the hub, 0 closed, 0 warned, 0 stale, 0 failed",
    };
    for (const auto& expected : rounds) {
      auto swept =
          run_tawasul({"sweep", "--data", ksu_dir.string(), "--now-ms", std::to_string(now_ms)});
      INFO(swept.output);
      REQUIRE(swept.exit_code == 0);
      CHECK(contains(swept.output, expected));
      now_ms += 30LL * 24 * 3600 * 1000;
    }

    Daemon restarted("KSU",
                     {"run", "--data", ksu_dir.string(), "--http.listen",
                      "127.0.0.1:" + std::to_string(ksu_http), "--federation.hub", endpoint,
                      "--federation.hub_key", hub_key},
                     tmp / "ksu2.log");
    REQUIRE(wait_healthy(ksu_http));
    auto r = node.call("GET", "/api/v1/cases/" + tn, nullptr, owner);
    INFO(r.body.dump());
    REQUIRE(r.status == 200);
    const json at_node = r.body;
    CHECK(at_node["status"] == "assigned");
    CHECK(at_node["level"] == 3);
    const auto steps = entries(at_node, "escalate");
    REQUIRE(steps.size() == 3);
    const std::vector<json> names = {kStipends, kDeanship, kUniversity};
    for (std::size_t i = 0; i < steps.size(); ++i) {
      INFO("step " << i << ": " << steps[i].dump());
      CHECK(steps[i]["level"] == static_cast<int>(i) + 1);
      CHECK(steps[i]["level_name"] == names[i]);
      CHECK(steps[i]["reason"] == "sla_breach");
    }
    const json& hand_off = at_node["history"].back();
    CHECK(hand_off["event"] == "handed_to_hub");
    CHECK(hand_off["level"] == 4);
    CHECK(hand_off["level_name"] == kMinistry);
    CHECK(hand_off["reason"] == "sla_breach");

    // Back on line, the node streams the sweeper's events to the hub.
    CHECK(replicated(at_node)["history"] == at_node["history"]);
    REQUIRE(restarted.stop() == 0);
  }

  if (!node_stopped) CHECK(ksu.stop() == 0);
  CHECK(hub.stop() == 0);
  for (const auto& dir : {hub_dir, ksu_dir}) {
    auto v = run_tawasul({"verify", "--data", dir.string()});
    INFO(v.output);
    CHECK(v.exit_code == 0);
  }
}
