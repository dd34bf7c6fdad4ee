// The notifications outbox (node/outbox.hpp) and its delivery
// (node/notifier.hpp): messages queued by the fold in the event's own
// transaction, their texts, the channel a contact preference allows, and
// delivery through a real shell command driven by a FakeClock. Real LMDB in
// a TempDir, real /bin/sh; no mocks.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/clock.hpp"
#include "node/notifier.hpp"
#include "node/outbox.hpp"
#include "node/time_util.hpp"
#include "node/workflow.hpp"
#include "node/writer.hpp"
#include "node_test_util.hpp"
#include "test_support.hpp"

namespace {

namespace node = tawasul::node;
namespace storage = tawasul::storage;
namespace fs = std::filesystem;
using namespace tawasul::node::testing;
using nlohmann::json;
using node::CaseAction;
using tawasul::test::TempDir;

constexpr std::int64_t kNow = 1'773'568'800'000;  // 2026-03-15T10:00:00Z, a Sunday
constexpr const char* kPhone = "+966501234567";
constexpr const char* kEmail = "m.alotaibi@example.sa";

// Log lines a Notifier wrote.
struct LogLines {
  std::mutex mutex;
  std::vector<std::string> lines;
  tawasul::federation::Log sink() {
    return [this](std::string_view level, std::string_view message) {
      std::lock_guard lock(mutex);
      lines.push_back(std::string(level) + " " + std::string(message));
    };
  }
  std::string all() {
    std::lock_guard lock(mutex);
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
};

// A sector node (or hub) with its store, a running writer and a FakeClock.
struct Site {
  TempDir dir{"outbox"};
  node::Identity id;
  std::unique_ptr<node::NodeStore> store;
  std::unique_ptr<node::Writer> writer;
  node::FakeClock clock{kNow};
  LogLines log;

  explicit Site(node::Role role = node::Role::kNode, const std::string& code = "KSU") {
    init_crypto();
    id = make_identity(dir.path() / "data", role, code);
    store = open_store(dir.path() / "data", id);
    writer = std::make_unique<node::Writer>(store->env());
    writer->start();
  }
  ~Site() { writer->stop(); }

  std::string file_case(const node::FilingRequest& request = sample_request()) {
    return file_ok(*store, request, clock.now_ms())["tracking_number"];
  }
  json act(const std::string& tn, CaseAction action, const json& fields) {
    auto r = in_write<json>(*store, [&](storage::WriteTxn& txn) {
      return store->act_on_case(txn, tn, action, "staff-7", fields, clock.now_ms());
    });
    if (!r) FAIL(node::action_name(action) << " failed: " << r.error().message);
    return *r;
  }
  std::vector<json> pending() { return store->outbox().list(false, 1000).value(); }
  std::vector<json> failed() { return store->outbox().list(true, 1000).value(); }
  node::OutboxCounts counts() { return store->outbox().counts().value(); }

  std::unique_ptr<node::Notifier> notifier(node::NotifierOptions options) {
    options.jitter_fraction = 0;  // exact back-off: the schedule is asserted
    return std::make_unique<node::Notifier>(*store, *writer, clock, options, log.sink());
  }
};

std::string received_ar(const std::string& tn) {
  return "تم استلام طلبك رقم " + tn +
         " وسيتم الرد عليه خلال خمسة أيام عمل. يرجى الاحتفاظ برقم الطلب ورمز الدخول لمتابعته.";
}
std::string received_en(const std::string& tn) {
  return "Your case " + tn +
         " has been received and will be answered within five working days. Please keep the "
         "tracking number and access code to follow it.";
}

// Nothing personal in an outbox entry: no phone, e-mail or national ID.
void check_no_personal_data(const json& entry) {
  const std::string text = entry.dump();
  CHECK(text.find("501234567") == std::string::npos);
  CHECK(text.find("alotaibi") == std::string::npos);
  CHECK(text.find("1012345678") == std::string::npos);
  CHECK_FALSE(entry.contains("to"));
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

std::string quoted_path(const fs::path& p) {
  return "'" + p.string() + "'";
}

}  // namespace

// --------------------------------------------------------------------------
// Queueing in the fold
// --------------------------------------------------------------------------

TEST_CASE("filing queues exactly one `received` message in the case's transaction", "[outbox]") {
  Site site;
  CHECK(site.counts().pending == 0);
  const json receipt = file_ok(*site.store, sample_request(), kNow);
  const std::string tn = receipt["tracking_number"];
  const std::string access_code = receipt["access_code"];
  auto pending = site.pending();
  REQUIRE(pending.size() == 1);
  const json& m = pending[0];
  CHECK(m["id"] == 1);
  CHECK(m["tracking_number"] == tn);
  CHECK(m["kind"] == "received");
  CHECK(m["event"] == "case.filed");
  CHECK(m["channel"] == "sms");
  CHECK(m["voice_allowed"] == true);
  CHECK(m["text"]["ar"] == received_ar(tn));
  CHECK(m["text"]["en"] == received_en(tn));
  CHECK(m["case_status"] == "submitted");
  CHECK(m["status"] == "pending");
  CHECK(m["attempts"] == 0);
  CHECK(m["created_at_ms"] == kNow);
  CHECK(m["next_attempt_ms"] == kNow);
  check_no_personal_data(m);
  // Not the access code either: it is never stored in clear.
  CHECK(m.dump().find(access_code) == std::string::npos);
  CHECK(m.dump().find(access_code.substr(0, 5)) == std::string::npos);
  CHECK(site.counts().pending == 1);
  CHECK(site.counts().failed == 0);

  SECTION("a case routed at filing (filed + assigned) still gets one message") {
    auto routed = sample_request("طلب وثيقة تخرج");
    routed.route_unit = "KSU.REG";
    const std::string tn2 = site.file_case(routed);
    auto all = site.pending();
    REQUIRE(all.size() == 2);
    CHECK(all[1]["id"] == 2);
    CHECK(all[1]["tracking_number"] == tn2);
    CHECK(all[1]["kind"] == "received");
  }
}

TEST_CASE("an aborted transaction leaves no message and uses no id", "[outbox]") {
  Site site;
  auto aborted = in_write<json>(*site.store, [&](storage::WriteTxn& txn) -> node::Result<json> {
    auto receipt = site.store->file_case(txn, sample_request(), kNow);
    REQUIRE(receipt);
    REQUIRE(site.store->outbox().counts().value().pending == 0);  // not committed yet
    return std::unexpected(node::Error::internal("the client went away"));
  });
  REQUIRE_FALSE(aborted);
  CHECK(site.counts().pending == 0);
  CHECK(site.pending().empty());
  site.file_case();
  auto pending = site.pending();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0]["id"] == 1);
}

TEST_CASE("each event the beneficiary hears about queues its messages with their texts",
          "[outbox]") {
  Site site;
  const std::string tn = site.file_case();
  // id -> (kind, ar, en), written out here independently of outbox.cpp.
  struct Expected {
    std::string kind;
    std::string ar;
    std::string en;
    std::string status;
  };
  std::vector<Expected> expected = {{"received", received_ar(tn), received_en(tn), "submitted"}};

  auto step = [&](CaseAction action, const json& fields, std::optional<Expected> message,
                  std::optional<Expected> second = std::nullopt) {
    const auto before = site.pending().size();
    site.act(tn, action, fields);
    INFO(node::action_name(action));
    if (!message) {
      CHECK(site.pending().size() == before);
      return;
    }
    REQUIRE(site.pending().size() == before + (second ? 2 : 1));
    expected.push_back(*message);
    if (second) expected.push_back(*second);
  };
  // Staff routine and internal notes: nothing for the beneficiary.
  step(CaseAction::kAssign, {{"unit", "KSU.REG"}}, std::nullopt);
  step(CaseAction::kAddNote, {{"text", "راجعت النظام المالي"}}, std::nullopt);
  step(CaseAction::kStart, {{"assignee", "staff-7"}}, std::nullopt);
  step(
      CaseAction::kReply, {{"text", "نعمل على طلبك"}},
      Expected{"replied", "رسالة من فريق رعاية المستفيدين بشأن طلبك رقم " + tn + ": نعمل على طلبك",
               "A message from the beneficiary care team about your case " + tn + ": نعمل على طلبك",
               "in_progress"});
  step(CaseAction::kRequestInfo, {{"question", "ما رقمك الجامعي؟"}},
       Expected{"waiting_for_you",
                "طلبك رقم " + tn + " بانتظار ردك، ونرجو تزويدنا بما يلي: ما رقمك الجامعي؟",
                "Your case " + tn + " is waiting for your reply. Please tell us: ما رقمك الجامعي؟",
                "waiting_for_beneficiary"});
  // The beneficiary's own reply tells them nothing new.
  step(CaseAction::kProvideInfo, {{"reply", "441234567"}}, std::nullopt);
  step(CaseAction::kTransfer, {{"to_unit", "KSU.FIN"}, {"reason", "من اختصاص الشؤون المالية"}},
       Expected{"transferred",
                "تمت إحالة طلبك رقم " + tn +
                    " إلى جهة أخرى مختصة، وذلك للسبب الآتي: من اختصاص الشؤون المالية",
                "Your case " + tn +
                    " has been transferred to another unit, for this reason: من اختصاص الشؤون "
                    "المالية",
                "assigned"});
  step(CaseAction::kStart, {{"assignee", "staff-8"}}, std::nullopt);
  step(CaseAction::kAnswer, {{"answer", "تم صرف المكافأة اليوم."}},
       Expected{"answered", "تم الرد على طلبك رقم " + tn + "، ونص الرد: تم صرف المكافأة اليوم.",
                "Your case " + tn + " has been answered: تم صرف المكافأة اليوم.", "answered"});
  // A closure also invites the beneficiary to the satisfaction survey.
  step(CaseAction::kClose, {{"reason", "accepted"}},
       Expected{"closed", "تم إغلاق طلبك رقم " + tn + ". شكرًا لتواصلك معنا.",
                "Your case " + tn + " has been closed. Thank you for contacting us.", "closed"},
       Expected{"survey", "نرجو تقييم خدمتنا في طلبك رقم " + tn + "؛ رأيك يساعدنا على التحسين.",
                "Please rate our service on your case " + tn + "; your opinion helps us improve.",
                "closed"});

  const std::string rejected_tn = site.file_case(sample_request("طلب خارج الاختصاص"));
  site.act(rejected_tn, CaseAction::kReject, {{"reason", "الطلب من اختصاص وزارة أخرى"}});
  expected.push_back({"received", received_ar(rejected_tn), received_en(rejected_tn), "submitted"});
  expected.push_back({"rejected",
                      "نعتذر عن عدم قبول طلبك رقم " + rejected_tn +
                          " لأنه خارج نطاق الاختصاص، وذلك للسبب الآتي: الطلب من اختصاص وزارة أخرى",
                      "Your case " + rejected_tn +
                          " has been declined as out of scope, for this reason: الطلب من اختصاص "
                          "وزارة أخرى",
                      "answered"});

  auto pending = site.pending();
  REQUIRE(pending.size() == expected.size());
  for (std::size_t i = 0; i < pending.size(); ++i) {
    INFO("message " << i + 1 << ": " << pending[i].dump());
    CHECK(pending[i]["id"] == i + 1);
    CHECK(pending[i]["kind"] == expected[i].kind);
    CHECK(pending[i]["text"]["ar"] == expected[i].ar);
    CHECK(pending[i]["text"]["en"] == expected[i].en);
    CHECK(pending[i]["case_status"] == expected[i].status);
    check_no_personal_data(pending[i]);
  }
}

TEST_CASE("a long answer is quoted cut short — the whole text stays on the case page", "[outbox]") {
  Site site;
  const std::string tn = site.file_case();
  site.act(tn, CaseAction::kAssign, {{"unit", "KSU.REG"}});
  site.act(tn, CaseAction::kStart, {{"assignee", "staff-7"}});
  std::string answer;
  for (int i = 0; i < 700; ++i) answer += "ب";
  site.act(tn, CaseAction::kAnswer, {{"answer", answer}});
  const json m = site.pending().back();
  std::string cut;
  for (int i = 0; i < 600; ++i) cut += "ب";
  CHECK(m["text"]["en"] == "Your case " + tn + " has been answered: " + cut + "…");
}

TEST_CASE("events folded at a hub or from another node's stream queue nothing", "[outbox][hub]") {
  Site ksu;
  const std::string tn = ksu.file_case();
  ksu.act(tn, CaseAction::kAssign, {{"unit", "KSU.REG"}});
  ksu.act(tn, CaseAction::kStart, {{"assignee", "staff-7"}});
  ksu.act(tn, CaseAction::kAnswer, {{"answer", "تم صرف المكافأة اليوم."}});
  REQUIRE(ksu.pending().size() == 2);
  auto events = ksu.store->read_events("KSU", 1, 100, 1 << 20).value();
  REQUIRE(events.size() == 4);

  SECTION("the hub") {
    Site hub(node::Role::kHub, "MOE");
    REQUIRE(hub.store->enroll({ksu.id.code, ksu.id.curve.public_key, ksu.id.sign.public_key}, false,
                              kNow));
    auto stored = in_write<std::uint64_t>(*hub.store, [&](storage::WriteTxn& txn) {
      return hub.store->store_remote(txn, "KSU", events);
    });
    REQUIRE(stored);
    CHECK(*stored == 4);
    CHECK(hub.store->stats().value().cases == 1);
    CHECK(hub.counts().pending == 0);
    CHECK(hub.pending().empty());
  }
  SECTION("another sector node holding KSU's events") {
    Site ruh(node::Role::kNode, "RUH");
    auto stored = in_write<std::uint64_t>(*ruh.store, [&](storage::WriteTxn& txn) {
      return ruh.store->store_remote(txn, "KSU", events);
    });
    REQUIRE(stored);
    CHECK(ruh.store->stats().value().cases == 1);
    CHECK(ruh.counts().pending == 0);
  }
}

TEST_CASE("the contact preference decides the channel — no call for written_only or no_calls",
          "[outbox]") {
  Site site;
  struct Case {
    std::string preference;
    bool phone;
    bool email;
    std::string channel;
    bool voice;
  };
  const std::vector<Case> cases = {
      {"any", true, true, "sms", true},
      {"any", false, true, "email", false},
      {"written_only", true, true, "email", false},
      {"written_only", true, false, "sms", false},
      {"no_calls", true, true, "email", false},
      {"no_calls", true, false, "sms", false},
  };
  for (const auto& c : cases) {
    auto request = sample_request();
    request.contact_preference = c.preference;
    if (!c.phone) request.beneficiary.phone.reset();
    if (!c.email) request.beneficiary.email.reset();
    site.file_case(request);
    const json m = site.pending().back();
    INFO(c.preference << " phone=" << c.phone << " email=" << c.email);
    CHECK(m["channel"] == c.channel);
    CHECK(m["voice_allowed"] == c.voice);
  }
  CHECK(node::choose_channel("any", false, false) == std::nullopt);
}

TEST_CASE("the retry delays double from 30 s up to an hour", "[outbox]") {
  node::RetryPolicy p;
  const std::vector<std::int64_t> seconds = {30,   60,   120,  240,  480, 960,
                                             1920, 3600, 3600, 3600, 3600};
  for (std::size_t i = 0; i < seconds.size(); ++i)
    CHECK(node::retry_delay_ms(p, static_cast<int>(i) + 1) == seconds[i] * 1000);
  CHECK(node::retry_delay_ms(p, 60) == 3'600'000);
}

TEST_CASE("addresses are masked for logs", "[outbox]") {
  CHECK(node::mask_address("+966501234567") == "+9665*****567");
  CHECK(node::mask_address("m.alotaibi@example.sa") == "m********i@example.sa");
  CHECK(node::mask_address("ab@example.sa") == "**@example.sa");
  CHECK(node::mask_address("+1234567") == "********");
}

// --------------------------------------------------------------------------
// Delivery
// --------------------------------------------------------------------------

TEST_CASE("a real command gets the message as JSON on stdin, with the phone opened",
          "[concurrency][outbox][notifier]") {
  Site site;
  TempDir out{"notify-out"};
  const std::string tn = site.file_case();
  node::NotifierOptions options;
  options.command = "cat > " + quoted_path(out.path()) + "/msg-$$.json";
  auto notifier = site.notifier(options);
  auto round = notifier->run_once(kNow);
  CHECK(round.delivered == 1);
  CHECK(round.retried == 0);
  auto files = files_in(out.path());
  REQUIRE(files.size() == 1);
  const json got = json::parse(read_bytes(files[0]));
  const json expected{
      {"id", 1},
      {"tracking_number", tn},
      {"kind", "received"},
      {"channel", "sms"},
      {"to", kPhone},
      {"voice_allowed", true},
      {"text", {{"ar", received_ar(tn)}, {"en", received_en(tn)}}},
      {"case_status", "submitted"},
      {"case_status_label", {{"ar", "تم الاستلام"}, {"en", "Received"}}},
      {"created_at", "2026-03-15T10:00:00Z"},
      {"attempt", 1},
  };
  CHECK(got == expected);
  // Delivered: the message leaves the outbox; nothing more is due.
  CHECK(site.counts().pending == 0);
  CHECK(notifier->run_once(kNow + 3'600'000).delivered == 0);
  CHECK(files_in(out.path()).size() == 1);
  CHECK(site.log.all().find(kPhone) == std::string::npos);

  SECTION("an e-mail channel gets the opened e-mail") {
    auto request = sample_request();
    request.contact_preference = "written_only";
    site.file_case(request);
    fs::remove(files[0]);
    CHECK(notifier->run_once(kNow).delivered == 1);
    auto more = files_in(out.path());
    REQUIRE(more.size() == 1);
    const json email = json::parse(read_bytes(more[0]));
    CHECK(email["channel"] == "email");
    CHECK(email["to"] == kEmail);
    CHECK(email["voice_allowed"] == false);
  }
}

TEST_CASE("a failing command is retried on the back-off schedule and ends failed",
          "[outbox][notifier]") {
  Site site;
  const std::string tn = site.file_case();
  node::NotifierOptions options;
  // It prints the address it could not reach: the log and the entry mask it.
  options.command = "cat > /dev/null; echo \"cannot reach +966501234567\" >&2; exit 3";
  auto notifier = site.notifier(options);

  const std::vector<std::int64_t> delays_s = {30,   60,   120,  240,  480, 960,
                                              1920, 3600, 3600, 3600, 3600};
  std::int64_t now = kNow;
  for (std::size_t attempt = 1; attempt <= 11; ++attempt) {
    INFO("attempt " << attempt);
    auto round = notifier->run_once(now);
    REQUIRE(round.retried == 1);
    CHECK(round.delivered == 0);
    auto pending = site.pending();
    REQUIRE(pending.size() == 1);
    CHECK(pending[0]["attempts"] == attempt);
    CHECK(pending[0]["last_attempt_ms"] == now);
    const std::int64_t next = now + delays_s[attempt - 1] * 1000;
    CHECK(pending[0]["next_attempt_ms"] == next);
    CHECK(round.next_due_ms == next);
    const std::string error = pending[0]["last_error"];
    CHECK(error.find("exit status 3") != std::string::npos);
    CHECK(error.find("+9665*****567") != std::string::npos);
    CHECK(error.find(kPhone) == std::string::npos);
    // Not due a millisecond early.
    auto early = notifier->run_once(next - 1);
    CHECK(early.retried + early.delivered + early.failed == 0);
    CHECK(site.pending()[0]["attempts"] == attempt);
    now = next;
  }
  auto last = notifier->run_once(now);
  CHECK(last.failed == 1);
  CHECK(site.counts().pending == 0);
  CHECK(site.counts().failed == 1);
  auto failed = site.failed();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0]["status"] == "failed");
  CHECK(failed[0]["attempts"] == 12);
  CHECK(failed[0]["failed_at_ms"] == now);
  CHECK(failed[0]["tracking_number"] == tn);
  // Kept for the operator, never tried again by itself.
  CHECK(notifier->run_once(now + 86'400'000).failed == 0);
  const std::string log = site.log.all();
  CHECK(log.find("+9665*****567") != std::string::npos);
  CHECK(log.find(kPhone) == std::string::npos);

  SECTION("the operator puts it back, and it is delivered") {
    auto moved = in_write<std::uint64_t>(*site.store, [&](storage::WriteTxn& txn) {
      return site.store->outbox().retry_failed(txn, 0, now);
    });
    REQUIRE(moved);
    CHECK(*moved == 1);
    CHECK(site.counts().failed == 0);
    REQUIRE(site.pending().size() == 1);
    CHECK(site.pending()[0]["attempts"] == 0);
    node::NotifierOptions fixed;
    fixed.command = "cat > /dev/null";
    CHECK(site.notifier(fixed)->run_once(now).delivered == 1);
    CHECK(site.counts().pending == 0);
  }
}

TEST_CASE("a command that hangs is killed after the timeout and tried again later",
          "[concurrency][outbox][notifier]") {
  Site site;
  TempDir work{"notify-hang"};
  site.file_case();
  node::NotifierOptions options;
  // The shell starts a child that would sleep for a minute: the whole group dies.
  options.command = "sleep 60 & echo $! > " + quoted_path(work.path() / "pid") + "; wait";
  options.timeout = std::chrono::milliseconds(300);
  auto notifier = site.notifier(options);
  auto round = notifier->run_once(kNow);
  CHECK(round.retried == 1);
  auto pending = site.pending();
  REQUIRE(pending.size() == 1);
  const std::string error = pending[0]["last_error"];
  CHECK(error.find("timed out") != std::string::npos);
  CHECK(pending[0]["next_attempt_ms"] == kNow + 30'000);
  // The sleeping grandchild was killed with its shell.
  const std::string pid = read_bytes(work.path() / "pid");
  const int sleeper = std::stoi(pid);
  const bool gone = tawasul::test::wait_until([&] {
    std::ifstream stat("/proc/" + std::to_string(sleeper) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;  // reaped
    auto close = line.rfind(')');
    return close != std::string::npos && line.size() > close + 2 && line[close + 2] == 'Z';
  });
  CHECK(gone);
}

TEST_CASE("run_command passes stdin, captures output cut short, and reports the exit status",
          "[notifier]") {
  auto echoed = node::run_command("cat; echo done >&2", "hello\n", std::chrono::seconds(10), 1024);
  CHECK(echoed.ok);
  CHECK(echoed.exit_code == 0);
  CHECK(echoed.output == "hello\ndone\n");
  auto cut = node::run_command("head -c 5000 /dev/zero | tr '\\0' x; exit 4", "",
                               std::chrono::seconds(10), 100);
  CHECK_FALSE(cut.ok);
  CHECK(cut.exit_code == 4);
  CHECK(cut.output == std::string(100, 'x'));
  // A command that never reads its input does not wedge the writer side.
  std::string big(1 << 20, 'y');
  auto ignored = node::run_command("exit 0", big, std::chrono::seconds(10), 100);
  CHECK(ignored.ok);
  auto missing = node::run_command("/nonexistent/notify", "{}", std::chrono::seconds(10), 200);
  CHECK_FALSE(missing.ok);
  CHECK(missing.exit_code == 127);
}

TEST_CASE("without a command each message is one log line with the address masked",
          "[outbox][notifier]") {
  Site site;
  const std::string tn = site.file_case();
  auto request = sample_request();
  request.contact_preference = "no_calls";
  site.file_case(request);
  auto notifier = site.notifier({});
  auto round = notifier->run_once(kNow);
  CHECK(round.delivered == 2);
  CHECK(site.counts().pending == 0);
  std::vector<std::string> lines;
  for (const auto& l : site.log.lines) {
    if (l.starts_with("info notify ")) lines.push_back(l);
  }
  REQUIRE(lines.size() == 2);
  const json first = json::parse(lines[0].substr(std::string("info notify ").size()));
  CHECK(first["to"] == "+9665*****567");
  CHECK(first["tracking_number"] == tn);
  CHECK(first["text"]["ar"] == received_ar(tn));
  const json second = json::parse(lines[1].substr(std::string("info notify ").size()));
  CHECK(second["to"] == "m********i@example.sa");
  const std::string all = site.log.all();
  CHECK(all.find(kPhone) == std::string::npos);
  CHECK(all.find(kEmail) == std::string::npos);
}

TEST_CASE("a hanging command blocks neither case handling nor the notifier's stop",
          "[concurrency][outbox][notifier]") {
  Site site;
  TempDir work{"notify-busy"};
  site.file_case();
  node::NotifierOptions options;
  options.command = "touch " + quoted_path(work.path() / "started") + "; exec sleep 60";
  options.timeout = std::chrono::seconds(60);
  auto notifier = site.notifier(options);
  notifier->start();
  REQUIRE(tawasul::test::wait_until([&] { return fs::exists(work.path() / "started"); }));
  // While the command hangs, cases are filed and moved through the writer.
  auto filed = site.writer->execute([&](storage::WriteTxn& txn) {
    return site.store->file_case(txn, sample_request("طلب آخر"), kNow);
  });
  REQUIRE(filed);
  const std::string tn = (*filed)["tracking_number"];
  for (auto [action, fields] :
       std::vector<std::pair<CaseAction, json>>{{CaseAction::kAssign, {{"unit", "KSU.REG"}}},
                                                {CaseAction::kStart, {{"assignee", "staff-7"}}},
                                                {CaseAction::kAnswer, {{"answer", "تم."}}}}) {
    auto moved = site.writer->execute([&, a = action, f = fields](storage::WriteTxn& txn) {
      return site.store->act_on_case(txn, tn, a, "staff-7", f, kNow);
    });
    REQUIRE(moved);
  }
  CHECK(site.store->staff_case_view(tn).value()["status"] == "answered");
  // Stopping kills the command; its message stays pending, untouched.
  notifier->stop();
  auto pending = site.pending();
  REQUIRE(pending.size() == 3);
  CHECK(pending[0]["attempts"] == 0);
}

TEST_CASE("a warning to staff reaches the command with the member's id and no personal data",
          "[outbox][notifier][warning]") {
  Site site;
  TempDir out{"notify-staff"};
  const std::string tn = site.file_case();
  site.act(tn, CaseAction::kAssign, {{"unit", "KSU.REG"}});
  site.act(tn, CaseAction::kStart, {{"assignee", "staff-7"}});
  node::NotifierOptions options;
  options.command = "cat > " + quoted_path(out.path()) + "/msg-$$.json";
  auto notifier = site.notifier(options);
  CHECK(notifier->run_once(kNow).delivered == 1);  // the `received` message
  for (const auto& f : files_in(out.path())) fs::remove(f);

  // The sweeper's command, at the warning time the case carries.
  const std::int64_t warn =
      site.store->due(std::numeric_limits<std::int64_t>::max(), 10).value().at(0).due_ms;
  auto warned = in_write<json>(*site.store, [&](storage::WriteTxn& txn) {
    return site.store->warn_near_due(txn, tn, warn, warn);
  });
  REQUIRE(warned);
  CHECK((*warned)["outcome"] == "warned");
  CHECK((*warned)["notify"] == json::array({"staff-7"}));  // no tree: no unit head known

  CHECK(notifier->run_once(warn).delivered == 1);
  auto files = files_in(out.path());
  REQUIRE(files.size() == 1);
  const json got = json::parse(read_bytes(files[0]));
  CHECK(got["channel"] == "staff");
  CHECK(got["to"] == "staff-7");
  CHECK(got["kind"] == "sla_warning");
  CHECK(got["voice_allowed"] == false);
  CHECK(got.dump().find(kPhone) == std::string::npos);
  CHECK(got.dump().find(kEmail) == std::string::npos);
}
