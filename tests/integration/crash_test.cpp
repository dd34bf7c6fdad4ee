// A real `tawasul` process killed (SIGKILL) between the detection of a
// breach and the commit of its escalation: after the restart the breach is
// escalated exactly once (node/SLA.md, "The sweeper: exactly once per
// breach"). The kill comes from the failpoint TAWASUL_FAILPOINT=
// sweeper.before_commit:kill, inside the write transaction after the
// escalation is appended; the sweep runs through `tawasul sweep` at a time
// past the case's deadline.
#include <catch2/catch.hpp>

#include "integration_util.hpp"
#include "launcher.hpp"
#include "node/time_util.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using nlohmann::json;
namespace node = tawasul::node;

namespace {

// `tawasul verify`'s report ("verified DIR: KSU 2 events; 1 cases"): the
// chain heads and the case count, to compare before and after.
std::string verified(const std::filesystem::path& dir) {
  auto r = run_tawasul({"verify", "--data", dir.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return r.output;
}

}  // namespace

TEST_CASE("a node killed between a breach and its commit escalates it exactly once after restart",
          "[integration][crash]") {
  TempDir tmp("crash");
  const auto dir = tmp / "KSU";
  ok(run_tawasul({"init", "--role", "node", "--code", "KSU", "--data", dir.string()}));
  // The sample tree names a head (by post) for every unit: the ladder has a level 1.
  ok(run_tawasul({"org", "load", "--data", dir.string(), "--file",
                  TAWASUL_SOURCE_DIR "/deploy/org/ksu.json"}));

  // A case filed over HTTP at a real node, which then stops cleanly.
  const int port = free_port();
  const std::vector<std::string> run_args = {"run", "--data", dir.string(), "--http.listen",
                                             "127.0.0.1:" + std::to_string(port)};
  std::string tn;
  std::string code;
  std::int64_t due_ms = 0;
  {
    Daemon node("KSU", run_args, tmp / "run1.log");
    REQUIRE(wait_healthy(port));
    json filing{{"type", "complaint"},
                {"subject", "تأخر صرف المكافأة"},
                {"description", "لم تصرف مكافأة الشهر الماضي حتى الآن."},
                {"channel", "portal"},
                {"beneficiary", {{"name", "هيا السبيعي"}, {"email", "haya@example.sa"}}}};
    auto filed = http_post_json(port, "/api/v1/cases", filing.dump());
    REQUIRE(filed);
    INFO(filed->body.dump());
    REQUIRE(filed->status == 201);
    tn = filed->body["tracking_number"];
    code = filed->body["access_code"];
    due_ms = node::parse_iso8601(filed->body["due_at"].get<std::string>()).value();
    INFO(node.log());
    REQUIRE(node.stop() == 0);
  }
  // A day after the deadline (due_at is shown to the second).
  const std::int64_t sweep_ms = due_ms + 24LL * 3600 * 1000;
  const std::string sweep_at = node::iso8601_utc(sweep_ms);
  const std::string before = verified(dir);
  CHECK(contains(before, "KSU 1 events"));

  SECTION("bad input to tawasul sweep is refused with exit code 2 and changes nothing") {
    struct Refusal {
      std::vector<std::string> args;
      std::vector<std::string> env;
      std::string says;
    };
    const std::vector<Refusal> refusals = {
        {{"--data", dir.string(), "--now", "next tuesday"}, {}, "--now must be"},
        {{"--data", dir.string(), "--now", "2026-02-30T09:00:00Z"}, {}, "--now must be"},
        {{"--data", dir.string(), "--now", "2026-12-10T09:00:00"}, {}, "--now must be"},
        {{"--data", dir.string(), "--now-ms", "12x"}, {}, "--now-ms must be"},
        {{"--data", dir.string(), "--now", sweep_at, "--now-ms", "1"}, {}, "not both"},
        {{"--data", dir.string(), "--now", "2000-01-01T00:00:00Z"}, {}, "back in time"},
        {{"--data", dir.string(), "--no-such-option"}, {}, "no-such-option"},
        {{"--now", sweep_at}, {}, "--data"},
        {{"--data", (tmp / "nowhere").string()}, {}, "no store"},
        {{"--data", dir.string(), "--now", sweep_at},
         {"TAWASUL_FAILPOINT=sweeper.nowhere:kill"},
         "unknown failpoint 'sweeper.nowhere'"},
        {{"--data", dir.string(), "--now", sweep_at},
         {"TAWASUL_FAILPOINT=sweeper.before_commit:explode"},
         "unknown action 'explode'"},
    };
    for (const auto& refusal : refusals) {
      std::vector<std::string> args = {"sweep"};
      args.insert(args.end(), refusal.args.begin(), refusal.args.end());
      auto r = run_tawasul(args, refusal.env);
      INFO(r.output);
      CHECK(r.exit_code == 2);
      CHECK(contains(r.output, refusal.says));
    }
    // The daemon refuses an unknown failpoint too, before it serves.
    Daemon refused("KSU", run_args, tmp / "refused.log",
                   {"TAWASUL_FAILPOINT=sweeper.before_commit"});
    REQUIRE(wait_until([&] { return !refused.running(); }));
    CHECK(contains(refused.log(), "is not NAME:ACTION"));
    CHECK(verified(dir) == before);
  }

  SECTION("killed inside the transaction, then swept again: one escalation, then none") {
    auto killed = run_tawasul({"sweep", "--data", dir.string(), "--now", sweep_at},
                              {"TAWASUL_FAILPOINT=sweeper.before_commit:kill"});
    INFO(killed.output);
    REQUIRE(killed.exit_code == -SIGKILL);
    CHECK_FALSE(contains(killed.output, "swept KSU"));  // it died inside the round
    // The open transaction died with the process: nothing was committed.
    CHECK(verified(dir) == before);

    auto first =
        run_tawasul({"sweep", "--data", dir.string(), "--now-ms", std::to_string(sweep_ms)});
    INFO(first.output);
    REQUIRE(first.exit_code == 0);
    CHECK(contains(first.output, "case " + tn + " (due "));
    CHECK(contains(first.output, "escalated to level 1 (KSU)"));
    CHECK(contains(first.output,
                   ": 1 escalated, 0 handed to the hub, 0 closed, 0 warned, 0 stale, 0 failed"));
    CHECK(contains(verified(dir), "KSU 2 events"));

    auto second = run_tawasul({"sweep", "--data", dir.string(), "--now", sweep_at});
    INFO(second.output);
    REQUIRE(second.exit_code == 0);
    CHECK(contains(second.output,
                   ": 0 escalated, 0 handed to the hub, 0 closed, 0 warned, 0 stale, 0 failed"));
    CHECK(contains(verified(dir), "KSU 2 events"));

    // The node, started again, shows one escalation in the case's history.
    Daemon node("KSU", run_args, tmp / "run2.log");
    REQUIRE(wait_healthy(port));
    auto view = http_get(port, "/api/v1/cases/" + tn, code);
    REQUIRE(view);
    INFO(view->body.dump());
    REQUIRE(view->status == 200);
    int escalations = 0;
    for (const auto& h : view->body["history"]) {
      if (h["event"] != "escalate") continue;
      ++escalations;
      CHECK(h["level"] == 1);
    }
    CHECK(escalations == 1);
    CHECK(view->body["level"] == 1);
    CHECK(view->body["status"] == "assigned");
    INFO(node.log());
    REQUIRE(node.stop() == 0);
    CHECK(contains(verified(dir), "KSU 2 events"));
  }
}
