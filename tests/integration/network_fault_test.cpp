// A real hub and a real node whose federation link runs through a
// fault-injecting TCP proxy (fault_proxy.hpp): under each fault every case
// reaches the hub exactly once, and both stores verify.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "fault_proxy.hpp"
#include "federation_util.hpp"
#include "launcher.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using namespace std::chrono_literals;

namespace {

// Longer than the node's ZMTP heartbeat timeout (3 s): the link is noticed dead.
constexpr auto kOutage = 4s;
// How long the throttled link is watched for a dropped connection.
constexpr auto kSlowWatch = 6s;

enum class Fault { kDelay, kReset, kBlackhole, kClose, kThrottle };

const char* fault_name(Fault f) {
  switch (f) {
    case Fault::kDelay:
      return "delay 300 ms";
    case Fault::kReset:
      return "reset (RST) mid-stream";
    case Fault::kBlackhole:
      return "blackhole for 4 s";
    case Fault::kClose:
      return "connections closed for 4 s";
    case Fault::kThrottle:
      return "throttle to 50 kbit/s";
  }
  return "?";
}

bool node_streaming(int port) {
  auto h = http_get(port, "/api/v1/health");
  return h && h->status == 200 && h->body["federation"]["streaming"] == true;
}

}  // namespace

TEST_CASE("under network faults between node and hub every case arrives exactly once",
          "[integration][federation][faults]") {
  const Fault fault =
      GENERATE(Fault::kDelay, Fault::kReset, Fault::kBlackhole, Fault::kClose, Fault::kThrottle);
  INFO("fault: " << fault_name(fault));
  TempDir tmp("netfault");
  const HubAndNode fed(tmp);
  const auto& [hub_dir, ksu_dir, hub_http, ksu_http] = fed;
  const int hub_fed = free_port();
  FaultProxy proxy(hub_fed);
  Daemon hub("hub", fed.hub_args("tcp://127.0.0.1:" + std::to_string(hub_fed)), tmp / "hub.log");
  Daemon ksu("KSU", fed.node_args("tcp://127.0.0.1:" + std::to_string(proxy.port())),
             tmp / "ksu.log");
  INFO(hub.log() + ksu.log());
  REQUIRE(wait_healthy(hub_http));
  REQUIRE(wait_healthy(ksu_http));

  std::vector<Receipt> filed;
  auto file = [&](int count) {
    for (int i = 0; i < count; ++i)
      filed.push_back(file_case(ksu_http, "KSU", static_cast<int>(filed.size())));
  };
  auto all_at_hub = [&] { return hub_cases(hub_http) == filed.size(); };

  // A working link first.
  file(2);
  REQUIRE(wait_until(all_at_hub));
  REQUIRE(wait_until([&] { return node_streaming(ksu_http); }));

  switch (fault) {
    case Fault::kDelay:
      proxy.set({FaultProxy::Mode::kDelay, 300, 0});
      file(3);
      REQUIRE(wait_until(all_at_hub, 20s));
      break;
    case Fault::kReset:
      file(3);
      proxy.reset_all();
      std::this_thread::sleep_for(300ms);
      file(3);
      proxy.reset_all();
      REQUIRE(wait_until(all_at_hub, 20s));
      CHECK(proxy.accepted() >= 2);  // the node reconnected
      break;
    case Fault::kBlackhole:
    case Fault::kClose:
      proxy.set(
          {fault == Fault::kBlackhole ? FaultProxy::Mode::kBlackhole : FaultProxy::Mode::kClose, 0,
           0});
      file(3);
      std::this_thread::sleep_for(kOutage);
      CHECK(hub_cases(hub_http) == 2);  // nothing got through
      proxy.set({});
      REQUIRE(wait_until(all_at_hub, 20s));
      break;
    case Fault::kThrottle: {
      proxy.set({FaultProxy::Mode::kThrottle, 0, kSlowLinkBytesPerSecond});
      const int connections = proxy.accepted();
      file(3);
      // Heartbeats stay live: the node stays connected and streaming
      // throughout, on the very same connection.
      const auto until = std::chrono::steady_clock::now() + kSlowWatch;
      while (std::chrono::steady_clock::now() < until) {
        CHECK(node_streaming(ksu_http));
        std::this_thread::sleep_for(250ms);
      }
      REQUIRE(wait_until(all_at_hub, 20s));
      CHECK(proxy.accepted() == connections);
      break;
    }
  }
  proxy.set({});

  // Exactly once each at the hub, and both stores verify.
  CHECK(hub.stop() == 0);
  CHECK(ksu.stop() == 0);
  check_exactly_once(hub_dir, filed);
  check_verify({hub_dir, ksu_dir});
}
