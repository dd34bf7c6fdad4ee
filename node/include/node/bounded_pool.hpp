// Bounded places for work: every queue here has a written limit, and at the
// limit the caller is told at once (it answers 503 with Retry-After) instead
// of waiting without end or growing a queue.
//
//   BoundedPool: a fixed set of threads taking tasks from a bounded queue
//     (the HTTP handlers, which may block on the writer's commit).
//   BoundedGate: at most `slots` callers run a costly step at once, at most
//     `queue` more wait their turn (Argon2id: 64 MiB and ~0.1 s a hash).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace tawasul::node {

// The number of cores (at least 1): the default width of CPU-bound pools.
std::size_t core_count();

class BoundedPool {
 public:
  // `threads` (at least 1) run tasks; at most `queue_max` wait for one.
  BoundedPool(std::size_t threads, std::size_t queue_max);
  ~BoundedPool();
  BoundedPool(const BoundedPool&) = delete;
  BoundedPool& operator=(const BoundedPool&) = delete;

  // Queues `task`; false (and `task` dropped) when the queue is full or the
  // pool stopped. A task that throws is logged; its thread goes on.
  bool try_submit(std::function<void()> task);
  // Lets running tasks finish, drops queued ones, joins the threads. Idempotent.
  void stop();
  std::size_t queued() const;

 private:
  void work();
  const std::size_t queue_max_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class BoundedGate {
 public:
  BoundedGate(std::size_t slots, std::size_t queue_max);
  BoundedGate(const BoundedGate&) = delete;
  BoundedGate& operator=(const BoundedGate&) = delete;

  // Runs `fn` on the calling thread once a slot is free, and returns what it
  // returns; nullopt, without running it, when all slots are taken and the
  // queue is full.
  template <class Fn>
  auto run(Fn&& fn) -> std::optional<std::invoke_result_t<Fn>> {
    if (!enter()) return std::nullopt;
    Leave leave{*this};
    return std::forward<Fn>(fn)();
  }
  // Callers running or waiting now (for tests and the operator).
  std::size_t in_use() const;

 private:
  struct Leave {
    BoundedGate& gate;
    ~Leave() { gate.leave(); }
  };
  bool enter();
  void leave();
  const std::size_t slots_;
  const std::size_t queue_max_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::size_t running_ = 0;
  std::size_t waiting_ = 0;
};

}  // namespace tawasul::node
