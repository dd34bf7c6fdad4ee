#include "node/background_loop.hpp"

#include <utility>

namespace tawasul::node {

BackgroundLoop::BackgroundLoop(Round round) : round_(std::move(round)) {}

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
    const std::chrono::milliseconds wait = round_();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, wait, [&] { return stopping_ || woken_; });
    woken_ = false;
  }
}

}  // namespace tawasul::node
