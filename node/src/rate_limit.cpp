#include "node/rate_limit.hpp"

namespace tawasul::node {

RateLimiter::Window* RateLimiter::live(std::string_view key, std::int64_t now_ms) {
  const std::string k(key);
  auto it = current_.find(k);
  if (it == current_.end()) {
    auto old = previous_.find(k);
    if (old == previous_.end()) return nullptr;
    it = current_.emplace(k, old->second).first;
    previous_.erase(old);
  }
  if (now_ms - it->second.start_ms >= options_.window_ms) {
    current_.erase(it);
    return nullptr;
  }
  return &it->second;
}

RateLimiter::Window& RateLimiter::open(std::string_view key, std::int64_t now_ms) {
  if (current_.size() >= options_.max_keys / 2) {
    previous_ = std::move(current_);
    current_.clear();
  }
  return current_[std::string(key)] = Window{now_ms, 0};
}

std::optional<std::int64_t> RateLimiter::refusal(const Window* w, std::int64_t now_ms) const {
  if (w == nullptr || w->count < options_.limit) return std::nullopt;
  return w->start_ms + options_.window_ms - now_ms;
}

std::optional<std::int64_t> RateLimiter::refused_for_ms(std::string_view key, std::int64_t now_ms) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mutex_);
  return refusal(live(key, now_ms), now_ms);
}

void RateLimiter::add(std::string_view key, std::int64_t now_ms) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  Window* w = live(key, now_ms);
  if (w == nullptr) w = &open(key, now_ms);
  ++w->count;
}

std::optional<std::int64_t> RateLimiter::take(std::string_view key, std::int64_t now_ms) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mutex_);
  Window* w = live(key, now_ms);
  if (auto refused = refusal(w, now_ms)) return refused;
  if (w == nullptr) w = &open(key, now_ms);
  ++w->count;
  return std::nullopt;
}

}  // namespace tawasul::node
