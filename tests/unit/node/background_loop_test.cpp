// The thread skeleton of the Notifier and the Sweeper (node/background_loop.hpp):
// rounds after start and after each wait, wake() ending a wait early, stop()
// ending a long wait and joining (idempotent), and stopping() seen inside a
// round. Synchronised with condition variables and generous bounds; nothing
// asserts how long anything takes beyond "well before an hour's wait ends".
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "node/background_loop.hpp"

namespace {

using tawasul::node::BackgroundLoop;
using namespace std::chrono_literals;

// How long a test waits for something that should come at once.
constexpr auto kBound = std::chrono::seconds(20);
// A wait no test lives to see end by itself.
constexpr std::chrono::milliseconds kLong = std::chrono::hours(1);

// Counts rounds; a test waits (bounded) for the count to reach a number.
class Rounds {
 public:
  void hit() {
    {
      std::lock_guard lock(mutex_);
      ++count_;
    }
    changed_.notify_all();
  }
  bool reach(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kBound, [&] { return count_ >= n; });
  }
  int count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

}  // namespace

TEST_CASE("a started loop runs a round at once and again after each wait",
          "[concurrency][background]") {
  Rounds rounds;
  BackgroundLoop loop([&] {
    rounds.hit();
    return std::chrono::milliseconds(1);
  });
  CHECK(rounds.count() == 0);  // nothing before start()
  CHECK_FALSE(loop.stopping());
  loop.start();
  loop.start();  // already running: no second thread
  REQUIRE(rounds.reach(3));
  loop.stop();
  CHECK(loop.stopping());
}

TEST_CASE("wake() runs a round before the wait ends", "[concurrency][background]") {
  Rounds rounds;
  BackgroundLoop loop([&] {
    rounds.hit();
    return kLong;
  });
  loop.start();
  REQUIRE(rounds.reach(1));
  loop.wake();
  REQUIRE(rounds.reach(2));
  loop.wake();
  REQUIRE(rounds.reach(3));
  // Each wake() ends one wait: no further round comes by itself.
  CHECK(rounds.count() == 3);
  loop.stop();
  CHECK(rounds.count() == 3);
}

TEST_CASE("stop() ends a long wait, joins, may be called again, and start() resumes",
          "[concurrency][background]") {
  Rounds rounds;
  BackgroundLoop loop([&] {
    rounds.hit();
    return kLong;
  });
  loop.start();
  REQUIRE(rounds.reach(1));
  const auto asked = std::chrono::steady_clock::now();
  loop.stop();
  // Returning at all proves it; the bound only says "not by the wait's end".
  CHECK(std::chrono::steady_clock::now() - asked < kLong / 4);
  CHECK(loop.stopping());
  CHECK(rounds.count() == 1);
  loop.stop();  // idempotent
  CHECK(loop.stopping());
  CHECK(rounds.count() == 1);
  // Started again, it runs rounds again.
  loop.start();
  CHECK_FALSE(loop.stopping());
  REQUIRE(rounds.reach(2));
  loop.stop();
  loop.stop();
}

TEST_CASE("stop() on a loop never started only marks it stopping", "[concurrency][background]") {
  Rounds rounds;
  {
    BackgroundLoop loop([&] {
      rounds.hit();
      return kLong;
    });
    loop.wake();
    loop.stop();
    loop.stop();
    CHECK(loop.stopping());
  }  // and the destructor stops it once more
  CHECK(rounds.count() == 0);
}

TEST_CASE("the destructor stops a running loop during its wait", "[concurrency][background]") {
  Rounds rounds;
  {
    BackgroundLoop loop([&] {
      rounds.hit();
      return kLong;
    });
    loop.start();
    REQUIRE(rounds.reach(1));
  }
  CHECK(rounds.count() == 1);
}

TEST_CASE("inside a round stopping() turns true once stop() is requested, ending it early",
          "[concurrency][background]") {
  std::mutex mutex;
  std::condition_variable changed;
  bool entered = false;
  std::atomic<int> rounds{0};
  std::atomic<bool> stopping_at_entry{true};
  std::atomic<bool> stopping_seen{false};
  std::optional<BackgroundLoop> loop;
  loop.emplace([&] {
    ++rounds;
    stopping_at_entry = loop->stopping();
    {
      std::lock_guard lock(mutex);
      entered = true;
    }
    changed.notify_all();
    // A long round polls stopping(), as the Notifier's command and the
    // Sweeper's batch do; the bound only keeps a broken loop from hanging.
    const auto give_up = std::chrono::steady_clock::now() + kBound;
    while (!loop->stopping() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(1ms);
    stopping_seen = loop->stopping();
    return kLong;
  });
  loop->start();
  {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, kBound, [&] { return entered; }));
  }
  loop->stop();  // returns once the round has seen it and ended
  CHECK_FALSE(stopping_at_entry);
  CHECK(stopping_seen);
  CHECK(rounds == 1);  // no round after the stop
}
