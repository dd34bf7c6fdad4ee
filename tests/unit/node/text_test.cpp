// UTF-8 at the node's edges (node/text.hpp), and the faults it closes: an
// Arabic e-mail address once made the notifier throw on its log line
// (nlohmann type_error 316) and stopped the node at every restart; a
// gateway's output cut byte-wise did the same. Real LMDB, real threads.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/background_loop.hpp"
#include "node/cases.hpp"
#include "node/error.hpp"
#include "node/notifier.hpp"
#include "node/outbox.hpp"
#include "node/text.hpp"
#include "node/writer.hpp"
#include "node_test_util.hpp"
#include "test_support.hpp"

namespace {

namespace node = tawasul::node;
namespace storage = tawasul::storage;
using namespace tawasul::node::testing;
using nlohmann::json;
using tawasul::test::TempDir;

constexpr std::int64_t kNow = 1'773'568'800'000;  // 2026-03-15T10:00:00Z, a Sunday
const std::string kArabicEmail = "محمد@example.com";
const std::string kIdnEmail = "طالب@جامعة.السعودية";

// The byte-wise truncations that used to split a letter: every prefix length.
void check_every_prefix_valid(const std::string& text) {
  for (std::size_t n = 0; n <= text.size() + 1; ++n) {
    const std::string cut = node::utf8_prefix(text, n);
    INFO("prefix of " << n << " bytes");
    CHECK(node::valid_utf8(cut));
    CHECK(cut.size() <= n);
    CHECK(text.starts_with(cut));
  }
}

}  // namespace

TEST_CASE("well-formed UTF-8 is told from every kind of ill-formed byte", "[text]") {
  CHECK(node::valid_utf8(""));
  CHECK(node::valid_utf8("plain ASCII"));
  CHECK(node::valid_utf8("شكوى بخصوص المنحة"));
  CHECK(node::valid_utf8("\xF0\x9F\x98\x80"));         // U+1F600, four bytes
  CHECK(node::invalid_utf8_offset("ab\xC3") == 2u);    // cut in the middle of a letter
  CHECK(node::invalid_utf8_offset("\xC0\xAF") == 0u);  // overlong '/'
  CHECK(node::invalid_utf8_offset("\xE0\x80\xAF") == 0u);
  CHECK(node::invalid_utf8_offset("x\xED\xA0\x80") == 1u);     // a surrogate
  CHECK(node::invalid_utf8_offset("\xF4\x90\x80\x80") == 0u);  // above U+10FFFF
  CHECK(node::invalid_utf8_offset("\xFF") == 0u);
  CHECK(node::invalid_utf8_offset("ok\x80") == 2u);  // a lone continuation byte
}

TEST_CASE("cuts and masks keep whole code points", "[text]") {
  check_every_prefix_valid("محمد علي");
  check_every_prefix_valid("a\xF0\x9F\x98\x80z");
  CHECK(node::utf8_sanitize("a\xC3z") == "a\xEF\xBF\xBDz");
  CHECK(node::utf8_chars("مرحبا", 3, "…") == "مرح…");
  CHECK(node::utf8_chars("مرحبا", 5, "…") == "مرحبا");
  // The masks the logs and the beneficiary's account view show.
  CHECK(node::mask_address(kArabicEmail) == "م**د@example.com");
  CHECK(node::mask_address(kIdnEmail) == "ط**ب@جامعة.السعودية");
  CHECK(node::mask_address("مح@example.com") == "**@example.com");
  CHECK(node::valid_utf8(node::mask_address("\xD9\x85\xD8@x.y")));  // broken input too
  // And the serialisation never throws, whatever the bytes.
  CHECK(node::dump_text(json("a\xC3")) == "\"a\xEF\xBF\xBD\"");
  // Nor does an error that quotes broken input (found by fuzz_org_tree):
  // even a strict dump() of it.
  const auto quoted = node::Error::bad_request("bad", "unit 'x\xD9' is unknown", "units[\xFF]");
  CHECK_NOTHROW(quoted.to_json().dump());
  CHECK(node::valid_utf8(quoted.to_json()["error"]["message"].get<std::string>()));
}

TEST_CASE("Arabic and IDN e-mail addresses are accepted like any other", "[text][cases]") {
  CHECK(node::normalize_contact("email", kArabicEmail) == kArabicEmail);
  CHECK(node::normalize_contact("email", kIdnEmail) == kIdnEmail);
  CHECK(node::normalize_contact("email", "user@xn--mgbh0fb.xn--mgberp4a5d4ar") ==
        "user@xn--mgbh0fb.xn--mgberp4a5d4ar");
  CHECK_FALSE(node::normalize_contact("email", "\xD9@example.com"));  // not UTF-8
}

TEST_CASE("a case whose only contact is an Arabic e-mail is notified, and the notifier goes on",
          "[text][notifier]") {
  init_crypto();
  TempDir dir{"text"};
  auto id = make_identity(dir.path() / "data", node::Role::kNode, "KSU");
  auto store = open_store(dir.path() / "data", id);
  node::Writer writer(store->env());
  writer.start();
  node::FakeClock clock{kNow};
  std::vector<std::string> lines;
  std::mutex mutex;
  auto log = [&](std::string_view level, std::string_view message) {
    std::lock_guard lock(mutex);
    lines.push_back(std::string(level) + " " + std::string(message));
  };
  for (const std::string& email : {kArabicEmail, kIdnEmail}) {
    auto request = sample_request();
    request.beneficiary.phone.reset();
    request.beneficiary.email = email;
    file_ok(*store, request, clock.now_ms());
  }

  SECTION("without a command: one valid log line each, the address masked") {
    node::Notifier notifier(*store, writer, clock, {}, log);
    const auto round = notifier.run_once(kNow);  // threw type_error 316 before
    CHECK(round.delivered == 2);
    CHECK(store->outbox().counts()->pending == 0);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("م**د@example.com") != std::string::npos);
    CHECK(lines[1].find("ط**ب@جامعة.السعودية") != std::string::npos);
    for (const auto& line : lines) {
      CHECK(node::valid_utf8(line));
      CHECK(line.find("محمد@") == std::string::npos);
    }
  }
  SECTION("a gateway that prints broken UTF-8 at length: recorded, cut by code points") {
    node::NotifierOptions options;
    // 400 Arabic letters then a lone byte, and a failure: the error keeps
    // 300 bytes of it (cut byte-wise, that split a letter).
    options.command = "printf 'خ%.0s' $(seq 400); printf '\\377'; exit 3";
    options.jitter_fraction = 0;
    node::Notifier notifier(*store, writer, clock, options, log);
    const auto round = notifier.run_once(kNow);
    CHECK(round.retried == 2);
    auto pending = store->outbox().list(false, 10);
    REQUIRE(pending);
    REQUIRE(pending->size() == 2);
    for (const auto& entry : *pending) {
      const std::string error = entry["last_error"];
      CHECK(node::valid_utf8(error));
      CHECK(error.starts_with("exit status 3: خ"));
    }
  }
  writer.stop();
}

TEST_CASE("a command that throws fails alone, and the writer goes on", "[writer][text]") {
  init_crypto();
  TempDir dir{"text"};
  auto id = make_identity(dir.path() / "data", node::Role::kNode, "KSU");
  auto store = open_store(dir.path() / "data", id);
  node::Writer writer(store->env());
  writer.start();
  auto thrown = writer.execute(
      [](storage::WriteTxn&) -> node::Result<json> { throw std::runtime_error("poison"); });
  REQUIRE_FALSE(thrown);
  CHECK(thrown.error().status == 500);
  CHECK(thrown.error().message.find("poison") != std::string::npos);
  // A completion that throws does not end the thread either.
  std::promise<void> answered;
  writer.submit([](storage::WriteTxn&) -> node::Result<json> { return json(1); },
                [&](node::Result<json>) {
                  answered.set_value();
                  throw std::runtime_error("a careless caller");
                });
  answered.get_future().wait();
  auto next = writer.execute([](storage::WriteTxn&) -> node::Result<json> { return json(2); });
  REQUIRE(next);
  CHECK(*next == 2);
  writer.stop();
}

TEST_CASE("a round that throws is reported, backed off, and the loop goes on", "[background]") {
  std::mutex mutex;
  std::condition_variable changed;
  int rounds = 0;
  std::vector<std::string> errors;
  std::vector<std::chrono::milliseconds> waits;
  node::BackgroundLoop loop(
      [&]() -> std::chrono::milliseconds {
        std::lock_guard lock(mutex);
        ++rounds;
        changed.notify_all();
        if (rounds == 1) throw std::runtime_error("bad item");
        return std::chrono::hours(1);
      },
      [&](const std::string& what, std::chrono::milliseconds wait) {
        std::lock_guard lock(mutex);
        errors.push_back(what);
        waits.push_back(wait);
      });
  loop.start();
  {
    std::unique_lock lock(mutex);
    // The second round comes after the first back-off (1 s), not never.
    REQUIRE(changed.wait_for(lock, std::chrono::seconds(30), [&] { return rounds >= 2; }));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "bad item");
    CHECK(waits[0] == node::BackgroundLoop::kErrorBackoffMin);
  }
  loop.stop();
}
