#include "federation/hub_router.hpp"

#include <zmq_addon.hpp>

#include "crypto/envelope.hpp"
#include "federation/wire.hpp"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93  // a draft option in 4.3; Debian's libzmq supports it
#endif

namespace tawasul::federation {

HubRouter::HubRouter(zmq::context_t& context, EventSink& sink, const KeyDirectory& directory,
                     HubOptions options, Log log)
    : context_(context),
      sink_(sink),
      directory_(directory),
      options_(std::move(options)),
      log_(std::move(log)) {}

HubRouter::~HubRouter() {
  stop();
}

std::expected<std::string, std::string> HubRouter::start() {
  try {
    // The ZAP handler must be listening before the server socket binds, or
    // the first clients would be let in unchecked.
    zap_ = std::make_unique<ZapHandler>(context_, directory_, log_);
    socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::router);
    auto& s = *socket_;
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::router_mandatory, 1);
    s.set(zmq::sockopt::curve_server, 1);
    s.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(options_.curve.secret_key.data(), 32));
    s.set(zmq::sockopt::zap_domain, kZapDomain);
    int enforce = 1;
    if (zmq_setsockopt(s.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce) != 0) {
      return std::unexpected(
          "this libzmq cannot enforce the ZAP domain; refusing to run unguarded");
    }
    // One frame is at most a message's bound; a peer's queue a few messages
    // (PROTOCOL.md, "Memory").
    s.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMessageBytesMax));
    s.set(zmq::sockopt::sndhwm, 10000);
    s.set(zmq::sockopt::rcvhwm, kPeerQueueMessages);
    s.bind(options_.bind_endpoint);
    std::string endpoint = s.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { run(); });
    return endpoint;
  } catch (const zmq::error_t& e) {
    socket_.reset();
    zap_.reset();
    return std::unexpected("cannot listen on " + options_.bind_endpoint + ": " + e.what());
  }
}

void HubRouter::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  socket_.reset();
  zap_.reset();
}

void HubRouter::post(Reply reply) {
  std::lock_guard lock(replies_mutex_);
  if (replies_.size() >= kRepliesMax) {
    log_("warn", "federation: reply dropped (too many waiting); the node will handshake again");
    return;
  }
  replies_.push_back(std::move(reply));
}

HubStatus HubRouter::status() const {
  HubStatus s;
  std::lock_guard lock(peers_mutex_);
  for (const auto& [code, peer] : peers_) {
    if (peer.refusal) s.refusals[code] = *peer.refusal;
  }
  return s;
}

void HubRouter::send(const Reply& reply) {
  zmq::multipart_t out;
  out.addstr(reply.routing_id);
  out.addstr(reply.header);
  out.addstr(reply.body);
  for (const auto& frame : reply.more) out.addstr(frame);
  try {
    if (!out.send(*socket_, static_cast<int>(zmq::send_flags::dontwait))) {
      log_("warn", "federation: reply dropped (peer busy)");
    }
  } catch (const zmq::error_t& e) {
    // EHOSTUNREACH: the node went away; it will handshake again.
    log_("info", std::string("federation: reply not delivered: ") + e.what());
  }
}

void HubRouter::run() {
  while (!stop_) {
    std::deque<Reply> ready;
    {
      std::lock_guard lock(replies_mutex_);
      ready.swap(replies_);
    }
    for (const auto& r : ready) send(r);
    zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(options_.poll_interval_ms)) == 0) continue;
      // Drain what is waiting, boundedly, then look at replies again.
      for (int i = 0; i < 64; ++i) {
        Incoming message;
        if (!receive(message)) break;
        handle_guarded(message);
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) break;
      log_("error", std::string("federation: router error: ") + e.what());
    }
  }
}

// Reads one message part by part. libzmq hands a multipart message over only
// once it has all of it, so the rest is there at once; what is beyond the
// bound is received and let go, never kept.
bool HubRouter::receive(Incoming& in) {
  zmq::message_t part;
  if (!socket_->recv(part, zmq::recv_flags::dontwait)) return false;
  std::size_t bytes = 0;
  for (;;) {
    const bool more = part.more();
    if (!in.oversize && in.frames.size() < kMessageFramesMax &&
        bytes + part.size() <= kMessageBytesMax) {
      bytes += part.size();
      in.frames.push_back(std::move(part));
    } else {
      in.oversize = true;
    }
    if (!more) return true;
    part.rebuild();
    if (!socket_->recv(part, zmq::recv_flags::none)) return true;
  }
}

// No poison stops the router (DESIGN.md invariant 9): a message whose
// handling throws is refused (the node backs off), and the next one is read.
void HubRouter::handle_guarded(Incoming& message) {
  try {
    handle(message);
  } catch (const std::exception& e) {
    log_("error", std::string("federation: a message could not be handled: ") + e.what());
    if (message.frames.size() < 2) return;
    const char* user_id = zmq_msg_gets(message.frames[1].handle(), "User-Id");
    if (user_id == nullptr || *user_id == '\0') return;
    try {
      const std::string code = user_id;
      const std::uint64_t cursor = sink_.cursor(code);
      refused(code, "refused", e.what(), cursor);
      post({message.frames[0].to_string(), encode_header(MessageType::kNack),
            encode(Nack{cursor, "refused", "the hub could not handle this message"})});
    } catch (const std::exception&) {  // the refusal itself failed: the node times out
    }
  }
}

void HubRouter::handle(Incoming& message) {
  auto& frames = message.frames;
  if (frames.size() < 2) return;
  std::string routing_id = frames[0].to_string();
  // The node code the ZAP handler bound to this connection's key.
  const char* user_id = zmq_msg_gets(frames[1].handle(), "User-Id");
  if (user_id == nullptr || *user_id == '\0') {
    log_("error", "federation: message without an authenticated User-Id dropped");
    return;
  }
  std::string code = user_id;
  auto type = parse_header(frames[1].to_string_view());
  if (!type) {
    log_("warn", "federation: " + code + ": " + type.error() + "; dropped");
    // A newer node learns that this hub does not speak it, and backs off.
    if (unsupported_header(frames[1].to_string_view())) {
      refused(code, "unsupported", type.error(), 0);
      post({routing_id, encode_header(MessageType::kNack),
            encode(Nack{0, "unsupported",
                        "this hub speaks protocol version " + std::to_string(kProtocolVersion) +
                            ": " + type.error()})});
    }
    return;
  }
  switch (*type) {
    case MessageType::kHello:
      handle_hello(routing_id, code, message);
      return;
    case MessageType::kEvents:
      handle_events(routing_id, code, message);
      return;
    default:
      log_("warn", "federation: " + code + ": unexpected message type; dropped");
      return;
  }
}

void HubRouter::handle_hello(const std::string& routing_id, const std::string& code,
                             Incoming& message) {
  auto hello = message.frames.size() == 3 && !message.oversize
                   ? parse_hello(message.frames[2].to_string_view())
                   : std::unexpected(std::string("HELLO needs one body frame"));
  if (!hello) {
    log_("warn", "federation: " + code + ": bad HELLO: " + hello.error());
    return;
  }
  if (hello->code != code) {
    log_("warn", "federation: key of " + code + " said HELLO as " + hello->code + "; refused");
    post({routing_id, encode_header(MessageType::kNack),
          encode(Nack{0, "wrong_origin", "this key is enrolled as " + code})});
    return;
  }
  std::uint64_t cursor = sink_.cursor(code);
  log_("info", "federation: " + code + " connected (node head " + std::to_string(hello->head) +
                   ", hub cursor " + std::to_string(cursor) + ")");
  post({routing_id, encode_header(MessageType::kWelcome), encode(Cursor{cursor})});
  // After WELCOME, on the same connection: the node sees WELCOME first.
  const auto& calendar = options_.national_calendar;
  if (!calendar) return;
  if (hello->calendar_version < calendar->version) {
    log_("info", "federation: sending national calendar version " +
                     std::to_string(calendar->version) + " to " + code + " (it holds " +
                     std::to_string(hello->calendar_version) + ")");
    post({routing_id,
          encode_header(MessageType::kCalendar),
          encode_calendar_body(*calendar),
          {calendar->text, std::string(reinterpret_cast<const char*>(calendar->signature.data()),
                                       calendar->signature.size())}});
  } else if (hello->calendar_version > calendar->version) {
    log_("warn", "federation: " + code + " holds national calendar version " +
                     std::to_string(hello->calendar_version) + ", newer than this hub's " +
                     std::to_string(calendar->version) +
                     " (hub store restored from an older backup?); not sent");
  }
}

void HubRouter::refused(const std::string& code, const std::string& reason,
                        const std::string& message, std::uint64_t cursor) {
  std::lock_guard lock(peers_mutex_);
  auto& peer = peers_[code];
  const std::uint64_t count = peer.refusal ? peer.refusal->count + 1 : 1;
  peer.refusal = PeerRefusal{reason, message, cursor, count};
}

void HubRouter::handle_events(const std::string& routing_id, const std::string& code,
                              Incoming& message) {
  auto nack = [&](std::string reason, std::string text) {
    log_("warn", "federation: " + code + ": refused a batch (" + reason + "): " + text);
    post({routing_id, encode_header(MessageType::kNack),
          encode(Nack{sink_.cursor(code), std::move(reason), std::move(text)})});
  };
  const auto& frames = message.frames;
  const std::size_t count = frames.size() - 2;
  if (message.oversize || count == 0 || count > kBatchEventsMax) {
    nack("malformed", "a batch holds 1.." + std::to_string(kBatchEventsMax) +
                          " events in at most " + std::to_string(kMessageBytesMax) + " bytes");
    return;
  }
  auto node = directory_.by_code(code);
  if (!node) {
    nack("wrong_origin", "node is no longer enrolled");
    return;
  }
  std::vector<std::string> batch;
  batch.reserve(count);
  std::size_t bytes = 0;
  for (std::size_t i = 2; i < frames.size(); ++i) {
    std::string envelope = frames[i].to_string();
    auto event = crypto::decode_envelope(envelope);
    if (!event) {
      nack("malformed",
           "event " + std::to_string(i - 1) + " of the batch: " + event.error().message);
      return;
    }
    if (event->origin != code) {
      nack("wrong_origin",
           "event " + std::to_string(event->seq) + " claims origin " + event->origin);
      return;
    }
    // The key valid for this event: a backlog signed before a key rotation
    // still verifies under the key that signed it (storage/FORMAT.md).
    if (!crypto::verify_envelope(envelope, signing_key_for(*node, event->seq))) {
      nack("bad_signature", "event " + std::to_string(event->seq) + " is not signed by " + code);
      return;
    }
    bytes += envelope.size();
    batch.push_back(std::move(envelope));
  }
  {
    // What one node may have waiting at the sink (PROTOCOL.md, "Memory").
    std::lock_guard lock(peers_mutex_);
    auto& peer = peers_[code];
    if (peer.batches >= kPeerInFlightBatchesMax || peer.bytes + bytes > kPeerInFlightBytesMax) {
      peer.refusal = PeerRefusal{"unavailable", "too much in flight", 0,
                                 peer.refusal ? peer.refusal->count + 1 : 1};
      post({routing_id, encode_header(MessageType::kNack),
            encode(Nack{sink_.cursor(code), "unavailable",
                        "too many batches of this node wait to be stored"})});
      return;
    }
    ++peer.batches;
    peer.bytes += bytes;
  }
  try {
    sink_.store(code, std::move(batch), [this, routing_id, code, bytes](StoreOutcome outcome) {
      stored(routing_id, code, bytes, outcome);
    });
  } catch (const std::exception& e) {
    // Answered as any refused batch, which also releases its place in flight.
    stored(routing_id, code, bytes,
           StoreOutcome{StoreOutcome::Status::kRefused, sink_.cursor(code),
                        std::string("the hub could not store this batch: ") + e.what()});
  }
}

void HubRouter::stored(const std::string& routing_id, const std::string& code, std::size_t bytes,
                       const StoreOutcome& outcome) {
  using Status = StoreOutcome::Status;
  {
    std::lock_guard lock(peers_mutex_);
    auto& peer = peers_[code];
    peer.batches -= std::min<std::size_t>(peer.batches, 1);
    peer.bytes -= std::min(peer.bytes, bytes);
    if (outcome.status == Status::kStored) peer.refusal.reset();
    if (peer.batches == 0 && !peer.refusal) peers_.erase(code);
  }
  if (outcome.status == Status::kStored) {
    const std::uint64_t calendar_version =
        options_.national_calendar ? options_.national_calendar->version : 0;
    post({routing_id, encode_header(MessageType::kAck),
          encode(Cursor{outcome.cursor, calendar_version})});
    return;
  }
  std::string reason;
  switch (outcome.status) {
    case Status::kGap:
      reason = "gap";
      break;
    case Status::kFork:
      reason = "fork";
      break;
    case Status::kRefused:
      reason = "refused";
      break;
    case Status::kUnsupported:
      reason = "unsupported";
      break;
    default:
      reason = "unavailable";
      break;
  }
  log_(outcome.status == Status::kGap ? "info" : "error",
       "federation: " + code + ": batch refused (" + reason + "): " + outcome.message);
  if (outcome.status != Status::kGap) refused(code, reason, outcome.message, outcome.cursor);
  post({routing_id, encode_header(MessageType::kNack),
        encode(Nack{outcome.cursor, reason, outcome.message})});
}

}  // namespace tawasul::federation
