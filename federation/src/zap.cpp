#include "federation/zap.hpp"

#include <zmq_addon.hpp>

namespace tawasul::federation {

ZapHandler::ZapHandler(zmq::context_t& context, const KeyDirectory& directory, Log log)
    : socket_(context, zmq::socket_type::rep), directory_(directory), log_(std::move(log)) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
  thread_ = std::thread([this] { run(); });
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::run() {
  while (!stop_) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
    } catch (const zmq::error_t&) {
      break;  // context terminated
    }
    zmq::multipart_t request;
    if (!request.recv(socket_)) continue;
    // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
    std::string version = request.size() > 0 ? request[0].to_string() : "";
    std::string request_id = request.size() > 1 ? request[1].to_string() : "";
    std::string status = "400";
    std::string status_text = "not enrolled";
    std::string user_id;
    if (version != "1.0" || request.size() < 6) {
      status = "500";
      status_text = "malformed ZAP request";
    } else if (request[2].to_string() != kZapDomain) {
      status_text = "wrong ZAP domain";
    } else if (request[5].to_string() != "CURVE" || request.size() != 7 ||
               request[6].size() != 32) {
      status_text = "only CURVE with a 32-byte key is accepted";
    } else {
      crypto::CurvePublicKey key{};
      std::memcpy(key.data(), request[6].data(), key.size());
      try {
        if (auto node = directory_.by_curve_key(key)) {
          status = "200";
          status_text = "OK";
          user_id = node->code;
        }
      } catch (...) {
        status = "500";
        status_text = "key directory unavailable";
      }
    }
    if (status != "200" && log_) {
      log_("warn", "federation: refused a connection from " +
                       (request.size() > 3 ? request[3].to_string() : std::string("?")) + ": " +
                       status_text);
    }
    zmq::multipart_t reply;
    reply.addstr("1.0");
    reply.addstr(request_id);
    reply.addstr(status);
    reply.addstr(status_text);
    reply.addstr(user_id);
    reply.addstr("");
    try {
      reply.send(socket_);
    } catch (const zmq::error_t&) {
      break;
    }
  }
  socket_.close();
}

}  // namespace tawasul::federation
