// Unit tests for the append-only event log (storage/event_log.hpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/env.hpp"
#include "storage/event_log.hpp"
#include "test_support.hpp"

namespace {

namespace storage = tawasul::storage;
namespace fs = std::filesystem;
using storage::Dbi;
using storage::Env;
using storage::ErrorCode;
using storage::EventLog;
using storage::Result;
using storage::WriteTxn;
using tawasul::test::TempDir;

std::unique_ptr<Env> open_env(const fs::path& dir) {
  auto env = Env::open(dir, {});
  if (!env) FAIL("Env::open failed: " << env.error().message);
  return std::move(*env);
}

EventLog open_log(Env& env) {
  auto log = EventLog::open(env);
  if (!log) FAIL("EventLog::open failed: " << log.error().message);
  return std::move(*log);
}

std::string entry_bytes(std::string_view stream, std::uint64_t seq) {
  return "event " + std::string(stream) + "#" + std::to_string(seq) + std::string("\0\xFF", 2);
}

// Appends seqs [from, to] of `stream` in one write.
Result<void> append_range(Env& env, EventLog& log, std::string_view stream, std::uint64_t from,
                          std::uint64_t to) {
  return env.write([&](WriteTxn& txn) -> Result<void> {
    for (std::uint64_t s = from; s <= to; ++s) {
      if (auto r = log.append(txn, stream, s, entry_bytes(stream, s)); !r) return r;
    }
    return {};
  });
}

std::uint64_t head_of(Env& env, const EventLog& log, std::string_view stream) {
  auto txn = env.begin_read();
  if (!txn) FAIL("begin_read: " << txn.error().message);
  auto h = log.head(*txn, stream);
  if (!h) FAIL("head: " << h.error().message);
  return *h;
}

std::optional<std::string> get_of(Env& env, const EventLog& log, std::string_view stream,
                                  std::uint64_t seq) {
  auto txn = env.begin_read();
  if (!txn) FAIL("begin_read: " << txn.error().message);
  auto v = log.get(*txn, stream, seq);
  if (!v) {
    if (v.error().code != ErrorCode::kNotFound) FAIL("get: " << v.error().message);
    return std::nullopt;
  }
  return std::string(*v);
}

using Entries = std::vector<std::pair<std::uint64_t, std::string>>;

Entries scan_of(Env& env, const EventLog& log, std::string_view stream, std::uint64_t from,
                std::size_t limit = 1'000'000) {
  auto txn = env.begin_read();
  if (!txn) FAIL("begin_read: " << txn.error().message);
  Entries out;
  auto r = log.scan(*txn, stream, from, [&](std::uint64_t seq, std::string_view bytes) {
    out.emplace_back(seq, std::string(bytes));
    return out.size() < limit;
  });
  if (!r) FAIL("scan: " << r.error().message);
  return out;
}

Entries expected_entries(std::string_view stream, std::uint64_t from, std::uint64_t to) {
  Entries out;
  for (std::uint64_t s = from; s <= to; ++s) out.emplace_back(s, entry_bytes(stream, s));
  return out;
}

std::map<std::string, std::uint64_t> streams_of(Env& env, const EventLog& log,
                                                std::vector<std::string>* order = nullptr) {
  auto txn = env.begin_read();
  if (!txn) FAIL("begin_read: " << txn.error().message);
  std::map<std::string, std::uint64_t> out;
  auto r = log.streams(*txn, [&](std::string_view stream, std::uint64_t head) {
    out.emplace(std::string(stream), head);
    if (order) order->emplace_back(stream);
  });
  if (!r) FAIL("streams: " << r.error().message);
  return out;
}

}  // namespace

TEST_CASE("appending 1..N sets the head to N and each entry reads back", "[storage][log]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  constexpr std::uint64_t kN = 50;

  CHECK(head_of(*env, log, "BEY01") == 0);
  // Some in one write, the rest one per write.
  REQUIRE(append_range(*env, log, "BEY01", 1, 20));
  for (std::uint64_t s = 21; s <= kN; ++s) REQUIRE(append_range(*env, log, "BEY01", s, s));

  CHECK(head_of(*env, log, "BEY01") == kN);
  for (std::uint64_t s = 1; s <= kN; ++s) {
    INFO("seq " << s);
    CHECK(get_of(*env, log, "BEY01", s) == entry_bytes("BEY01", s));
  }
  CHECK_FALSE(get_of(*env, log, "BEY01", 0).has_value());
  CHECK_FALSE(get_of(*env, log, "BEY01", kN + 1).has_value());
}

TEST_CASE("get of a missing entry is kNotFound", "[storage][log]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  auto txn = env->begin_read();
  REQUIRE(txn);
  auto v = log.get(*txn, "BEY01", 1);
  REQUIRE_FALSE(v);
  CHECK(v.error().code == ErrorCode::kNotFound);
}

TEST_CASE("an append leaving a gap is a conflict and writes nothing", "[storage][log]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  REQUIRE(append_range(*env, log, "BEY01", 1, 3));

  std::optional<storage::Error> gap;
  std::optional<storage::Error> first_gap;
  // The caller commits anyway: append itself must not have written anything.
  REQUIRE(env->write([&](WriteTxn& txn) -> Result<void> {
    if (auto r = log.append(txn, "BEY01", 5, "gap"); !r) gap = r.error();
    if (auto r = log.append(txn, "NEW", 2, "gap on a new stream"); !r) first_gap = r.error();
    return {};
  }));
  REQUIRE(gap);
  CHECK(gap->code == ErrorCode::kConflict);
  REQUIRE(first_gap);
  CHECK(first_gap->code == ErrorCode::kConflict);

  CHECK(head_of(*env, log, "BEY01") == 3);
  CHECK_FALSE(get_of(*env, log, "BEY01", 5).has_value());
  CHECK_FALSE(get_of(*env, log, "BEY01", 4).has_value());
  CHECK(head_of(*env, log, "NEW") == 0);
  CHECK_FALSE(get_of(*env, log, "NEW", 2).has_value());
  CHECK(streams_of(*env, log) == std::map<std::string, std::uint64_t>{{"BEY01", 3}});

  // The right next seq still appends.
  REQUIRE(append_range(*env, log, "BEY01", 4, 4));
  CHECK(head_of(*env, log, "BEY01") == 4);
}

TEST_CASE("an append repeating an existing seq is a conflict and changes nothing",
          "[storage][log]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  REQUIRE(append_range(*env, log, "BEY01", 1, 3));

  for (std::uint64_t seq :
       {std::uint64_t{3}, std::uint64_t{2}, std::uint64_t{1}, std::uint64_t{0}}) {
    INFO("seq " << seq);
    std::optional<storage::Error> err;
    REQUIRE(env->write([&](WriteTxn& txn) -> Result<void> {
      if (auto r = log.append(txn, "BEY01", seq, "duplicate"); !r) err = r.error();
      return {};
    }));
    REQUIRE(err);
    CHECK(err->code == ErrorCode::kConflict);
  }
  CHECK(head_of(*env, log, "BEY01") == 3);
  CHECK(scan_of(*env, log, "BEY01", 0) == expected_entries("BEY01", 1, 3));
}

TEST_CASE("seq 0 on an empty stream is a conflict", "[storage][log]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  auto r = append_range(*env, log, "BEY01", 0, 0);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kConflict);
  CHECK(head_of(*env, log, "BEY01") == 0);
  CHECK(streams_of(*env, log).empty());
}

TEST_CASE("an invalid stream name is refused", "[storage][log]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  for (std::string stream : {std::string(""), std::string(EventLog::kStreamMax + 1, 'A')}) {
    auto r = append_range(*env, log, stream, 1, 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kInvalid);
  }
  // The longest allowed name works.
  std::string longest(EventLog::kStreamMax, 'Z');
  REQUIRE(append_range(*env, log, longest, 1, 2));
  CHECK(head_of(*env, log, longest) == 2);
}

TEST_CASE("streams whose names are prefixes of each other are independent", "[storage][log]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  REQUIRE(append_range(*env, log, "KSU", 1, 5));
  REQUIRE(append_range(*env, log, "KS", 1, 3));
  REQUIRE(append_range(*env, log, "K", 1, 2));
  REQUIRE(append_range(*env, log, "KT", 1, 1));
  // Interleaved appends in one write.
  REQUIRE(env->write([&](WriteTxn& txn) -> Result<void> {
    if (auto r = log.append(txn, "KS", 4, entry_bytes("KS", 4)); !r) return r;
    if (auto r = log.append(txn, "KSU", 6, entry_bytes("KSU", 6)); !r) return r;
    if (auto r = log.append(txn, "K", 3, entry_bytes("K", 3)); !r) return r;
    return {};
  }));

  CHECK(head_of(*env, log, "K") == 3);
  CHECK(head_of(*env, log, "KS") == 4);
  CHECK(head_of(*env, log, "KSU") == 6);
  CHECK(head_of(*env, log, "KT") == 1);
  CHECK(head_of(*env, log, "KSUX") == 0);
  CHECK(get_of(*env, log, "KS", 4) == entry_bytes("KS", 4));
  CHECK(get_of(*env, log, "KSU", 4) == entry_bytes("KSU", 4));
  CHECK_FALSE(get_of(*env, log, "KS", 5).has_value());
  CHECK_FALSE(get_of(*env, log, "K", 4).has_value());

  // Each stream's next seq is its own head + 1.
  auto wrong = append_range(*env, log, "KS", 7, 7);  // 7 is KSU's next, not KS's
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == ErrorCode::kConflict);
  REQUIRE(append_range(*env, log, "KS", 5, 5));
  CHECK(head_of(*env, log, "KSU") == 6);
}

TEST_CASE("scan from the middle returns exactly the rest of that stream", "[storage][log]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  REQUIRE(append_range(*env, log, "K", 1, 4));
  REQUIRE(append_range(*env, log, "KS", 1, 10));
  REQUIRE(append_range(*env, log, "KSU", 1, 7));
  REQUIRE(append_range(*env, log, "KT", 1, 3));
  REQUIRE(append_range(*env, log, "L", 1, 2));

  CHECK(scan_of(*env, log, "KS", 6) == expected_entries("KS", 6, 10));
  CHECK(scan_of(*env, log, "KS", 10) == expected_entries("KS", 10, 10));
  CHECK(scan_of(*env, log, "KS", 11).empty());
  CHECK(scan_of(*env, log, "KS", 1) == expected_entries("KS", 1, 10));
  CHECK(scan_of(*env, log, "KS", 0) == expected_entries("KS", 1, 10));
  CHECK(scan_of(*env, log, "K", 2) == expected_entries("K", 2, 4));
  CHECK(scan_of(*env, log, "KSU", 3) == expected_entries("KSU", 3, 7));
  CHECK(scan_of(*env, log, "KT", 1) == expected_entries("KT", 1, 3));
  CHECK(scan_of(*env, log, "L", 2) == expected_entries("L", 2, 2));
  // Streams with no entries, including names between and around existing ones.
  CHECK(scan_of(*env, log, "KR", 0).empty());
  CHECK(scan_of(*env, log, "KSUV", 0).empty());
  CHECK(scan_of(*env, log, "A", 0).empty());
  CHECK(scan_of(*env, log, "Z", 0).empty());
}

TEST_CASE("scan stops when the visitor returns false", "[storage][log]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  REQUIRE(append_range(*env, log, "KS", 1, 10));
  CHECK(scan_of(*env, log, "KS", 3, 2) == expected_entries("KS", 3, 4));
  CHECK(scan_of(*env, log, "KS", 1, 1) == expected_entries("KS", 1, 1));
}

TEST_CASE("streams lists every stream with its head in name order", "[storage][log]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  CHECK(streams_of(*env, log).empty());
  REQUIRE(append_range(*env, log, "KSU", 1, 5));
  REQUIRE(append_range(*env, log, "BEY01", 1, 1));
  REQUIRE(append_range(*env, log, "KS", 1, 3));
  REQUIRE(append_range(*env, log, "K", 1, 2));

  std::vector<std::string> order;
  auto all = streams_of(*env, log, &order);
  CHECK(all == std::map<std::string, std::uint64_t>{{"BEY01", 1}, {"K", 2}, {"KS", 3}, {"KSU", 5}});
  CHECK(order == std::vector<std::string>{"BEY01", "K", "KS", "KSU"});
}

TEST_CASE("the apply hook runs in the append's transaction and its write commits with it",
          "[storage][log][hook]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  auto view = env->dbi("view");
  REQUIRE(view);

  std::vector<std::pair<std::string, std::uint64_t>> calls;
  bool entry_visible_in_hook = true;
  log.set_apply_hook([&](WriteTxn& txn, std::string_view stream, std::uint64_t seq,
                         std::string_view bytes) -> Result<void> {
    calls.emplace_back(std::string(stream), seq);
    // The entry and head being appended are already visible inside the transaction.
    auto e = log.get(txn, stream, seq);
    auto h = log.head(txn, stream);
    if (!e || *e != bytes || !h || *h != seq) entry_visible_in_hook = false;
    return txn.put(*view, std::string(stream) + "/" + std::to_string(seq), bytes);
  });

  REQUIRE(append_range(*env, log, "KS", 1, 3));
  CHECK(calls ==
        std::vector<std::pair<std::string, std::uint64_t>>{{"KS", 1}, {"KS", 2}, {"KS", 3}});
  CHECK(entry_visible_in_hook);

  auto txn = env->begin_read();
  REQUIRE(txn);
  for (std::uint64_t s = 1; s <= 3; ++s) {
    auto v = txn->get(*view, "KS/" + std::to_string(s));
    REQUIRE(v);
    CHECK(*v == entry_bytes("KS", s));
  }
}

TEST_CASE("the apply hook is not called for a refused append", "[storage][log][hook]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  int calls = 0;
  log.set_apply_hook(
      [&](WriteTxn&, std::string_view, std::uint64_t, std::string_view) -> Result<void> {
        ++calls;
        return {};
      });
  REQUIRE(append_range(*env, log, "KS", 1, 1));
  CHECK(calls == 1);
  CHECK_FALSE(append_range(*env, log, "KS", 3, 3));
  CHECK_FALSE(append_range(*env, log, "KS", 1, 1));
  CHECK(calls == 1);
}

TEST_CASE("a failing apply hook leaves neither the entry nor the head", "[storage][log][hook]") {
  TempDir dir("log");
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  auto view = env->dbi("view");
  REQUIRE(view);
  REQUIRE(append_range(*env, log, "KS", 1, 2));

  bool fail = true;
  log.set_apply_hook([&](WriteTxn& txn, std::string_view stream, std::uint64_t seq,
                         std::string_view) -> Result<void> {
    // The hook writes, then fails: its own write must vanish too.
    if (auto r = txn.put(*view, "seen/" + std::string(stream) + "/" + std::to_string(seq), "x");
        !r) {
      return r;
    }
    if (fail && stream == "KS")
      return std::unexpected(storage::Error{ErrorCode::kInvalid, "view refuses event"});
    return {};
  });

  // Another stream written earlier in the same transaction is rolled back with it.
  auto r = env->write([&](WriteTxn& txn) -> Result<void> {
    if (auto a = log.append(txn, "OTHER", 1, "other"); !a) return a;
    return log.append(txn, "KS", 3, entry_bytes("KS", 3));
  });
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kInvalid);
  CHECK(r.error().message == "view refuses event");

  CHECK(head_of(*env, log, "KS") == 2);
  CHECK_FALSE(get_of(*env, log, "KS", 3).has_value());
  CHECK(head_of(*env, log, "OTHER") == 0);
  CHECK_FALSE(get_of(*env, log, "OTHER", 1).has_value());
  CHECK(streams_of(*env, log) == std::map<std::string, std::uint64_t>{{"KS", 2}});
  {
    auto txn = env->begin_read();
    REQUIRE(txn);
    CHECK_FALSE(txn->find(*view, "seen/KS/3").has_value());
    CHECK_FALSE(txn->find(*view, "seen/OTHER/1").has_value());
  }

  // Once the hook accepts, the same seq appends.
  fail = false;
  REQUIRE(append_range(*env, log, "KS", 3, 3));
  CHECK(head_of(*env, log, "KS") == 3);
  CHECK(get_of(*env, log, "KS", 3) == entry_bytes("KS", 3));
  auto txn = env->begin_read();
  REQUIRE(txn);
  CHECK(txn->find(*view, "seen/KS/3").has_value());
}

TEST_CASE("the event log survives closing and reopening the Env", "[storage][log]") {
  TempDir dir("log");
  {
    auto env = open_env(dir.path());
    auto log = open_log(*env);
    REQUIRE(append_range(*env, log, "KS", 1, 5));
    REQUIRE(append_range(*env, log, "KSU", 1, 2));
  }
  auto env = open_env(dir.path());
  auto log = open_log(*env);
  CHECK(head_of(*env, log, "KS") == 5);
  CHECK(head_of(*env, log, "KSU") == 2);
  CHECK(scan_of(*env, log, "KS", 0) == expected_entries("KS", 1, 5));
  CHECK(scan_of(*env, log, "KSU", 0) == expected_entries("KSU", 1, 2));
  CHECK(streams_of(*env, log) == std::map<std::string, std::uint64_t>{{"KS", 5}, {"KSU", 2}});

  // Appending continues from the stored head.
  auto dup = append_range(*env, log, "KS", 5, 5);
  REQUIRE_FALSE(dup);
  CHECK(dup.error().code == ErrorCode::kConflict);
  REQUIRE(append_range(*env, log, "KS", 6, 6));
  CHECK(head_of(*env, log, "KS") == 6);
}
