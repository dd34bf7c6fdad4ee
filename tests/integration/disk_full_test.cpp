// A full disk, with a real node process: its file-size limit is lowered
// from outside (prlimit(2), as LimitFSIZE= or a full filesystem would stop
// its writes) while clients file cases. Filing is answered 507 with nothing
// stored; every case that got a 201 survives; once space returns the node
// files again by itself, with no restart; the store verifies.
#include <sys/resource.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "integration_util.hpp"
#include "launcher.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using nlohmann::json;

namespace {

void set_file_size_limit(pid_t pid, rlim_t soft) {
  rlimit limit{};
  REQUIRE(::prlimit(pid, RLIMIT_FSIZE, nullptr, &limit) == 0);
  limit.rlim_cur = soft;
  REQUIRE(::prlimit(pid, RLIMIT_FSIZE, &limit, nullptr) == 0);
}

json filing(int i) {
  return json{{"type", "complaint"},
              {"subject", "تأخر صرف المكافأة " + std::to_string(i)},
              {"description", std::string(1500, 'x')},
              {"channel", "portal"},
              {"beneficiary", {{"name", "سارة أحمد"}, {"phone", "+966501234567"}}}};
}

struct Receipt {
  std::string tracking_number;
  std::string access_code;
};

}  // namespace

TEST_CASE("a full disk is answered 507, loses nothing acknowledged, and passes by itself",
          "[integration][storage]") {
  TempDir tmp("disk-full");
  const auto dir = tmp / "KSU";
  ok(run_tawasul({"init", "--role", "node", "--code", "KSU", "--data", dir.string()}));
  const int port = free_port();
  {
    std::ofstream conf(tmp / "test.conf");
    conf << "data = " << dir.string() << "\n[http]\nlisten = 127.0.0.1:" << port << "\n";
  }
  const std::vector<std::string> args{"run", "--config", (tmp / "test.conf").string()};
  Daemon node("KSU", args, tmp / "ksu.log");
  REQUIRE(wait_healthy(port));
  std::vector<Receipt> receipts;
  auto file = [&](int i) {
    auto r = http_post_json(port, "/api/v1/cases", filing(i).dump());
    REQUIRE(r);
    if (r->status == 201) receipts.push_back({r->body["tracking_number"], r->body["access_code"]});
    return *r;
  };
  for (int i = 0; i < 5; ++i) REQUIRE(file(i).status == 201);

  // The disk fills: the data file may not grow past its size now.
  const auto size = std::filesystem::file_size(dir / "store" / "data.mdb");
  set_file_size_limit(node.pid(), size);
  int refused = 0;
  for (int i = 5; i < 2000 && refused < 5; ++i) {
    const auto r = file(i);
    if (r.status == 201) continue;  // freed pages inside the file may still take a few
    INFO(r.body.dump());
    REQUIRE(r.status == 507);
    CHECK(r.body["error"]["code"] == "insufficient_storage");
    ++refused;
  }
  REQUIRE(refused == 5);
  CHECK(node.running());
  auto health = http_get(port, "/api/v1/health");
  REQUIRE(health);
  CHECK(health->status == 200);

  // Space returns: the next filing is stored, with no restart.
  set_file_size_limit(node.pid(), RLIM_INFINITY);
  REQUIRE(file(9999).status == 201);

  // Every acknowledged case is there, before and after a restart.
  auto check_all = [&] {
    for (const auto& r : receipts) {
      auto got = http_get(port, "/api/v1/cases/" + r.tracking_number, r.access_code);
      REQUIRE(got);
      INFO(r.tracking_number);
      CHECK(got->status == 200);
    }
  };
  check_all();
  CHECK(node.stop() == 0);
  ok(run_tawasul({"verify", "--data", dir.string()}));
  Daemon again("KSU", args, tmp / "ksu-again.log");
  REQUIRE(wait_healthy(port));
  check_all();
}
