// The hub's router: a CURVE server ROUTER socket guarded by a fail-closed ZAP
// handler, receiving each node's events and acknowledging them after the sink
// has committed them (federation/PROTOCOL.md).
//
// Ownership: created and owned by the hub daemon; sink and directory must
// outlive it. Thread rules: start()/stop() from one controlling thread; the
// router loop and the ZAP handler each run on a thread of their own; the
// sink's `done` callback may come from any thread.
#pragma once

#include <atomic>
#include <deque>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "crypto/crypto.hpp"
#include "federation/interfaces.hpp"
#include "federation/wire.hpp"
#include "federation/zap.hpp"

namespace tawasul::federation {

struct HubOptions {
  std::string bind_endpoint;   // e.g. tcp://127.0.0.1:7700 or tcp://127.0.0.1:*
  crypto::CurveKeyPair curve;  // the hub's CURVE server key pair
  int poll_interval_ms = 2;
  // The signed national calendar to send to nodes that hold an older one
  // (PROTOCOL.md, "The national calendar"); none: nothing is sent.
  std::optional<SignedCalendar> national_calendar;
};

// Per-peer bounds of the hub (PROTOCOL.md, "Memory"). Messages libzmq queues
// for one peer before the router reads them (ZMQ_RCVHWM, per connection).
inline constexpr int kPeerQueueMessages = 16;
// Batches of one peer handed to the sink and not yet answered, and their
// bytes: a full window of the uplink (2048 events in batches of 256) fits.
inline constexpr std::size_t kPeerInFlightBatchesMax = 256;
inline constexpr std::size_t kPeerInFlightBytesMax = 8 * kMessageBytesMax;
// Replies waiting for the router's thread; beyond it, a reply is dropped
// (logged) and the node's ACK timeout makes it handshake again.
inline constexpr std::size_t kRepliesMax = 4096;

// The last refusal the hub sent a node (PROTOCOL.md, "Back-off").
struct PeerRefusal {
  std::string reason;
  std::string message;
  std::uint64_t cursor = 0;
  std::uint64_t count = 0;  // refusals since the hub started or the last stored batch
};

struct HubStatus {
  std::map<std::string, PeerRefusal> refusals;  // by node code
};

class HubRouter {
 public:
  HubRouter(zmq::context_t& context, EventSink& sink, const KeyDirectory& directory,
            HubOptions options, Log log);
  ~HubRouter();
  HubRouter(const HubRouter&) = delete;
  HubRouter& operator=(const HubRouter&) = delete;

  // Starts the ZAP handler, binds, starts the loop. Returns the bound endpoint.
  std::expected<std::string, std::string> start();
  void stop();
  // Thread-safe.
  HubStatus status() const;

 private:
  struct Reply {
    Reply(std::string routing_id_, std::string header_, std::string body_,
          std::vector<std::string> more_ = {})
        : routing_id(std::move(routing_id_)),
          header(std::move(header_)),
          body(std::move(body_)),
          more(std::move(more_)) {}
    std::string routing_id;
    std::string header;
    std::string body;
    std::vector<std::string> more;  // frames after the body (CALENDAR)
  };
  // One message as read part by part: at most kMessageFramesMax frames and
  // kMessageBytesMax bytes are kept; `oversize` when more were drained.
  struct Incoming {
    std::vector<zmq::message_t> frames;
    bool oversize = false;
  };
  // Per enrolled node with work in flight or a refusal to show.
  struct Peer {
    std::size_t batches = 0;
    std::size_t bytes = 0;
    std::optional<PeerRefusal> refusal;
  };
  void run();
  bool receive(Incoming& in);
  void handle(Incoming& message);
  void handle_guarded(Incoming& message);
  void handle_hello(const std::string& routing_id, const std::string& code, Incoming& message);
  void handle_events(const std::string& routing_id, const std::string& code, Incoming& message);
  void stored(const std::string& routing_id, const std::string& code, std::size_t bytes,
              const StoreOutcome& outcome);
  void refused(const std::string& code, const std::string& reason, const std::string& message,
               std::uint64_t cursor);
  void send(const Reply& reply);
  void post(Reply reply);

  zmq::context_t& context_;
  EventSink& sink_;
  const KeyDirectory& directory_;
  HubOptions options_;
  Log log_;
  std::unique_ptr<ZapHandler> zap_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex replies_mutex_;
  std::deque<Reply> replies_;
  mutable std::mutex peers_mutex_;
  std::map<std::string, Peer> peers_;  // only enrolled codes: bounded by the directory
};

}  // namespace tawasul::federation
