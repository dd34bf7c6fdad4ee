// A case's whole life on a real node process over HTTP, replicated to a real
// hub: a call-centre filing, assignment, a transfer, a request for
// information and the beneficiary's reply, an answer and its acceptance.
#include <catch2/catch.hpp>

#include <httplib.h>
#include <fstream>
#include <sstream>

#include "integration_util.hpp"
#include "launcher.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using nlohmann::json;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE(
    "a case lives its whole life on a real node over HTTP, and the hub shows the same history",
    "[integration][lifecycle]") {
  TempDir tmp("life");
  const auto hub_dir = tmp / "hub";
  const auto ksu_dir = tmp / "KSU";
  ok(run_tawasul({"init", "--role", "hub", "--code", "MOE", "--data", hub_dir.string()}));
  ok(run_tawasul({"init", "--role", "node", "--code", "KSU", "--data", ksu_dir.string()}));
  ok(run_tawasul(
      {"enroll", "--data", hub_dir.string(), "--from", (ksu_dir / "identity.pub").string()}));
  ok(run_tawasul({"org", "load", "--data", ksu_dir.string(), "--file",
                  TAWASUL_SOURCE_DIR "/deploy/org/ksu.json"}));
  // A tree for another node is refused, and so is a broken one.
  CHECK(run_tawasul({"org", "load", "--data", ksu_dir.string(), "--file",
                     TAWASUL_SOURCE_DIR "/deploy/org/ruh.json"})
            .exit_code != 0);
  {
    std::ofstream pw(tmp / "pw");
    pw << "correct horse battery\n";
  }
  const std::vector<std::pair<std::string, std::vector<std::string>>> staff = {
      {"agent", {"--unit", "KSU", "--role", "call_centre_agent"}},
      {"coord", {"--unit", "KSU", "--role", "coordinator"}},
      {"head", {"--unit", "KSU.SA", "--role", "unit_head"}},
      {"emp", {"--unit", "KSU.SA", "--role", "employee"}},
  };
  for (const auto& [id, extra] : staff) {
    std::vector<std::string> args = {
        "staff", "add",    "--data",     ksu_dir.string(),  "--id",
        id,      "--name", "موظف " + id, "--password-file", (tmp / "pw").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    ok(run_tawasul(args));
  }
  CHECK(
      run_tawasul({"staff", "add", "--data", ksu_dir.string(), "--id", "x", "--name", "ab",
                   "--unit", "KSU", "--role", "employee", "--password-file", (tmp / "pw").string()})
          .exit_code != 0);  // id too short

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
  REQUIRE(wait_healthy(hub_http));
  REQUIRE(wait_healthy(ksu_http));
  Http node{ksu_http};
  const auto agent = bearer(node.login("agent"));
  const auto coord = bearer(node.login("coord"));
  const auto head = bearer(node.login("head"));
  const auto emp = bearer(node.login("emp"));

  // 1. A caller phones the call centre; the agent files for her.
  json filing{{"type", "demand"},
              {"subject", "تأخر صرف المكافأة"},
              {"description", "لم تصرف مكافأة الشهر الماضي حتى الآن."},
              {"channel", "portal"},
              {"beneficiary", {{"name", "هيا السبيعي"}, {"phone", "+966 55 123 4567"}}}};
  auto filed = node.call("POST", "/api/v1/cases", filing, agent);
  REQUIRE(filed.status == 201);
  const std::string tn = filed.body["tracking_number"];
  const httplib::Headers owner = {{"X-Access-Code", filed.body["access_code"].get<std::string>()}};
  // A new case sits at the node's root: the coordinator sees it, the
  // deanship's head does not yet.
  CHECK(node.call("GET", "/api/v1/cases/" + tn, nullptr, head).status == 403);
  auto staff_view = node.call("GET", "/api/v1/cases/" + tn, nullptr, coord);
  REQUIRE(staff_view.status == 200);
  CHECK(staff_view.body["channel"] == "call_centre");
  CHECK(staff_view.body["filed_by"] == "agent");

  auto act = [&](const httplib::Headers& who, const std::string& action, const json& fields,
                 int expected = 200) {
    auto r = node.call("POST", "/api/v1/cases/" + tn + "/actions/" + action, fields, who);
    INFO(action << ": " << r.body.dump());
    CHECK(r.status == expected);
    return r;
  };
  // 2. Routed, transferred within the node, worked on.
  act(coord, "assign", {{"unit", "KSU.NOPE"}}, 400);   // not a unit of this node
  act(head, "assign", {{"unit", "KSU.SA.FIN"}}, 403);  // not yet in the head's subtree
  act(coord, "assign", {{"unit", "KSU.SA"}});
  act(head, "assign", {{"unit", "KSU.SA.FIN"}});
  act(agent, "start", json::object(), 403);  // agents file, they do not handle
  act(emp, "start", json::object());
  act(emp, "add_note", {{"text", "راجعت كشف المكافآت: الاسم غير مدرج"}});
  act(emp, "transfer", {{"to_unit", "KSU.SA.HOU"}, {"reason", "المكافأة مرتبطة بالسكن الجامعي"}});
  act(emp, "answer", {{"answer", "x"}}, 409);  // assigned again: start first
  act(emp, "start", json::object());
  // 3. A question to the beneficiary, and her reply with the access code.
  act(emp, "request_info", {{"question", "ما رقمك الجامعي؟"}});
  auto waiting = node.call("GET", "/api/v1/cases/" + tn, nullptr, owner);
  CHECK(waiting.body["status"] == "waiting_for_beneficiary");
  CHECK(waiting.body["question"] == "ما رقمك الجامعي؟");
  REQUIRE(
      node.call("POST", "/api/v1/cases/" + tn + "/reply", {{"reply", "441234567"}}, owner).status ==
      200);
  // 4. The answer, and the beneficiary accepts it.
  act(emp, "answer", {{"answer", "تم إدراج اسمك وستصرف المكافأة يوم الأحد."}});
  auto accepted = node.call("POST", "/api/v1/cases/" + tn + "/accept", nullptr, owner);
  REQUIRE(accepted.status == 200);
  CHECK(accepted.body["status"] == "closed");

  const json public_view = node.call("GET", "/api/v1/cases/" + tn, nullptr, owner).body;
  std::vector<std::string> events;
  for (const auto& h : public_view["history"]) events.push_back(h["event"]);
  CHECK(events == std::vector<std::string>{"filed", "assign", "assign", "start", "transfer",
                                           "start", "request_info", "provide_info", "answer",
                                           "close"});
  CHECK(public_view.dump().find("راجعت كشف المكافآت") == std::string::npos);  // the internal note
  CHECK(public_view.dump().find("المكافأة مرتبطة بالسكن الجامعي") !=
        std::string::npos);  // transfer reason

  // 5. The hub shows the same history.
  Http at_hub{hub_http};
  REQUIRE(wait_until([&] {
    return at_hub.call("GET", "/api/v1/cases/" + tn, nullptr, owner).body == public_view;
  }));

  CHECK(ksu.stop() == 0);
  CHECK(hub.stop() == 0);
  for (const auto& dir : {hub_dir, ksu_dir}) {
    auto v = run_tawasul({"verify", "--data", dir.string()});
    INFO(v.output);
    CHECK(v.exit_code == 0);
  }
}
