// The national calendar from the hub (federation/PROTOCOL.md, "The national
// calendar"): a real hub started with a national_calendar file that closes one
// day more, a real node that receives it, keeps it across a restart without
// the hub, and files cases due after the closed day; and a hub refusing a bad
// file. Free ports and temporary directories; readiness is polled.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>

#include "launcher.hpp"
#include "node/calendar.hpp"
#include "node/time_util.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using nlohmann::json;
namespace node = tawasul::node;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void init(const std::filesystem::path& dir, const std::string& role, const std::string& code) {
  auto r = run_tawasul({"init", "--role", role, "--code", code, "--data", dir.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json file_case(int port) {
  json body{{"type", "complaint"},
            {"subject", "تأخر صرف المكافأة"},
            {"description", "لم تصرف المكافأة الشهرية حتى الآن"},
            {"channel", "portal"},
            {"beneficiary", {{"name", "مستفيد"}, {"phone", "+966501234567"}}}};
  auto r = http_post_json(port, "/api/v1/cases", body.dump());
  REQUIRE(r);
  INFO(r->body.dump());
  REQUIRE(r->status == 201);
  return r->body;
}

}  // namespace

TEST_CASE("a node computes due dates with the national calendar its hub sends, and keeps it",
          "[integration][federation][calendar]") {
  TempDir tmp("natcal");
  const auto hub_dir = tmp / "hub";
  const auto ksu_dir = tmp / "KSU";
  init(hub_dir, "hub", "MOE");
  init(ksu_dir, "node", "KSU");
  {
    auto r = run_tawasul(
        {"enroll", "--data", hub_dir.string(), "--from", (ksu_dir / "identity.pub").string()});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }

  // The national file: the defaults with the next working day closed, so
  // every case filed now counts past it.
  const std::string defaults =
      slurp(std::filesystem::path(TAWASUL_SOURCE_DIR) / "deploy" / "calendar" / "saudi.conf");
  REQUIRE_FALSE(defaults.empty());
  const auto closed = node::national_calendar()->next_working_day(node::riyadh_date(now_ms()));
  const std::string national_text =
      defaults + "close " + closed.iso() + " \"إجازة بأمر سام\" \"Holiday by decree\"\n";
  std::ofstream(tmp / "national.conf") << national_text;
  auto with_closure = node::WorkingCalendar::load({{national_text, "national.conf"}});
  REQUIRE(with_closure);
  const auto without_closure = node::national_calendar();

  const int hub_http = free_port();
  const int ksu_http = free_port();
  const std::string hub_endpoint = "tcp://127.0.0.1:" + std::to_string(free_port());
  const json hub_pub = json::parse(slurp(hub_dir / "identity.pub"));
  auto hub = std::make_unique<Daemon>(
      "hub",
      std::vector<std::string>{"run", "--data", hub_dir.string(), "--http.listen",
                               "127.0.0.1:" + std::to_string(hub_http), "--federation.listen",
                               hub_endpoint, "--national_calendar",
                               (tmp / "national.conf").string()},
      tmp / "hub.log");
  {
    std::ofstream conf(ksu_dir / "test.conf");
    conf << "data = " << ksu_dir.string() << "\n[http]\nlisten = 127.0.0.1:" << ksu_http
         << "\n[federation]\nhub = " << hub_endpoint
         << "\nhub_key = " << hub_pub["curve_public_hex"].get<std::string>()
         << "\nhub_sign_key = " << hub_pub["sign_public"].get<std::string>() << "\n";
  }
  const std::vector<std::string> ksu_args = {"run", "--config", (ksu_dir / "test.conf").string()};
  auto ksu = std::make_unique<Daemon>("KSU", ksu_args, tmp / "ksu.log");
  INFO(hub->log() + ksu->log());
  REQUIRE(wait_healthy(hub_http));
  REQUIRE(wait_healthy(ksu_http));
  CHECK(hub->log().find("is version 1, distributed to the nodes") != std::string::npos);
  REQUIRE(wait_until([&] {
    return ksu->log().find("national calendar version 1 from the hub stored and in use") !=
           std::string::npos;
  }));

  // The due date skips the closed day: later than without it, exactly as the
  // calendar library computes it with the hub's file.
  auto check_due = [&](const json& receipt) {
    INFO(receipt.dump());
    auto submitted = node::parse_iso8601(receipt["submitted_at"].get<std::string>());
    REQUIRE(submitted);
    const auto due = receipt["due_at"].get<std::string>();
    CHECK(due == node::iso8601_utc((*with_closure)->add_working_days(*submitted, 5)));
    CHECK(due != node::iso8601_utc(without_closure->add_working_days(*submitted, 5)));
  };
  check_due(file_case(ksu_http));

  // The hub goes away; the node restarts alone and still has the calendar.
  REQUIRE(hub->stop() == 0);
  hub.reset();
  REQUIRE(ksu->stop() == 0);
  ksu = std::make_unique<Daemon>("KSU", ksu_args, tmp / "ksu2.log");
  REQUIRE(wait_healthy(ksu_http));
  CHECK(ksu->log().find("using national calendar version 1 received from the hub") !=
        std::string::npos);
  check_due(file_case(ksu_http));
  CHECK(ksu->stop() == 0);

  auto v = run_tawasul({"verify", "--data", ksu_dir.string()});
  INFO(v.output);
  CHECK(v.exit_code == 0);
}

TEST_CASE("a hub refuses to start on a bad national calendar, naming the file and line",
          "[integration][federation][calendar]") {
  TempDir tmp("natcal-bad");
  const auto hub_dir = tmp / "hub";
  init(hub_dir, "hub", "MOE");
  const auto bad = tmp / "national.conf";
  std::ofstream(bad) << "weekend fri sat\n\nclose 2027-02-30 \"إغلاق\" \"Closure\"\n";
  auto r = run_tawasul({"run", "--data", hub_dir.string(), "--http.listen",
                        "127.0.0.1:" + std::to_string(free_port()), "--federation.listen",
                        "tcp://127.0.0.1:" + std::to_string(free_port()), "--national_calendar",
                        bad.string()});
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find(bad.string() + " line 3") != std::string::npos);
}
