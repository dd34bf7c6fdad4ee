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
  void run();
  void handle(zmq::multipart_t& message);
  void handle_events(const std::string& routing_id, const std::string& code,
                     zmq::multipart_t& message);
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
};

}  // namespace tawasul::federation
