// The node's uplink: one thread owning a CURVE DEALER socket that streams the
// node's own chain to the hub (federation/PROTOCOL.md, "The exchange").
//
// Ownership: created and owned by the node daemon; the EventSource must
// outlive it. Thread rules: start()/stop()/status() from one controlling
// thread; everything else runs on the uplink's own thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "crypto/crypto.hpp"
#include "federation/interfaces.hpp"

namespace tawasul::federation {

struct UplinkOptions {
  std::string hub_endpoint;  // e.g. tcp://127.0.0.1:7700
  crypto::CurvePublicKey hub_curve_public{};
  crypto::CurveKeyPair curve;  // the node's own CURVE key pair
  std::size_t batch_events_max = 256;
  std::size_t batch_bytes_max = std::size_t{1} << 20;
  std::size_t window_events_max = 2048;
  std::int64_t hello_retry_ms = 1000;
  std::int64_t ack_timeout_ms = 3000;
  int poll_interval_ms = 10;
  // Back-off after a NACK that resending at once cannot cure (PROTOCOL.md,
  // "Back-off"): the k-th wait is min(initial · 2^(k-1), max) · (1 + r/4).
  std::int64_t backoff_initial_ms = 1000;
  std::int64_t backoff_max_ms = 5 * 60 * 1000;
  // Uniform in [0, 1): the jitter's r. Null: a generator seeded at random.
  std::function<double()> random;
  // Where a CALENDAR from the hub goes, and the version HELLO reports
  // (PROTOCOL.md, "The national calendar"); null: CALENDAR is dropped.
  // Must outlive the uplink.
  CalendarReceiver* calendar_receiver = nullptr;
};

struct UplinkStatus {
  bool streaming = false;   // handshake done
  bool halted = false;      // stopped for an operator (fork, bad signature, hub ahead)
  std::uint64_t acked = 0;  // the hub's cumulative ACK
  std::uint64_t sent_upto = 0;
  std::string last_error;
  // While backing off after a NACK (PROTOCOL.md, "Back-off"): its reason
  // (refused, unsupported, unavailable or gap; empty otherwise), the hub's
  // message, the consecutive NACKs without progress and the wait left.
  std::string refused;
  std::string refusal;
  std::uint32_t retries = 0;
  std::int64_t retry_in_ms = 0;
};

// The k-th back-off wait (k >= 1) for jitter r in [0, 1).
std::int64_t backoff_wait_ms(const UplinkOptions& options, std::uint32_t k, double r);

class Uplink {
 public:
  Uplink(zmq::context_t& context, EventSource& source, UplinkOptions options, Log log,
         const Clock& clock = steady_clock());
  ~Uplink();
  Uplink(const Uplink&) = delete;
  Uplink& operator=(const Uplink&) = delete;

  void start();
  void stop();
  UplinkStatus status() const;

 private:
  void run();
  // One session: a socket, the handshake and streaming, until stopped.
  void run_session();

  zmq::context_t& context_;
  EventSource& source_;
  UplinkOptions options_;
  Log log_;
  const Clock& clock_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> streaming_{false};
  std::atomic<bool> halted_{false};
  std::atomic<std::uint64_t> acked_{0};
  std::atomic<std::uint64_t> sent_upto_{0};
  std::atomic<std::int64_t> retry_at_ms_{0};
  mutable std::mutex error_mutex_;
  std::string last_error_;
  std::string refused_;  // guarded by error_mutex_, as are the next two
  std::string refusal_;
  std::uint32_t retries_ = 0;
};

}  // namespace tawasul::federation
