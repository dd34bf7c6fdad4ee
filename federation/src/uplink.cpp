#include "federation/uplink.hpp"

#include <algorithm>
#include <random>
#include <thread>
#include <zmq_addon.hpp>

#include "federation/wire.hpp"

namespace tawasul::federation {

namespace {
// How many gap NACKs at one cursor, with no ACK between, a full window of
// batches in flight can explain (each stale batch is NACKed once); beyond
// that the node backs off instead of rewinding at once.
constexpr std::uint32_t kGapRewindsMax = 8;

bool cured_by_waiting(std::string_view reason) {
  return reason == "unavailable" || reason == "refused" || reason == "unsupported";
}
}  // namespace

std::int64_t backoff_wait_ms(const UplinkOptions& options, std::uint32_t k, double r) {
  std::int64_t wait = options.backoff_initial_ms;
  for (std::uint32_t i = 1; i < k && wait < options.backoff_max_ms; ++i) wait *= 2;
  wait = std::min(wait, options.backoff_max_ms);
  return wait + static_cast<std::int64_t>(static_cast<double>(wait) * std::clamp(r, 0.0, 1.0) / 4);
}

Uplink::Uplink(zmq::context_t& context, EventSource& source, UplinkOptions options, Log log,
               const Clock& clock)
    : context_(context),
      source_(source),
      options_(std::move(options)),
      log_(std::move(log)),
      clock_(clock) {}

Uplink::~Uplink() {
  stop();
}

void Uplink::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Uplink::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

UplinkStatus Uplink::status() const {
  UplinkStatus s;
  s.streaming = streaming_;
  s.halted = halted_;
  s.acked = acked_;
  s.sent_upto = sent_upto_;
  std::lock_guard lock(error_mutex_);
  s.last_error = last_error_;
  s.refused = refused_;
  s.refusal = refusal_;
  s.retries = retries_;
  if (!refused_.empty())
    s.retry_in_ms = std::max<std::int64_t>(0, retry_at_ms_ - clock_.monotonic_ms());
  return s;
}

// The uplink's state machine (PROTOCOL.md, "The exchange"):
//
//   handshake --WELCOME(cursor ≤ head)--> streaming
//   streaming --ACK--> streaming (window slides)
//   streaming --NACK gap--> streaming (rewound to the NACK's cursor)
//   streaming --no ACK within ack_timeout--> handshake
//   streaming --NACK unavailable/refused/unsupported, or gap repeated--> backing off
//   backing off --the wait is over--> handshake
//   any --NACK fork/bad_signature/wrong_origin, or WELCOME(cursor > head)--> halted
//
// `halted` needs an operator: the histories disagree, and sending more cannot
// fix that. Backing off ends by itself: the hub may be upgraded, its disk
// freed. The node keeps serving locally whatever the uplink's state.
// No poison stops the uplink (DESIGN.md invariant 9): whatever one session
// throws is logged, and a new session (a new socket, a new handshake) starts
// after a back-off of 1 s doubling to 5 min while sessions keep failing.
void Uplink::run() {
  std::uint32_t failures = 0;
  while (!stop_) {
    try {
      run_session();
      return;  // stopped, or the context ended
    } catch (const std::exception& e) {
      ++failures;
      const std::int64_t wait = backoff_wait_ms(options_, failures, 0.0);
      log_("error", std::string("federation: the uplink failed (") + e.what() +
                        "); starting again in " + std::to_string(wait) + " ms");
      const std::int64_t until = clock_.monotonic_ms() + wait;
      while (!stop_ && clock_.monotonic_ms() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(options_.poll_interval_ms));
    }
  }
}

void Uplink::run_session() {
  zmq::socket_t socket(context_, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::immediate, 1);
  socket.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket.set(zmq::sockopt::heartbeat_timeout, 3000);
  socket.set(zmq::sockopt::reconnect_ivl, 100);
  socket.set(zmq::sockopt::reconnect_ivl_max, 2000);
  socket.set(zmq::sockopt::sndhwm, 64);
  // Nothing the hub sends is larger than a CALENDAR.
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kCalendarTextMax + 64 * 1024));
  socket.set(zmq::sockopt::curve_serverkey,
             zmq::const_buffer(options_.hub_curve_public.data(), 32));
  socket.set(zmq::sockopt::curve_publickey,
             zmq::const_buffer(options_.curve.public_key.data(), 32));
  socket.set(zmq::sockopt::curve_secretkey,
             zmq::const_buffer(options_.curve.secret_key.data(), 32));
  socket.connect(options_.hub_endpoint);

  const std::string origin = source_.origin();
  std::int64_t last_hello_ms = 0;
  std::int64_t last_progress_ms = clock_.monotonic_ms();
  bool streaming = false;
  std::uint64_t acked = acked_;
  std::uint64_t sent_upto = 0;
  std::uint64_t calendar_asked = 0;  // the hub's calendar version a HELLO was sent for
  std::uint32_t failures = 0;        // NACKs since the last progress (PROTOCOL.md, "Back-off")
  std::uint32_t gap_rewinds = 0;     // gap NACKs at `gap_cursor` since the last progress
  std::uint64_t gap_cursor = 0;
  std::int64_t retry_at = 0;
  std::mt19937_64 generator{std::random_device{}()};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  auto random = [&] { return options_.random ? options_.random() : uniform(generator); };

  auto set_error = [&](std::string message) {
    log_("error", "federation: " + message);
    std::lock_guard lock(error_mutex_);
    last_error_ = std::move(message);
  };
  auto publish = [&] {
    streaming_ = streaming;
    acked_ = acked;
    sent_upto_ = sent_upto;
  };
  auto send_hello = [&] {
    zmq::multipart_t m;
    m.addstr(encode_header(MessageType::kHello));
    const std::uint64_t calendar_version =
        options_.calendar_receiver ? options_.calendar_receiver->calendar_version() : 0;
    m.addstr(encode(Hello{origin, acked, source_.head(), calendar_version}));
    // With ZMQ_IMMEDIATE this fails while the hub is unreachable; we retry.
    if (m.send(socket, static_cast<int>(zmq::send_flags::dontwait)))
      last_hello_ms = clock_.monotonic_ms();
  };
  // A NACK resending cannot cure at once: stop streaming, wait, handshake.
  auto back_off = [&](const Nack& n) {
    ++failures;
    const std::int64_t wait = backoff_wait_ms(options_, failures, random());
    retry_at = clock_.monotonic_ms() + wait;
    retry_at_ms_ = retry_at;
    streaming = false;
    last_hello_ms = 0;
    log_(n.reason == "unavailable" || n.reason == "gap" ? "warn" : "error",
         "federation: hub refused events after " + std::to_string(n.cursor) + " (" + n.reason +
             "): " + n.message + "; try " + std::to_string(failures + 1) + " in " +
             std::to_string(wait) + " ms");
    std::lock_guard lock(error_mutex_);
    refused_ = n.reason;
    refusal_ = n.message;
    retries_ = failures;
  };
  // An ACK past the cursor the hub refused at: the cause is gone.
  auto progressed = [&] {
    gap_rewinds = 0;
    if (failures == 0) return;
    log_("info", "federation: the hub accepts our events again");
    failures = 0;
    std::lock_guard lock(error_mutex_);
    refused_.clear();
    refusal_.clear();
    retries_ = 0;
  };
  auto resume_from = [&](std::uint64_t cursor) {
    acked = cursor;
    sent_upto = cursor;
    last_progress_ms = clock_.monotonic_ms();
    source_.hub_acknowledged(cursor);
  };

  while (!stop_) {
    const std::int64_t now = clock_.monotonic_ms();
    if (!halted_ && !streaming && now >= retry_at && now - last_hello_ms >= options_.hello_retry_ms)
      send_hello();

    if (streaming) {
      // Fill the window.
      while (sent_upto - acked < options_.window_events_max) {
        if (source_.head() <= sent_upto) break;
        std::size_t room = std::min<std::size_t>(options_.batch_events_max,
                                                 options_.window_events_max - (sent_upto - acked));
        auto batch = source_.read(sent_upto + 1, room, options_.batch_bytes_max);
        if (batch.empty()) break;
        zmq::multipart_t m;
        m.addstr(encode_header(MessageType::kEvents));
        for (auto& e : batch) m.addstr(std::move(e));
        std::size_t n = m.size() - 1;
        if (!m.send(socket, static_cast<int>(zmq::send_flags::dontwait))) break;
        if (sent_upto == acked) last_progress_ms = now;
        sent_upto += n;
      }
      if (sent_upto > acked && now - last_progress_ms > options_.ack_timeout_ms) {
        log_("warn", "federation: no ACK from the hub for " +
                         std::to_string(options_.ack_timeout_ms) + " ms; handshaking again");
        streaming = false;
        last_hello_ms = 0;
      }
    }
    publish();

    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(options_.poll_interval_ms)) == 0) continue;
    } catch (const zmq::error_t&) {
      break;
    }
    zmq::multipart_t reply;
    if (!reply.recv(socket, static_cast<int>(zmq::recv_flags::dontwait))) continue;
    if (reply.size() < 2) {
      log_("warn", "federation: malformed message from the hub dropped");
      continue;
    }
    auto type = parse_header(reply[0].to_string_view());
    if (!type) {
      log_("warn", "federation: hub: " + type.error());
      continue;
    }
    if (reply.size() != (*type == MessageType::kCalendar ? 4u : 2u)) {
      log_("warn", "federation: message from the hub with the wrong number of frames dropped");
      continue;
    }
    switch (*type) {
      case MessageType::kCalendar: {
        auto calendar = parse_calendar(reply[1].to_string_view(), reply[2].to_string_view(),
                                       reply[3].to_string_view());
        if (!calendar) {
          log_("warn", "federation: malformed CALENDAR from the hub dropped: " + calendar.error());
          break;
        }
        if (!options_.calendar_receiver) {
          log_("warn", "federation: national calendar from the hub ignored (no receiver)");
          break;
        }
        options_.calendar_receiver->calendar_received(std::move(*calendar));
        break;
      }
      case MessageType::kWelcome: {
        auto c = parse_cursor(reply[1].to_string_view());
        if (!c) break;
        // A WELCOME for a HELLO sent before a NACK does not cut the wait short.
        if (clock_.monotonic_ms() < retry_at) break;
        std::uint64_t head = source_.head();
        if (c->cursor > head) {
          halted_ = true;
          set_error("the hub holds " + std::to_string(c->cursor) + " events of " + origin +
                    " but this node has only " + std::to_string(head) +
                    " (restored from an old backup?); replication halted");
          break;
        }
        resume_from(c->cursor);
        streaming = true;
        log_("info",
             "federation: connected to the hub; resuming after event " + std::to_string(c->cursor));
        break;
      }
      case MessageType::kAck: {
        auto c = parse_cursor(reply[1].to_string_view());
        if (!c || !streaming) break;
        if (c->cursor > acked && c->cursor <= sent_upto) {
          progressed();
          acked = c->cursor;
          last_progress_ms = clock_.monotonic_ms();
          source_.hub_acknowledged(acked);
        }
        // The hub holds a newer national calendar than this node (it changed
        // while we kept streaming): one HELLO per version makes it send it.
        if (auto* receiver = options_.calendar_receiver;
            receiver && c->calendar_version > receiver->calendar_version() &&
            c->calendar_version != calendar_asked && !halted_) {
          calendar_asked = c->calendar_version;
          log_("info", "federation: the hub has national calendar version " +
                           std::to_string(c->calendar_version) + "; asking for it");
          send_hello();
        }
        break;
      }
      case MessageType::kNack: {
        auto n = parse_nack(reply[1].to_string_view());
        if (!n) break;
        if (n->reason == "gap") {
          // NACKs of batches sent before a rewind or a back-off are stale.
          if (!streaming) break;
          gap_rewinds = n->cursor == gap_cursor ? gap_rewinds + 1 : 1;
          gap_cursor = n->cursor;
          if (gap_rewinds > kGapRewindsMax) {
            back_off(*n);
          } else if (n->cursor <= source_.head()) {
            log_("info", "federation: hub asks to resume after " + std::to_string(n->cursor));
            resume_from(n->cursor);
          } else {
            streaming = false;
          }
        } else if (cured_by_waiting(n->reason)) {
          // One back-off per refusal: the NACKs of the rest of the window,
          // arriving while we wait, add nothing.
          if (streaming || clock_.monotonic_ms() >= retry_at) back_off(*n);
        } else {
          halted_ = true;
          streaming = false;
          set_error("hub refused our events (" + n->reason + "): " + n->message +
                    "; replication halted until an operator looks");
        }
        break;
      }
      default:
        log_("warn", "federation: unexpected message from the hub dropped");
        break;
    }
    publish();
  }
  socket.close();
}

}  // namespace tawasul::federation
