// `tawasul verify` and the command line's refusals, on real processes and stores.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <cctype>
#include <fstream>
#include <iterator>

#include "launcher.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using nlohmann::json;

namespace {

void file_marked_cases(const std::filesystem::path& dir, const std::string& marker, int count) {
  const int port = free_port();
  Daemon node("node",
              {"run", "--data", dir.string(), "--http.listen", "127.0.0.1:" + std::to_string(port)},
              dir / "run.log");
  REQUIRE(wait_healthy(port));
  for (int i = 0; i < count; ++i) {
    json body{{"type", "complaint"},
              {"subject", marker + "-" + std::to_string(i)},
              {"description", "a description long enough"},
              {"channel", "walk_in"},
              {"beneficiary", {{"name", "Noura"}, {"email", "noura@example.sa"}}}};
    auto r = http_post_json(port, "/api/v1/cases", body.dump());
    REQUIRE(r);
    REQUIRE(r->status == 201);
  }
  REQUIRE(node.stop() == 0);
}

// Flips one byte in every copy of `needle` found inside an event envelope in
// `file`; returns how many copies it changed. In an event's payload (JSON with
// sorted keys) the subject follows the "sla" object ("…}"), while in the case
// view it follows "status" ("…\""); LMDB's copy-on-write may also leave stale copies
// of a page in free space, so every copy in event form is flipped: exactly one
// of them is the live event.
int flip_byte_in_event(const std::filesystem::path& file, const std::string& needle) {
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string pattern = ",\"subject\":\"" + needle + "\"";
  int flipped = 0;
  for (auto at = bytes.find(pattern); at != std::string::npos; at = bytes.find(pattern, at + 1)) {
    if (at == 0 || bytes[at - 1] != '}') continue;
    bytes[at + pattern.size() - 3] ^= 0x01;
    ++flipped;
  }
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return flipped;
}

}  // namespace

TEST_CASE("tawasul verify passes on a clean store and fails on one flipped byte in an event",
          "[integration][verify]") {
  TempDir tmp("verify");
  const auto dir = tmp / "KSU";
  REQUIRE(
      run_tawasul({"init", "--role", "node", "--code", "KSU", "--data", dir.string()}).exit_code ==
      0);
  file_marked_cases(dir, "FLIP-MARKER-7f3a", 3);

  auto clean = run_tawasul({"verify", "--data", dir.string()});
  INFO(clean.output);
  REQUIRE(clean.exit_code == 0);
  CHECK(clean.output.find("KSU 3 events") != std::string::npos);

  REQUIRE(flip_byte_in_event(dir / "store" / "data.mdb", "FLIP-MARKER-7f3a-1") >= 1);
  auto broken = run_tawasul({"verify", "--data", dir.string()});
  INFO(broken.output);
  CHECK(broken.exit_code == 1);
  CHECK(broken.output.find("FAULT") != std::string::npos);
  CHECK(broken.output.find("stream KSU event 2") != std::string::npos);
}

TEST_CASE("the command line refuses bad input with a clear message and starts nothing",
          "[integration][cli]") {
  TempDir tmp("cli");
  const auto dir = tmp / "KSU";

  auto bad_code = run_tawasul({"init", "--role", "node", "--code", "ksu!", "--data", dir.string()});
  CHECK(bad_code.exit_code != 0);
  CHECK(bad_code.output.find("code") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "identity.key"));

  auto bad_role =
      run_tawasul({"init", "--role", "ministry", "--code", "KSU", "--data", dir.string()});
  CHECK(bad_role.exit_code != 0);
  CHECK(bad_role.output.find("--role") != std::string::npos);

  REQUIRE(
      run_tawasul({"init", "--role", "node", "--code", "KSU", "--data", dir.string()}).exit_code ==
      0);
  auto again = run_tawasul({"init", "--role", "node", "--code", "KSU", "--data", dir.string()});
  CHECK(again.exit_code != 0);
  CHECK(again.output.find("already exists") != std::string::npos);

  auto unknown_option = run_tawasul({"run", "--data", dir.string(), "--no-such-option", "1"});
  CHECK(unknown_option.exit_code != 0);
  CHECK(unknown_option.output.find("no-such-option") != std::string::npos);

  auto bad_listen = run_tawasul({"run", "--data", dir.string(), "--http.listen", "localhost"});
  CHECK(bad_listen.exit_code != 0);
  CHECK(bad_listen.output.find("http.listen") != std::string::npos);

  auto bad_key =
      run_tawasul({"run", "--data", dir.string(), "--http.listen", "127.0.0.1:0",
                   "--federation.hub", "tcp://127.0.0.1:1", "--federation.hub_key", "short"});
  CHECK(bad_key.exit_code != 0);
  CHECK(bad_key.output.find("hub_key") != std::string::npos);

  {
    std::ofstream conf(tmp / "bad.conf");
    conf << "data = " << dir.string() << "\n[http]\nlisten = 127.0.0.1:0\nunknown_key = 1\n";
  }
  auto bad_conf = run_tawasul({"run", "--config", (tmp / "bad.conf").string()});
  CHECK(bad_conf.exit_code != 0);
  CHECK(bad_conf.output.find("unknown_key") != std::string::npos);

  // A key file others can read is refused.
  ::chmod((dir / "identity.key").c_str(), 0644);
  auto exposed = run_tawasul({"run", "--data", dir.string(), "--http.listen", "127.0.0.1:0"});
  CHECK(exposed.exit_code != 0);
  CHECK(exposed.output.find("chmod 600") != std::string::npos);

  // Enrolling something that is not a node's identity.pub changes nothing.
  const auto hub = tmp / "hub";
  REQUIRE(
      run_tawasul({"init", "--role", "hub", "--code", "MOE", "--data", hub.string()}).exit_code ==
      0);
  {
    std::ofstream junk(tmp / "junk.pub");
    junk << "{\"code\": 5}";
  }
  auto junk =
      run_tawasul({"enroll", "--data", hub.string(), "--from", (tmp / "junk.pub").string()});
  CHECK(junk.exit_code != 0);
  auto verify = run_tawasul({"verify", "--data", hub.string()});
  CHECK(verify.exit_code == 0);
}
