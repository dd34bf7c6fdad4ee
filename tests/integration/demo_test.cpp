// README's first command ends in `tawasul demo`: run it for real, and run the
// curl lines it prints exactly as printed.
#include <dirent.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "launcher.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using nlohmann::json;

namespace {

// Runs a shell line and returns what it printed on stdout.
std::string shell(const std::string& line) {
  std::string out;
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

// The printed line that follows the line containing `heading`.
std::string line_after(const std::string& text, const std::string& heading) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(heading) != std::string::npos && std::getline(lines, line)) {
      auto start = line.find_first_not_of(' ');
      return start == std::string::npos ? "" : line.substr(start);
    }
  }
  return {};
}

// Processes whose command line mentions `needle`.
int processes_mentioning(const std::string& needle) {
  int found = 0;
  DIR* proc = ::opendir("/proc");
  while (dirent* entry = ::readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(entry->d_name[0]))) continue;
    std::ifstream in(std::string("/proc/") + entry->d_name + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    if (cmdline.find(needle) != std::string::npos && cmdline.find("run") != std::string::npos)
      ++found;
  }
  ::closedir(proc);
  return found;
}

}  // namespace

TEST_CASE(
    "the demo starts a hub and two nodes, its printed curl lines work as printed, and Ctrl-C "
    "leaves nothing behind",
    "[integration][demo]") {
  TempDir tmp("demo");
  const auto dir = tmp / "federation";
  Daemon demo("demo",
              {"demo", "--dir", dir.string(), "--http-port", std::to_string(free_port()),
               "--federation-port", std::to_string(free_port())},
              tmp / "demo.out");
  REQUIRE(
      wait_until([&] { return demo.log().find("A sample case was filed") != std::string::npos; },
                 std::chrono::seconds(60)));
  const std::string printed = demo.log();
  INFO(printed);
  for (const char* who : {"hub   MOE  http://127.0.0.1:", "node  KSU  http://127.0.0.1:",
                          "node  RUH  http://127.0.0.1:"}) {
    CHECK(printed.find(who) != std::string::npos);
  }

  // The filing line, run exactly as printed.
  const std::string file_line = line_after(printed, "File a case at KSU:");
  REQUIRE(file_line.starts_with("curl "));
  json receipt = json::parse(shell(file_line), nullptr, false);
  REQUIRE_FALSE(receipt.is_discarded());
  REQUIRE(receipt.contains("tracking_number"));
  CHECK(std::regex_match(receipt["tracking_number"].get<std::string>(),
                         std::regex(R"(KSU-\d\d-\d{7}-\d)")));

  // The sample look-up at the hub, run exactly as printed.
  const std::string lookup_line = line_after(printed, "A sample case was filed at KSU");
  REQUIRE(lookup_line.starts_with("curl "));
  json sample;
  REQUIRE(wait_until([&] {
    sample = json::parse(shell(lookup_line), nullptr, false);
    return !sample.is_discarded() && sample.contains("tracking_number");
  }));
  CHECK(sample["owner"] == "KSU");
  CHECK(sample["status"] == "submitted");

  // The staff sign-in line, as printed, opens a session that reads the queue.
  const std::string login_line = line_after(printed, "Sign in:");
  REQUIRE(login_line.starts_with("curl "));
  json login = json::parse(shell(login_line), nullptr, false);
  REQUIRE_FALSE(login.is_discarded());
  REQUIRE(login.contains("token"));
  CHECK(login["staff"]["roles"] == json::array({"coordinator"}));
  std::string queue_line = line_after(printed, "Then the staff queue");
  REQUIRE(queue_line.starts_with("curl "));
  queue_line.replace(queue_line.find("TOKEN"), 5, login["token"].get<std::string>());
  json queue = json::parse(shell(queue_line), nullptr, false);
  REQUIRE_FALSE(queue.is_discarded());
  CHECK(queue["total"].get<int>() >= 1);  // the sample case waits at the root for a coordinator

  // Ctrl-C: the demo stops its three processes and exits cleanly.
  CHECK(processes_mentioning(dir.string()) == 3);
  CHECK(demo.stop(SIGINT) == 0);
  CHECK(wait_until([&] { return processes_mentioning(dir.string()) == 0; }));

  // Every store the demo leaves behind verifies.
  for (const char* member : {"hub", "KSU", "RUH"}) {
    auto v = run_tawasul({"verify", "--data", (dir / member).string()});
    INFO(v.output);
    CHECK(v.exit_code == 0);
  }
}
