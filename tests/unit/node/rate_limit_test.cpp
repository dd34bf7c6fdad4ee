// The abuse limits' counter (node/rate_limit.hpp): a window per key, a
// refusal with the time left, and memory bounded however many keys come.
#include <catch2/catch.hpp>

#include <string>

#include "node/rate_limit.hpp"

using tawasul::node::RateLimiter;

namespace {
constexpr std::int64_t kMinute = 60'000;
}

TEST_CASE("a key is refused after its limit until its window ends", "[rate_limit]") {
  RateLimiter limiter({.limit = 3, .window_ms = 15 * kMinute});
  const std::int64_t t0 = 1'000'000;
  for (int i = 0; i < 3; ++i) CHECK_FALSE(limiter.take("10.0.0.1", t0 + i));
  auto refused = limiter.take("10.0.0.1", t0 + 5 * kMinute);
  REQUIRE(refused);
  CHECK(*refused == 10 * kMinute);  // the time left in the window: Retry-After
  CHECK(limiter.refused_for_ms("10.0.0.1", t0 + 15 * kMinute - 1));
  // Another key is not touched; the window's end frees the first.
  CHECK_FALSE(limiter.take("10.0.0.2", t0));
  CHECK_FALSE(limiter.refused_for_ms("10.0.0.1", t0 + 15 * kMinute));
  CHECK_FALSE(limiter.take("10.0.0.1", t0 + 15 * kMinute));
}

TEST_CASE("counting apart from checking: only failures count", "[rate_limit]") {
  RateLimiter limiter({.limit = 2, .window_ms = kMinute});
  CHECK_FALSE(limiter.refused_for_ms("a", 0));
  limiter.add("a", 0);
  CHECK_FALSE(limiter.refused_for_ms("a", 1));
  limiter.add("a", 2);
  CHECK(limiter.refused_for_ms("a", 3) == kMinute - 3);
}

TEST_CASE("a limit of 0 is off", "[rate_limit]") {
  RateLimiter limiter({.limit = 0, .window_ms = kMinute});
  for (int i = 0; i < 1000; ++i) CHECK_FALSE(limiter.take("x", i));
}

TEST_CASE("a spray of keys keeps memory bounded and recent keys counted", "[rate_limit]") {
  RateLimiter limiter({.limit = 1, .window_ms = kMinute, .max_keys = 100});
  limiter.take("attacker", 0);
  for (int i = 0; i < 10'000; ++i) limiter.take("spray-" + std::to_string(i), 1);
  // The spray evicted the old key (bounded memory), but a key seen within
  // the last generations is still held to its limit.
  CHECK_FALSE(limiter.refused_for_ms("attacker", 2));
  CHECK(limiter.refused_for_ms("spray-9999", 2));
  CHECK(limiter.refused_for_ms("spray-9960", 2));
}
