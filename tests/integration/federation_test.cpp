// A real hub and two real sector nodes, as separate processes, over HTTP and
// CurveZMQ on loopback.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "federation_util.hpp"
#include "launcher.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using nlohmann::json;

TEST_CASE("cases filed at two real nodes reach the real hub exactly once, across a hub restart",
          "[integration][federation]") {
  TempDir tmp("fed");
  const auto hub_dir = tmp / "hub";
  const auto ksu_dir = tmp / "KSU";
  const auto ruh_dir = tmp / "RUH";
  init(hub_dir, "hub", "MOE");
  init(ksu_dir, "node", "KSU");
  init(ruh_dir, "node", "RUH");
  enroll(hub_dir, ksu_dir);
  enroll(hub_dir, ruh_dir);

  const int hub_http = free_port();
  const int hub_fed = free_port();
  const int ksu_http = free_port();
  const int ruh_http = free_port();
  const std::string hub_endpoint = "tcp://127.0.0.1:" + std::to_string(hub_fed);
  const std::string hub_key = hub_curve_key(hub_dir);

  const std::vector<std::string> hub_args = {"run",
                                             "--data",
                                             hub_dir.string(),
                                             "--http.listen",
                                             "127.0.0.1:" + std::to_string(hub_http),
                                             "--federation.listen",
                                             hub_endpoint};
  // KSU runs from an INI config file (hub key in hex), RUH from command-line
  // options only (hub key in Z85).
  {
    std::ofstream conf(ksu_dir / "test.conf");
    conf << "data = " << ksu_dir.string() << "\n[http]\nlisten = 127.0.0.1:" << ksu_http
         << "\n[federation]\nhub = " << hub_endpoint
         << "\nhub_key = " << hub_curve_key(hub_dir, "curve_public_hex") << "\n";
  }
  auto hub = std::make_unique<Daemon>("hub", hub_args, tmp / "hub.log");
  Daemon ksu("KSU", {"run", "--config", (ksu_dir / "test.conf").string()}, tmp / "ksu.log");
  Daemon ruh(
      "RUH",
      {"run", "--data", ruh_dir.string(), "--http.listen", "127.0.0.1:" + std::to_string(ruh_http),
       "--federation.hub", hub_endpoint, "--federation.hub_key", hub_key},
      tmp / "ruh.log");
  INFO(hub->log() + ksu.log() + ruh.log());
  REQUIRE(wait_healthy(hub_http));
  REQUIRE(wait_healthy(ksu_http));
  REQUIRE(wait_healthy(ruh_http));

  std::vector<Receipt> filed;
  auto file_round = [&](int count) {
    for (int i = 0; i < count; ++i) {
      filed.push_back(file_case(ksu_http, "KSU", static_cast<int>(filed.size())));
      filed.push_back(file_case(ruh_http, "RUH", static_cast<int>(filed.size())));
    }
  };

  // 1. Filed while everything runs.
  file_round(5);
  REQUIRE(wait_until([&] { return hub_cases(hub_http) == filed.size(); }));
  for (const auto& r : filed) {
    auto at_hub = http_get(hub_http, "/api/v1/cases/" + r.tracking_number, r.access_code);
    REQUIRE(at_hub);
    REQUIRE(at_hub->status == 200);
    CHECK(at_hub->body["tracking_number"] == r.tracking_number);
    CHECK(at_hub->body["subject"] == r.subject);
    CHECK(at_hub->body["owner"] == r.tracking_number.substr(0, 3));
    CHECK_FALSE(at_hub->body.dump().find("+966") != std::string::npos);
  }
  // The access code is required at the hub as at the node.
  auto wrong =
      http_get(hub_http, "/api/v1/cases/" + filed[0].tracking_number, filed[1].access_code);
  REQUIRE(wrong);
  CHECK(wrong->status == 404);
  auto missing = http_get(hub_http, "/api/v1/cases/" + filed[0].tracking_number);
  REQUIRE(missing);
  CHECK(missing->status == 404);

  // 2. The hub goes down; the nodes keep serving and keep their events.
  REQUIRE(hub->stop() == 0);
  hub.reset();
  file_round(5);
  CHECK(filed.size() == 20);

  // 3. The hub comes back on the same ports; the nodes catch up by themselves.
  hub = std::make_unique<Daemon>("hub", hub_args, tmp / "hub2.log");
  REQUIRE(wait_healthy(hub_http));
  REQUIRE(
      wait_until([&] { return hub_cases(hub_http) == filed.size(); }, std::chrono::seconds(30)));
  file_round(2);
  REQUIRE(
      wait_until([&] { return hub_cases(hub_http) == filed.size(); }, std::chrono::seconds(30)));

  auto health = http_get(hub_http, "/api/v1/health");
  REQUIRE(health);
  CHECK(health->body["streams"]["KSU"] == 12);
  CHECK(health->body["streams"]["RUH"] == 12);
  CHECK(health->body["cases"] == 24);
  for (const auto& r : filed) {
    auto at_hub = http_get(hub_http, "/api/v1/cases/" + r.tracking_number, r.access_code);
    REQUIRE(at_hub);
    CHECK(at_hub->status == 200);
    auto at_node = http_get(r.tracking_number.starts_with("KSU") ? ksu_http : ruh_http,
                            "/api/v1/cases/" + r.tracking_number, r.access_code);
    REQUIRE(at_node);
    CHECK(at_node->status == 200);
    CHECK(at_node->body == at_hub->body);
  }
  // The nodes learnt the hub's acknowledgement.
  REQUIRE(wait_until([&] {
    auto h = http_get(ksu_http, "/api/v1/health");
    return h && h->body["federation"]["acked"] == 12;
  }));

  CHECK(hub->stop() == 0);
  CHECK(ksu.stop() == 0);
  CHECK(ruh.stop() == 0);

  // Every case is at the hub exactly once, and every store the test leaves
  // behind verifies.
  check_exactly_once(hub_dir, filed);
  check_verify({hub_dir, ksu_dir, ruh_dir});
}

TEST_CASE("a node whose key is not enrolled never reaches the hub", "[integration][federation]") {
  TempDir tmp("unenrolled");
  const auto hub_dir = tmp / "hub";
  const auto rogue_dir = tmp / "RUX";
  init(hub_dir, "hub", "MOE");
  init(rogue_dir, "node", "RUX");
  const int hub_http = free_port();
  const int hub_fed = free_port();
  const int rogue_http = free_port();
  const std::string hub_endpoint = "tcp://127.0.0.1:" + std::to_string(hub_fed);
  Daemon hub("hub",
             {"run", "--data", hub_dir.string(), "--http.listen",
              "127.0.0.1:" + std::to_string(hub_http), "--federation.listen", hub_endpoint},
             tmp / "hub.log");
  Daemon rogue("RUX",
               {"run", "--data", rogue_dir.string(), "--http.listen",
                "127.0.0.1:" + std::to_string(rogue_http), "--federation.hub", hub_endpoint,
                "--federation.hub_key", hub_curve_key(hub_dir)},
               tmp / "rux.log");
  REQUIRE(wait_healthy(hub_http));
  REQUIRE(wait_healthy(rogue_http));
  auto receipt = file_case(rogue_http, "RUX", 1);
  // The hub refuses the connection at the ZAP handshake and says so in its log.
  REQUIRE(wait_until([&] { return hub.log().find("refused a connection") != std::string::npos; }));
  auto health = http_get(hub_http, "/api/v1/health");
  REQUIRE(health);
  CHECK(health->body["cases"] == 0);
  CHECK_FALSE(health->body["streams"].contains("RUX"));
  auto lookup = http_get(hub_http, "/api/v1/cases/" + receipt.tracking_number, receipt.access_code);
  REQUIRE(lookup);
  CHECK(lookup->status == 404);
  // The node still serves its own beneficiaries.
  auto local =
      http_get(rogue_http, "/api/v1/cases/" + receipt.tracking_number, receipt.access_code);
  REQUIRE(local);
  CHECK(local->status == 200);
  auto rogue_health = http_get(rogue_http, "/api/v1/health");
  REQUIRE(rogue_health);
  CHECK(rogue_health->body["federation"]["streaming"] == false);
}

TEST_CASE("after tawasul rotate-key the backlog signed by the old key and new events reach the hub",
          "[integration][federation][rotation]") {
  TempDir tmp("rotate");
  const HubAndNode fed(tmp);
  const auto& [hub_dir, ksu_dir, hub_http, ksu_http] = fed;
  const std::string hub_endpoint = "tcp://127.0.0.1:" + std::to_string(free_port());
  const auto ksu_args = fed.node_args(hub_endpoint);

  // Key A signs events 1..2 while the hub is down: a backlog it never saw.
  std::vector<Receipt> filed;
  {
    Daemon ksu("KSU", ksu_args, tmp / "ksu1.log");
    REQUIRE(wait_healthy(ksu_http));
    filed.push_back(file_case(ksu_http, "KSU", 0));
    filed.push_back(file_case(ksu_http, "KSU", 1));
    REQUIRE(ksu.stop() == 0);
  }
  // Rotated to key B, re-enrolled from identity.pub.
  auto rotated = run_tawasul({"rotate-key", "--data", ksu_dir.string()});
  INFO(rotated.output);
  REQUIRE(rotated.exit_code == 0);
  CHECK(rotated.output.find("signed events 1..2") != std::string::npos);
  auto reenrolled = run_tawasul({"enroll", "--replace", "--data", hub_dir.string(), "--from",
                                 (ksu_dir / "identity.pub").string()});
  INFO(reenrolled.output);
  REQUIRE(reenrolled.exit_code == 0);

  // Key B signs event 3; the hub takes 1..3.
  Daemon hub("hub", fed.hub_args(hub_endpoint), tmp / "hub.log");
  Daemon ksu("KSU", ksu_args, tmp / "ksu2.log");
  INFO(hub.log() + ksu.log());
  REQUIRE(wait_healthy(hub_http));
  REQUIRE(wait_healthy(ksu_http));
  filed.push_back(file_case(ksu_http, "KSU", 2));
  REQUIRE(wait_until([&] { return hub_cases(hub_http) == filed.size(); }));
  CHECK(hub.stop() == 0);
  CHECK(ksu.stop() == 0);
  check_exactly_once(hub_dir, filed);
  check_verify({hub_dir, ksu_dir});
}
