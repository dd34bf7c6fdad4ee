// A fault-injecting TCP proxy on 127.0.0.1 for federation tests: it relays
// bytes between each client and the target port on one thread with poll(),
// and on demand drops, delays, resets or throttles them.
//
// Thread rules: construct, set_mode(), reset_all() and destroy from the test's
// thread; the relay runs on a thread of its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

namespace tawasul::test {

class FaultProxy {
 public:
  enum class Mode {
    kPass,       // relay as is
    kClose,      // close every connection, and each new one at once
    kBlackhole,  // accept and read, deliver nothing (a link that went silent)
    kDelay,      // deliver each chunk `delay_ms` after it was read
    kThrottle,   // deliver at most `bytes_per_second` each way per connection
  };
  struct Settings {
    Mode mode = Mode::kPass;
    int delay_ms = 0;
    std::int64_t bytes_per_second = 0;
  };

  // Listens on a free port of 127.0.0.1 and relays to 127.0.0.1:target_port.
  explicit FaultProxy(int target_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  // Takes effect before it returns: every byte read afterwards is relayed
  // under the new settings. Connections that went through a blackhole are
  // closed when it ends: their streams lost bytes and cannot go on.
  void set(Settings settings);
  // Resets every open connection (RST both ways: SO_LINGER 0), once.
  void reset_all() { reset_requested_ = true; }
  // Connections accepted so far (to check that a fault made the node reconnect).
  int accepted() const { return accepted_; }

 private:
  void run();

  int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::mutex mutex_;
  Settings settings_;
  std::uint64_t generation_ = 0;           // of settings_, guarded by mutex_
  std::atomic<std::uint64_t> applied_{0};  // the generation the relay runs under
  std::atomic<bool> reset_requested_{false};
  std::atomic<int> accepted_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// 50 kbit/s: the slow link of the issue.
inline constexpr std::int64_t kSlowLinkBytesPerSecond = 50'000 / 8;

}  // namespace tawasul::test
