// Helpers shared by the federation tests that run a real hub and real
// nodes: stores, enrolment, filing over HTTP, the hub's case count.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "launcher.hpp"
#include "test_support.hpp"

namespace tawasul::test {

using nlohmann::json;
struct Receipt {
  std::string tracking_number;
  std::string access_code;
  std::string subject;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void init(const std::filesystem::path& dir, const std::string& role,
                 const std::string& code) {
  auto r = run_tawasul({"init", "--role", role, "--code", code, "--data", dir.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
}

inline void enroll(const std::filesystem::path& hub, const std::filesystem::path& node) {
  auto r =
      run_tawasul({"enroll", "--data", hub.string(), "--from", (node / "identity.pub").string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
}

inline std::string hub_curve_key(const std::filesystem::path& hub,
                                 const char* form = "curve_public") {
  return json::parse(read_file(hub / "identity.pub"))[form];
}

inline Receipt file_case(int port, const std::string& node, int n) {
  static const char* kTypes[] = {"inquiry", "complaint", "suggestion",
                                 "demand",  "remark",    "praise"};
  // (call_centre takes an agent's session: not an anonymous filing.)
  static const char* kChannels[] = {"portal", "app", "walk_in", "email"};
  std::string subject = "طلب رقم " + std::to_string(n) + " من " + node;
  json body{{"type", kTypes[n % 6]},
            {"subject", subject},
            {"description", "وصف الطلب بالتفصيل، رقم " + std::to_string(n)},
            {"channel", kChannels[n % 4]},
            {"beneficiary",
             {{"name", "مستفيد " + std::to_string(n)},
              {"phone", "+9665012345" + std::to_string(10 + n % 90)}}}};
  auto r = http_post_json(port, "/api/v1/cases", body.dump());
  REQUIRE(r);
  INFO(r->body.dump());
  REQUIRE(r->status == 201);
  REQUIRE(r->body["status"] == "submitted");
  return Receipt{r->body["tracking_number"], r->body["access_code"], subject};
}

inline std::uint64_t hub_cases(int port) {
  auto r = http_get(port, "/api/v1/health");
  if (!r || r->status != 200) return 0;
  return r->body["cases"].get<std::uint64_t>();
}

// A hub MOE and a node KSU in `tmp`, initialised and KSU enrolled, with
// free HTTP ports; the `tawasul run` arguments of each.
struct HubAndNode {
  explicit HubAndNode(const TempDir& tmp) : hub_dir(tmp / "hub"), ksu_dir(tmp / "KSU") {
    init(hub_dir, "hub", "MOE");
    init(ksu_dir, "node", "KSU");
    enroll(hub_dir, ksu_dir);
  }
  std::vector<std::string> hub_args(const std::string& listen) const {
    return {"run",
            "--data",
            hub_dir.string(),
            "--http.listen",
            "127.0.0.1:" + std::to_string(hub_http),
            "--federation.listen",
            listen};
  }
  std::vector<std::string> node_args(const std::string& hub_endpoint) const {
    return {"run",
            "--data",
            ksu_dir.string(),
            "--http.listen",
            "127.0.0.1:" + std::to_string(ksu_http),
            "--federation.hub",
            hub_endpoint,
            "--federation.hub_key",
            hub_curve_key(hub_dir)};
  }

  std::filesystem::path hub_dir;
  std::filesystem::path ksu_dir;
  int hub_http = free_port();
  int ksu_http = free_port();
};

// Every case of `filed` is in the stopped hub's store exactly once
// (`tawasul cases`), and nothing else is.
inline void check_exactly_once(const std::filesystem::path& hub_dir,
                               const std::vector<Receipt>& filed) {
  auto listed = run_tawasul({"cases", "--data", hub_dir.string()});
  REQUIRE(listed.exit_code == 0);
  std::multiset<std::string> at_hub;
  std::istringstream lines(listed.output);
  for (std::string line; std::getline(lines, line);) at_hub.insert(line);
  std::multiset<std::string> expected;
  for (const auto& r : filed) expected.insert(r.tracking_number);
  CHECK(at_hub == expected);
}

// `tawasul verify` passes on each stopped store.
inline void check_verify(const std::vector<std::filesystem::path>& dirs) {
  for (const auto& dir : dirs) {
    auto v = run_tawasul({"verify", "--data", dir.string()});
    INFO(v.output);
    CHECK(v.exit_code == 0);
  }
}

}  // namespace tawasul::test
