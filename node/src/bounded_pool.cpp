#include "node/bounded_pool.hpp"

#include <algorithm>
#include <exception>
#include <iostream>

namespace tawasul::node {

std::size_t core_count() {
  return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

BoundedPool::BoundedPool(std::size_t threads, std::size_t queue_max) : queue_max_(queue_max) {
  threads = std::max<std::size_t>(1, threads);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

BoundedPool::~BoundedPool() {
  stop();
}

bool BoundedPool::try_submit(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= queue_max_) return false;
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

void BoundedPool::stop() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  // `dropped` goes out of scope here, after the threads: a task's captures
  // are released outside the lock.
}

std::size_t BoundedPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void BoundedPool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      std::cerr << "bounded pool: a task threw: " << e.what() << "\n";
    } catch (...) {
      std::cerr << "bounded pool: a task threw\n";
    }
  }
}

BoundedGate::BoundedGate(std::size_t slots, std::size_t queue_max)
    : slots_(std::max<std::size_t>(1, slots)), queue_max_(queue_max) {}

bool BoundedGate::enter() {
  std::unique_lock lock(mutex_);
  if (running_ < slots_) {
    ++running_;
    return true;
  }
  if (waiting_ >= queue_max_) return false;
  ++waiting_;
  freed_.wait(lock, [this] { return running_ < slots_; });
  --waiting_;
  ++running_;
  return true;
}

std::size_t BoundedGate::in_use() const {
  std::lock_guard lock(mutex_);
  return running_ + waiting_;
}

void BoundedGate::leave() {
  {
    std::lock_guard lock(mutex_);
    --running_;
  }
  freed_.notify_one();
}

}  // namespace tawasul::node
