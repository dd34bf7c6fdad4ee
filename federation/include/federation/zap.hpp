// A ZAP handler (ZeroMQ RFC 27) that admits only enrolled CURVE keys.
//
// Fails closed: anything but a well-formed CURVE request from an enrolled key
// in the `tawasul` domain is refused; the admitted client's User-Id is its node
// code. The handler binds inproc://zeromq.zap.01 in its constructor, so it is
// in place before any server socket of the same context binds.
// Thread rules: constructed and destroyed by one thread; it runs its own.
#pragma once

#include <atomic>
#include <thread>
#include <zmq.hpp>

#include "federation/interfaces.hpp"

namespace tawasul::federation {

inline constexpr const char* kZapDomain = "tawasul";

class ZapHandler {
 public:
  // Throws zmq::error_t if the ZAP endpoint cannot be bound (e.g. another
  // handler already owns it in this context).
  ZapHandler(zmq::context_t& context, const KeyDirectory& directory, Log log);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

 private:
  void run();
  zmq::socket_t socket_;
  const KeyDirectory& directory_;
  Log log_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace tawasul::federation
