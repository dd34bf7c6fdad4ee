// BackgroundLoop: one thread that runs rounds of work until stopped — the
// skeleton shared by the Notifier (notifier.hpp) and the Sweeper
// (sweeper.hpp).
//
// It owns the thread, the mutex and condition variable it waits on, and the
// `stopping` and `woken` flags. The round function it is built with runs on
// that thread, once at start and again after each wait; it returns how long
// to wait before the next round. The wait ends early when wake() is called
// (also when called while a round runs: the next round then comes at once)
// or when stop() is requested. A wait of zero runs the next round at once.
// What a round does and how long it waits is the owner's policy; this class
// decides nothing else.
//
// Thread rules: start()/stop() from the owning thread; wake() and stopping()
// from any thread. stop() is idempotent and joins the thread; a round that
// runs long polls stopping() to end early. After stop(), stopping() stays
// true until the next start(). The round function must not call start() or
// stop(). A round that throws anyway does not end the thread (DESIGN.md
// invariant 9): the exception is reported to `on_error` and the next round
// comes after a back-off that doubles from kErrorBackoffMin to
// kErrorBackoffMax while rounds keep failing, so nothing spins on it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace tawasul::node {

class BackgroundLoop {
 public:
  // One round; returns the wait before the next one.
  using Round = std::function<std::chrono::milliseconds()>;
  // Told what a round threw, and how long the loop now waits.
  using OnError = std::function<void(const std::string& what, std::chrono::milliseconds wait)>;
  static constexpr std::chrono::milliseconds kErrorBackoffMin{1000};
  static constexpr std::chrono::milliseconds kErrorBackoffMax{5 * 60 * 1000};

  explicit BackgroundLoop(Round round, OnError on_error = {});
  // Stops the thread (see stop()).
  ~BackgroundLoop();
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  // Starts the thread; does nothing when it runs already.
  void start();
  // Asks the thread to stop, ends its wait, and joins it (after the round
  // running, if any). Idempotent; when not started it only marks the loop
  // stopping.
  void stop();
  // Runs a round soon: ends the current wait, or the next one.
  void wake();
  // Whether stop() has been requested (for rounds that run long).
  bool stopping() const;

 private:
  void run();
  // One round, with a thrown exception turned into the back-off wait.
  std::chrono::milliseconds guarded_round();

  Round round_;
  OnError on_error_;
  std::chrono::milliseconds error_backoff_{0};  // 0 while rounds succeed
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace tawasul::node
