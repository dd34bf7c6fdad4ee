// Unit tests for the LMDB environment wrapper (storage/env.hpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "storage/env.hpp"
#include "test_support.hpp"

namespace {

namespace storage = tawasul::storage;
namespace fs = std::filesystem;
using storage::Dbi;
using storage::Env;
using storage::EnvOptions;
using storage::ErrorCode;
using storage::Result;
using storage::WriteTxn;
using tawasul::test::TempDir;

std::unique_ptr<Env> open_env(const fs::path& dir, EnvOptions options = {}) {
  auto env = Env::open(dir, options);
  if (!env) FAIL("Env::open failed: " << env.error().message);
  return std::move(*env);
}

Dbi open_dbi(Env& env, const std::string& name) {
  auto dbi = env.dbi(name);
  if (!dbi) FAIL("Env::dbi failed: " << dbi.error().message);
  return *dbi;
}

// Reads one value in a fresh read transaction, copying it out.
std::optional<std::string> read_value(Env& env, Dbi dbi, std::string_view key) {
  auto txn = env.begin_read();
  if (!txn) FAIL("begin_read failed: " << txn.error().message);
  auto v = txn->find(dbi, key);
  if (!v) return std::nullopt;
  return std::string(*v);
}

Result<void> put_all(Env& env, Dbi dbi,
                     const std::vector<std::pair<std::string, std::string>>& kvs) {
  return env.write([&](WriteTxn& txn) -> Result<void> {
    for (const auto& [k, v] : kvs) {
      if (auto r = txn.put(dbi, k, v); !r) return r;
    }
    return {};
  });
}

// A value of `size` bytes that differs per `index` throughout (not just at the start).
std::string pattern_value(std::size_t index, std::size_t size) {
  std::string v(size, '\0');
  std::uint64_t x = 0x9E3779B97F4A7C15ULL * (index + 1);
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v[i] = static_cast<char>(x & 0xFF);
  }
  return v;
}

std::string key_of(const std::string& prefix, std::size_t i) {
  return prefix + storage::encode_u64(i);
}

}  // namespace

TEST_CASE("Env::open creates the store in a new directory", "[storage][env]") {
  TempDir dir("env");
  auto store = dir / "store" / "nested";
  REQUIRE_FALSE(fs::exists(store));
  auto env = open_env(store);
  CHECK(fs::is_directory(store));
  CHECK(fs::exists(store / "data.mdb"));
  CHECK(env->map_size_bytes() >= (std::size_t{1} << 30));
  CHECK(env->stale_readers_cleared() == 0);
}

TEST_CASE("a committed write reads back", "[storage][env]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  REQUIRE(put_all(*env, dbi, {{"alpha", "1"}, {"beta", std::string("\0two\0", 5)}}));

  auto txn = env->begin_read();
  REQUIRE(txn);
  auto a = txn->get(dbi, "alpha");
  REQUIRE(a);
  CHECK(*a == "1");
  auto b = txn->get(dbi, "beta");
  REQUIRE(b);
  CHECK(*b == std::string_view("\0two\0", 5));
  auto missing = txn->get(dbi, "gamma");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK_FALSE(txn->find(dbi, "gamma").has_value());
}

TEST_CASE("put overwrites and del removes", "[storage][env]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  REQUIRE(put_all(*env, dbi, {{"k", "old"}}));
  REQUIRE(put_all(*env, dbi, {{"k", "new"}}));
  CHECK(read_value(*env, dbi, "k") == "new");

  bool first = false;
  bool second = true;
  REQUIRE(env->write([&](WriteTxn& txn) -> Result<void> {
    auto d1 = txn.del(dbi, "k");
    if (!d1) return std::unexpected(d1.error());
    first = *d1;
    auto d2 = txn.del(dbi, "k");
    if (!d2) return std::unexpected(d2.error());
    second = *d2;
    return {};
  }));
  CHECK(first);
  CHECK_FALSE(second);
  CHECK_FALSE(read_value(*env, dbi, "k").has_value());
}

TEST_CASE("put with MDB_NOOVERWRITE on an existing key is a conflict", "[storage][env]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  REQUIRE(put_all(*env, dbi, {{"k", "v"}}));
  auto r = env->write([&](WriteTxn& txn) { return txn.put(dbi, "k", "w", MDB_NOOVERWRITE); });
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kConflict);
  CHECK(read_value(*env, dbi, "k") == "v");
}

TEST_CASE("a write function returning an error leaves nothing behind", "[storage][env]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  REQUIRE(put_all(*env, dbi, {{"kept", "before"}}));

  auto r = env->write([&](WriteTxn& txn) -> Result<void> {
    if (auto p = txn.put(dbi, "new", "value"); !p) return p;
    if (auto p = txn.put(dbi, "kept", "changed"); !p) return p;
    if (auto d = txn.del(dbi, "kept"); !d) return std::unexpected(d.error());
    return std::unexpected(storage::Error{ErrorCode::kInvalid, "refused by the caller"});
  });
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kInvalid);
  CHECK(r.error().message == "refused by the caller");
  CHECK_FALSE(read_value(*env, dbi, "new").has_value());
  CHECK(read_value(*env, dbi, "kept") == "before");

  // The Env is still usable afterwards.
  REQUIRE(put_all(*env, dbi, {{"after", "ok"}}));
  CHECK(read_value(*env, dbi, "after") == "ok");
}

TEST_CASE("a failing nested child leaves the parent's other writes and drops its own",
          "[storage][env][nested]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  REQUIRE(put_all(*env, dbi, {{"shared", "original"}}));

  std::optional<storage::Error> child_error;
  REQUIRE(env->write([&](WriteTxn& txn) -> Result<void> {
    if (auto p = txn.put(dbi, "parent-before", "1"); !p) return p;
    auto child = txn.nested<void>([&](WriteTxn& c) -> Result<void> {
      if (auto p = c.put(dbi, "child", "x"); !p) return p;
      if (auto p = c.put(dbi, "shared", "child-changed"); !p) return p;
      if (auto p = c.put(dbi, "parent-before", "child-changed"); !p) return p;
      return std::unexpected(storage::Error{ErrorCode::kConflict, "child fails"});
    });
    if (child) return std::unexpected(storage::Error{ErrorCode::kInvalid, "child should fail"});
    child_error = child.error();
    // The parent continues after the child's failure.
    if (auto p = txn.put(dbi, "parent-after", "2"); !p) return p;
    return {};
  }));
  REQUIRE(child_error);
  CHECK(child_error->code == ErrorCode::kConflict);
  CHECK(read_value(*env, dbi, "parent-before") == "1");
  CHECK(read_value(*env, dbi, "parent-after") == "2");
  CHECK(read_value(*env, dbi, "shared") == "original");
  CHECK_FALSE(read_value(*env, dbi, "child").has_value());
}

TEST_CASE("a succeeding nested child's writes commit with the parent", "[storage][env][nested]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  REQUIRE(env->write([&](WriteTxn& txn) -> Result<void> {
    if (auto p = txn.put(dbi, "parent", "1"); !p) return p;
    auto ok = txn.nested<int>([&](WriteTxn& c) -> Result<int> {
      if (auto p = c.put(dbi, "child-ok", "y"); !p) return std::unexpected(p.error());
      return 42;
    });
    if (!ok) return std::unexpected(ok.error());
    if (*ok != 42) return std::unexpected(storage::Error{ErrorCode::kInvalid, "wrong value"});
    // The child's write is visible to the parent at once.
    if (!txn.find(dbi, "child-ok"))
      return std::unexpected(storage::Error{ErrorCode::kNotFound, "child write not visible"});
    auto bad = txn.nested<void>([&](WriteTxn& c) -> Result<void> {
      if (auto p = c.put(dbi, "child-bad", "z"); !p) return p;
      return std::unexpected(storage::Error{ErrorCode::kConflict, "no"});
    });
    if (bad) return std::unexpected(storage::Error{ErrorCode::kInvalid, "child should fail"});
    if (txn.find(dbi, "child-bad"))
      return std::unexpected(storage::Error{ErrorCode::kInvalid, "aborted child write visible"});
    return {};
  }));
  CHECK(read_value(*env, dbi, "parent") == "1");
  CHECK(read_value(*env, dbi, "child-ok") == "y");
  CHECK_FALSE(read_value(*env, dbi, "child-bad").has_value());
}

TEST_CASE("a nested child's writes vanish when the parent fails", "[storage][env][nested]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  auto r = env->write([&](WriteTxn& txn) -> Result<void> {
    auto ok = txn.nested<void>([&](WriteTxn& c) { return c.put(dbi, "child", "y"); });
    if (!ok) return ok;
    return std::unexpected(storage::Error{ErrorCode::kInvalid, "parent fails"});
  });
  REQUIRE_FALSE(r);
  CHECK_FALSE(read_value(*env, dbi, "child").has_value());
}

TEST_CASE("scan visits keys from the start key in order and stops when told",
          "[storage][env][scan]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  auto other = open_dbi(*env, "other");
  // Inserted out of order.
  REQUIRE(put_all(*env, dbi, {{"d", "4"}, {"b", "2"}, {"e", "5"}, {"a", "1"}, {"c", "3"}}));
  REQUIRE(put_all(*env, other, {{"bb", "other db"}}));
  auto txn = env->begin_read();
  REQUIRE(txn);

  auto collect = [&](std::string_view from, std::size_t limit) {
    std::vector<std::pair<std::string, std::string>> seen;
    auto r = txn->scan(dbi, from, [&](std::string_view k, std::string_view v) {
      seen.emplace_back(k, v);
      return seen.size() < limit;
    });
    REQUIRE(r);
    return seen;
  };
  using KVs = std::vector<std::pair<std::string, std::string>>;

  CHECK(collect("", 100) == KVs{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}});
  CHECK(collect("b", 100) == KVs{{"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}});
  // A start key between keys begins at the next one.
  CHECK(collect("bb", 100) == KVs{{"c", "3"}, {"d", "4"}, {"e", "5"}});
  // Stops as soon as fn returns false.
  CHECK(collect("b", 2) == KVs{{"b", "2"}, {"c", "3"}});
  CHECK(collect("a", 1) == KVs{{"a", "1"}});
  // Past the last key: nothing.
  CHECK(collect("f", 100).empty());
}

TEST_CASE("scan of an empty database visits nothing", "[storage][env][scan]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "empty");
  auto txn = env->begin_read();
  REQUIRE(txn);
  int calls = 0;
  REQUIRE(txn->scan(dbi, "", [&](std::string_view, std::string_view) {
    ++calls;
    return true;
  }));
  REQUIRE(txn->scan(dbi, "x", [&](std::string_view, std::string_view) {
    ++calls;
    return true;
  }));
  CHECK(calls == 0);
}

TEST_CASE("last_with_prefix finds the greatest key with a prefix", "[storage][env][prefix]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  const std::string ff = "\xFF";
  const std::vector<std::pair<std::string, std::string>> kvs{
      {"a", "v-a"},
      {"ab1", "v-ab1"},
      {"ab2", "v-ab2"},
      {"ab" + ff, "v-abFF"},
      {"ab" + ff + "\x01", "v-abFF01"},
      {"ac", "v-ac"},
      {"b" + ff + ff, "v-bFFFF"},
      {"b" + ff + ff + "\x05", "v-bFFFF05"},
      {"c", "v-c"},
      {ff, "v-FF"},
      {ff + "\x01", "v-FF01"},
  };
  REQUIRE(put_all(*env, dbi, kvs));
  auto txn = env->begin_read();
  REQUIRE(txn);

  auto last = [&](const std::string& prefix) -> std::optional<std::pair<std::string, std::string>> {
    auto r = txn->last_with_prefix(dbi, prefix);
    REQUIRE(r);
    if (!r->has_value()) return std::nullopt;
    return std::pair<std::string, std::string>((*r)->first, (*r)->second);
  };
  using P = std::pair<std::string, std::string>;

  CHECK(last("a") == P{"ac", "v-ac"});
  CHECK(last("ab") == P{"ab" + ff + "\x01", "v-abFF01"});
  CHECK(last("ab1") == P{"ab1", "v-ab1"});
  CHECK(last("c") == P{"c", "v-c"});
  CHECK(last("") == P{ff + "\x01", "v-FF01"});
  // Prefixes ending in 0xFF.
  CHECK(last("ab" + ff) == P{"ab" + ff + "\x01", "v-abFF01"});
  CHECK(last("b" + ff) == P{"b" + ff + ff + "\x05", "v-bFFFF05"});
  CHECK(last("b" + ff + ff) == P{"b" + ff + ff + "\x05", "v-bFFFF05"});
  CHECK(last(ff) == P{ff + "\x01", "v-FF01"});
  // Absent prefixes: between keys, before all keys, after all ordinary keys, ending in 0xFF.
  CHECK_FALSE(last("ad").has_value());
  CHECK_FALSE(last("aa").has_value());
  CHECK_FALSE(last("0").has_value());
  CHECK_FALSE(last("zz").has_value());
  CHECK_FALSE(last("a" + ff).has_value());
  CHECK_FALSE(last("ac" + ff).has_value());
  CHECK_FALSE(last(ff + ff).has_value());
  CHECK_FALSE(last("ab3").has_value());
}

TEST_CASE("last_with_prefix on an empty database finds nothing", "[storage][env][prefix]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "empty");
  auto txn = env->begin_read();
  REQUIRE(txn);
  for (std::string prefix : {std::string(""), std::string("a"), std::string("\xFF")}) {
    auto r = txn->last_with_prefix(dbi, prefix);
    REQUIRE(r);
    CHECK_FALSE(r->has_value());
  }
}

TEST_CASE("the map grows when writes outgrow it and all data reads back",
          "[storage][env][growth]") {
  TempDir dir("env");
  const std::size_t initial = std::size_t{1} << 20;
  auto env = open_env(dir.path(), EnvOptions{.map_size_bytes = initial});
  auto dbi = open_dbi(*env, "big");
  REQUIRE(env->map_size_bytes() == initial);

  constexpr std::size_t kValue = 16 * 1024;
  // ~8 MiB in 16 writes of 32 values of 16 KiB each.
  constexpr std::size_t kWrites = 16;
  constexpr std::size_t kPerWrite = 32;
  std::size_t runs = 0;
  for (std::size_t w = 0; w < kWrites; ++w) {
    auto r = env->write([&](WriteTxn& txn) -> Result<void> {
      ++runs;
      for (std::size_t i = 0; i < kPerWrite; ++i) {
        std::size_t index = w * kPerWrite + i;
        if (auto p = txn.put(dbi, key_of("many/", index), pattern_value(index, kValue)); !p)
          return p;
      }
      return {};
    });
    INFO("write " << w);
    REQUIRE(r);
  }
  CHECK(runs > kWrites);  // some writes had to be re-run after growing
  const std::size_t after_many = env->map_size_bytes();
  CHECK(after_many > initial);
  CHECK(after_many >= kWrites * kPerWrite * kValue);

  // One single transaction of ~3 MiB (also in small values, so many pages).
  constexpr std::size_t kSingle = 3 * 1024;
  constexpr std::size_t kSmall = 1024;
  REQUIRE(env->write([&](WriteTxn& txn) -> Result<void> {
    for (std::size_t i = 0; i < kSingle; ++i) {
      if (auto p = txn.put(dbi, key_of("single/", i), pattern_value(100000 + i, kSmall)); !p)
        return p;
    }
    return {};
  }));

  auto verify_all = [&](Env& e, Dbi d) {
    auto txn = e.begin_read();
    REQUIRE(txn);
    std::size_t bad = 0;
    for (std::size_t index = 0; index < kWrites * kPerWrite; ++index) {
      auto v = txn->find(d, key_of("many/", index));
      if (!v || *v != pattern_value(index, kValue)) ++bad;
    }
    for (std::size_t i = 0; i < kSingle; ++i) {
      auto v = txn->find(d, key_of("single/", i));
      if (!v || *v != pattern_value(100000 + i, kSmall)) ++bad;
    }
    CHECK(bad == 0);
  };
  verify_all(*env, dbi);

  // Reopened with the small map size it still reads everything and can write more.
  env.reset();
  auto again = open_env(dir.path(), EnvOptions{.map_size_bytes = initial});
  auto dbi2 = open_dbi(*again, "big");
  CHECK(again->map_size_bytes() > initial);
  verify_all(*again, dbi2);
  REQUIRE(put_all(*again, dbi2, {{"after-reopen", pattern_value(7, 2 * 1024 * 1024)}}));
  CHECK(read_value(*again, dbi2, "after-reopen") == pattern_value(7, 2 * 1024 * 1024));
}

TEST_CASE("a single write larger than the map grows the map and commits",
          "[storage][env][growth]") {
  TempDir dir("env");
  const std::size_t initial = std::size_t{1} << 20;
  auto env = open_env(dir.path(), EnvOptions{.map_size_bytes = initial});
  auto dbi = open_dbi(*env, "big");

  // ~3 MiB in one transaction: 12 values of 256 KiB.
  constexpr std::size_t kCount = 12;
  constexpr std::size_t kValue = 256 * 1024;
  int runs = 0;
  REQUIRE(env->write([&](WriteTxn& txn) -> Result<void> {
    ++runs;
    for (std::size_t i = 0; i < kCount; ++i) {
      if (auto p = txn.put(dbi, key_of("v/", i), pattern_value(i, kValue)); !p) return p;
    }
    return {};
  }));
  CHECK(runs > 1);
  CHECK(env->map_size_bytes() > initial);
  for (std::size_t i = 0; i < kCount; ++i) {
    INFO("value " << i);
    CHECK(read_value(*env, dbi, key_of("v/", i)) == pattern_value(i, kValue));
  }
}

TEST_CASE("reopening the Env after closing it keeps the data", "[storage][env]") {
  TempDir dir("env");
  {
    auto env = open_env(dir.path());
    auto dbi = open_dbi(*env, "things");
    REQUIRE(put_all(*env, dbi, {{"k1", "v1"}, {"k2", "v2"}}));
    auto other = open_dbi(*env, "other");
    REQUIRE(put_all(*env, other, {{"k1", "other-v1"}}));
  }
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  auto other = open_dbi(*env, "other");
  CHECK(read_value(*env, dbi, "k1") == "v1");
  CHECK(read_value(*env, dbi, "k2") == "v2");
  CHECK(read_value(*env, other, "k1") == "other-v1");
  CHECK_FALSE(read_value(*env, other, "k2").has_value());
}

TEST_CASE("a read-only Env reads existing data and refuses writes", "[storage][env]") {
  TempDir dir("env");
  {
    auto env = open_env(dir.path());
    auto dbi = open_dbi(*env, "things");
    REQUIRE(put_all(*env, dbi, {{"k", "v"}}));
  }
  auto env = open_env(dir.path(), EnvOptions{.read_only = true});
  auto dbi = open_dbi(*env, "things");
  CHECK(read_value(*env, dbi, "k") == "v");
  auto r = put_all(*env, dbi, {{"k", "w"}});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kInvalid);
}

TEST_CASE("encode_u64 and decode_u64 round-trip", "[storage][encoding]") {
  for (std::uint64_t v :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{255}, std::uint64_t{256},
        std::uint64_t{0x0102030405060708ULL}, std::uint64_t{1} << 32, std::uint64_t{1} << 63,
        std::numeric_limits<std::uint64_t>::max()}) {
    auto e = storage::encode_u64(v);
    CHECK(e.size() == 8);
    CHECK(storage::decode_u64(e) == v);
  }
  CHECK(storage::encode_u64(1) == std::string("\0\0\0\0\0\0\0\x01", 8));
  CHECK(storage::encode_u64(0x0102030405060708ULL) == "\x01\x02\x03\x04\x05\x06\x07\x08");
}

TEST_CASE("encode_u64 sorts bytewise in numeric order", "[storage][encoding]") {
  std::vector<std::uint64_t> values{0,
                                    1,
                                    2,
                                    127,
                                    128,
                                    255,
                                    256,
                                    257,
                                    65535,
                                    65536,
                                    std::uint64_t{1} << 31,
                                    std::uint64_t{1} << 32,
                                    std::uint64_t{1} << 56,
                                    (std::uint64_t{1} << 63) - 1,
                                    std::uint64_t{1} << 63,
                                    std::numeric_limits<std::uint64_t>::max()};
  for (std::size_t i = 0; i + 1 < values.size(); ++i) {
    INFO(values[i] << " < " << values[i + 1]);
    CHECK(storage::encode_u64(values[i]) < storage::encode_u64(values[i + 1]));
  }

  // And LMDB returns them in numeric order whatever the insertion order.
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "nums");
  std::vector<std::uint64_t> shuffled = values;
  std::reverse(shuffled.begin(), shuffled.end());
  std::swap(shuffled[1], shuffled[7]);
  REQUIRE(env->write([&](WriteTxn& txn) -> Result<void> {
    for (auto v : shuffled) {
      if (auto p = txn.put(dbi, storage::encode_u64(v), ""); !p) return p;
    }
    return {};
  }));
  auto txn = env->begin_read();
  REQUIRE(txn);
  std::vector<std::uint64_t> seen;
  REQUIRE(txn->scan(dbi, "", [&](std::string_view k, std::string_view) {
    seen.push_back(storage::decode_u64(k));
    return true;
  }));
  CHECK(seen == values);
}

TEST_CASE("a read transaction sees the snapshot from when it began", "[storage][env][isolation]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  REQUIRE(put_all(*env, dbi, {{"k", "v1"}}));

  auto before = env->begin_read();
  REQUIRE(before);
  // The write runs on another thread (a thread holds one transaction at a time).
  Result<void> written;
  std::thread writer([&] { written = put_all(*env, dbi, {{"k", "v2"}, {"new", "n"}}); });
  writer.join();
  REQUIRE(written);

  auto old_k = before->get(dbi, "k");
  REQUIRE(old_k);
  CHECK(*old_k == "v1");
  CHECK_FALSE(before->find(dbi, "new").has_value());

  auto after = env->begin_read();
  REQUIRE(after);
  auto new_k = after->get(dbi, "k");
  REQUIRE(new_k);
  CHECK(*new_k == "v2");
  CHECK(after->find(dbi, "new") == std::optional<std::string_view>("n"));

  // The older snapshot is unchanged even while a newer one is open.
  CHECK(before->get(dbi, "k").value() == "v1");
}

TEST_CASE("read transactions may move between threads", "[storage][env][isolation]") {
  TempDir dir("env");
  auto env = open_env(dir.path());
  auto dbi = open_dbi(*env, "things");
  REQUIRE(put_all(*env, dbi, {{"k", "v"}}));
  auto txn = env->begin_read();
  REQUIRE(txn);
  std::optional<std::string> seen;
  std::thread reader([&] {
    auto v = txn->find(dbi, "k");
    if (v) seen = std::string(*v);
  });
  reader.join();
  CHECK(seen == "v");
}
