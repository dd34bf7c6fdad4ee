#include "node/background_loop.hpp"

#include <algorithm>
#include <utility>

namespace tawasul::node {

BackgroundLoop::BackgroundLoop(Round round, OnError on_error)
    : round_(std::move(round)), on_error_(std::move(on_error)) {}

BackgroundLoop::~BackgroundLoop() {
  stop();
}

void BackgroundLoop::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void BackgroundLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundLoop::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

bool BackgroundLoop::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void BackgroundLoop::run() {
  for (;;) {
    if (stopping()) return;
    const std::chrono::milliseconds wait = guarded_round();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, wait, [&] { return stopping_ || woken_; });
    woken_ = false;
  }
}

std::chrono::milliseconds BackgroundLoop::guarded_round() {
  std::string what;
  try {
    auto wait = round_();
    error_backoff_ = std::chrono::milliseconds{0};
    return wait;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "an exception of unknown type";
  }
  error_backoff_ = error_backoff_.count() == 0 ? kErrorBackoffMin
                                               : std::min(error_backoff_ * 2, kErrorBackoffMax);
  if (on_error_) {
    try {
      on_error_(what, error_backoff_);
    } catch (...) {  // a failing report must not end the thread either
    }
  }
  return error_backoff_;
}

}  // namespace tawasul::node
