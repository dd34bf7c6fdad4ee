// Notifications from a real node process: `notify_command` from the INI
// file gets each message as JSON on stdin, with the beneficiary's phone
// opened, and the node's log never shows the phone in clear.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "launcher.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using nlohmann::json;

TEST_CASE("a node runs notify_command for a filed case, with the phone opened only there",
          "[integration][notify]") {
  TempDir tmp("notify");
  const auto dir = tmp / "KSU";
  const auto out = tmp / "out";
  std::filesystem::create_directories(out);
  auto init = run_tawasul({"init", "--role", "node", "--code", "KSU", "--data", dir.string()});
  INFO(init.output);
  REQUIRE(init.exit_code == 0);
  const int port = free_port();
  {
    std::ofstream conf(tmp / "test.conf");
    conf << "data = " << dir.string() << "\n"
         << "notify_command = cat > '" << out.string() << "/msg-$$.json'\n"
         << "notify_timeout = 5\n"
         << "[http]\nlisten = 127.0.0.1:" << port << "\n";
  }
  Daemon node("KSU", {"run", "--config", (tmp / "test.conf").string()}, tmp / "ksu.log");
  INFO(node.log());
  REQUIRE(wait_healthy(port));
  json body{{"type", "inquiry"},
            {"subject", "موعد صرف المكافأة"},
            {"description", "متى تصرف مكافأة هذا الشهر؟"},
            {"channel", "portal"},
            {"beneficiary", {{"name", "سارة أحمد"}, {"phone", "+966501234567"}}}};
  auto filed = http_post_json(port, "/api/v1/cases", body.dump());
  REQUIRE(filed);
  REQUIRE(filed->status == 201);
  const std::string tn = filed->body["tracking_number"];

  std::filesystem::path message_file;
  REQUIRE(wait_until([&] {
    for (const auto& e : std::filesystem::directory_iterator(out)) {
      if (e.file_size() > 0) message_file = e.path();
    }
    return !message_file.empty();
  }));
  // The command may still be writing when the file first appears.
  json message;
  REQUIRE(wait_until([&] {
    std::ifstream in(message_file);
    std::stringstream ss;
    ss << in.rdbuf();
    message = json::parse(ss.str(), nullptr, false);
    return !message.is_discarded();
  }));
  CHECK(message["tracking_number"] == tn);
  CHECK(message["kind"] == "received");
  CHECK(message["channel"] == "sms");
  CHECK(message["to"] == "+966501234567");
  CHECK(message["text"]["ar"].get<std::string>().find(tn) != std::string::npos);

  // Recorded as delivered: nothing pending, nothing failed.
  REQUIRE(wait_until([&] {
    auto h = http_get(port, "/api/v1/health");
    return h && h->status == 200 && h->body["notifications"] == json{{"pending", 0}, {"failed", 0}};
  }));
  CHECK(node.stop() == 0);
  CHECK(node.log().find("+966501234567") == std::string::npos);

  auto listed = run_tawasul({"outbox", "--data", dir.string()});
  INFO(listed.output);
  CHECK(listed.exit_code == 0);
  CHECK(listed.output.find("0 pending, 0 failed") != std::string::npos);
}

// The fault that stopped a node at every restart: a case whose only contact
// is an Arabic e-mail address made the notifier throw on its log line
// (nlohmann type_error 316 on the byte-wise masked address), uncaught on its
// thread; the message stayed pending, so the next start aborted again.
TEST_CASE(
    "a case whose only contact is an Arabic e-mail address is notified, and the node stays up",
    "[integration][notify][text]") {
  TempDir tmp("notify-ar");
  const auto dir = tmp / "KSU";
  auto init = run_tawasul({"init", "--role", "node", "--code", "KSU", "--data", dir.string()});
  INFO(init.output);
  REQUIRE(init.exit_code == 0);
  const int port = free_port();
  {
    std::ofstream conf(tmp / "test.conf");
    conf << "data = " << dir.string() << "\n[http]\nlisten = 127.0.0.1:" << port << "\n";
  }
  const std::vector<std::string> args{"run", "--config", (tmp / "test.conf").string()};
  const std::vector<std::pair<std::string, std::string>> addresses{
      {"محمد@example.com", "م**د@example.com"}, {"طالب@جامعة.السعودية", "ط**ب@جامعة.السعودية"}};
  int run = 0;
  for (const auto& [email, masked] : addresses) {
    Daemon node("KSU", args, tmp / ("ksu-" + std::to_string(++run) + ".log"));
    REQUIRE(wait_healthy(port));
    json body{{"type", "inquiry"},
              {"subject", "استفسار عن القبول"},
              {"description", "متى تعلن نتائج القبول؟"},
              {"channel", "portal"},
              {"beneficiary", {{"name", "محمد"}, {"email", email}}}};
    auto filed = http_post_json(port, "/api/v1/cases", body.dump());
    REQUIRE(filed);
    INFO(filed->body.dump());
    REQUIRE(filed->status == 201);
    // Delivered (to the log, masked), and the node is still serving.
    REQUIRE(wait_until([&] {
      auto h = http_get(port, "/api/v1/health");
      return h && h->status == 200 &&
             h->body["notifications"] == json{{"pending", 0}, {"failed", 0}};
    }));
    INFO(node.log());
    CHECK(node.running());
    CHECK(node.stop() == 0);
    CHECK(node.log().find(masked) != std::string::npos);
    CHECK(node.log().find(email) == std::string::npos);
  }
  // And a restart finds nothing left to choke on.
  Daemon again("KSU", args, tmp / "ksu-again.log");
  REQUIRE(wait_healthy(port));
  CHECK(again.running());
}
