// RateLimiter: how many times a key (a client address, a phone number, a
// tracking number, a recipient) may do something in a window of time —
// wrong access codes, filings, notifications (SECURITY.md lists each limit
// and its default).
//
// A fixed window per key: the first event opens a window of `window_ms`;
// once `limit` events fall in it the key is refused until the window ends.
// Memory is bounded (DESIGN.md invariant 8): at most `max_keys` keys, in two
// generations — when the current one is half full it becomes the previous
// one and the previous one is dropped, so the keys kept are the recent ones
// and an attacker spraying addresses only evicts old windows.
//
// Thread-safe; the clock is the caller's (now_ms), so tests drive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tawasul::node {

class RateLimiter {
 public:
  struct Options {
    std::size_t limit = 0;  // 0: no limit (the limiter is off)
    std::int64_t window_ms = 0;
    std::size_t max_keys = 100'000;
  };
  explicit RateLimiter(Options options) : options_(options) {}

  bool enabled() const { return options_.limit > 0 && options_.window_ms > 0; }
  const Options& options() const { return options_; }

  // How long until `key` may act again, when it is refused now.
  std::optional<std::int64_t> refused_for_ms(std::string_view key, std::int64_t now_ms);
  // Counts one event against `key` (e.g. a wrong access code).
  void add(std::string_view key, std::int64_t now_ms);
  // Checks and counts in one step: nullopt when `key` may act (and the act
  // is counted), else how long until it may.
  std::optional<std::int64_t> take(std::string_view key, std::int64_t now_ms);

 private:
  struct Window {
    std::int64_t start_ms = 0;
    std::size_t count = 0;
  };
  // The live window of `key`, moved into the current generation; null when
  // it has none (or it ended).
  Window* live(std::string_view key, std::int64_t now_ms);
  Window& open(std::string_view key, std::int64_t now_ms);
  std::optional<std::int64_t> refusal(const Window* w, std::int64_t now_ms) const;

  Options options_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> current_;
  std::unordered_map<std::string, Window> previous_;
};

}  // namespace tawasul::node
