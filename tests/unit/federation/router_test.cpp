// Unit tests for the hub's router and the node's uplink (federation/hub_router.hpp,
// federation/uplink.hpp) over real ZeroMQ CURVE sockets on 127.0.0.1, with the
// storage-side interfaces implemented in memory.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "crypto/crypto.hpp"
#include "crypto/envelope.hpp"
#include "federation/chain.hpp"
#include "federation/hub_router.hpp"
#include "federation/interfaces.hpp"
#include "federation/uplink.hpp"
#include "federation/wire.hpp"
#include "federation/zap.hpp"
#include "federation_test_util.hpp"
#include "test_support.hpp"

namespace {

namespace crypto = tawasul::crypto;
namespace federation = tawasul::federation;
namespace fed = tawasul::test::fed;
using federation::MessageType;
using federation::StoreOutcome;
using namespace std::chrono_literals;
using tawasul::test::wait_until;

constexpr auto kReplyTimeout = 10s;  // an answer that must come
constexpr auto kSilence = 1500ms;    // how long "nothing arrives" is watched

// ---------------------------------------------------------------------------
// Log: collects lines behind a mutex.

class LogLines {
 public:
  federation::Log log() {
    return [this](std::string_view level, std::string_view message) {
      std::lock_guard lock(mutex_);
      lines_.push_back(std::string(level) + ": " + std::string(message));
    };
  }
  bool contains(std::string_view needle) const {
    std::lock_guard lock(mutex_);
    return std::any_of(lines_.begin(), lines_.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
  std::string dump() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// ---------------------------------------------------------------------------
// KeyDirectory in memory.

class MemoryDirectory final : public federation::KeyDirectory {
 public:
  void enroll(federation::EnrolledNode node) {
    std::lock_guard lock(mutex_);
    nodes_.push_back(std::move(node));
  }
  void remove(std::string_view code) {
    std::lock_guard lock(mutex_);
    std::erase_if(nodes_, [&](const federation::EnrolledNode& n) { return n.code == code; });
  }
  std::optional<federation::EnrolledNode> by_curve_key(
      const crypto::CurvePublicKey& key) const override {
    std::lock_guard lock(mutex_);
    for (const auto& n : nodes_) {
      if (n.curve_public == key) return n;
    }
    return std::nullopt;
  }
  std::optional<federation::EnrolledNode> by_code(std::string_view code) const override {
    std::lock_guard lock(mutex_);
    for (const auto& n : nodes_) {
      if (n.code == code) return n;
    }
    return std::nullopt;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<federation::EnrolledNode> nodes_;
};

// ---------------------------------------------------------------------------
// EventSink in memory: per-origin chains indexed by seq - 1, chain rules by
// plan_batch, `done` called synchronously or from a worker thread.

class MemorySink final : public federation::EventSink {
 public:
  struct StoreCall {
    std::string origin;
    std::vector<std::string> batch;
    StoreOutcome outcome;
  };

  explicit MemorySink(bool done_from_another_thread = false) : async_(done_from_another_thread) {
    if (async_) worker_ = std::thread([this] { work(); });
  }
  ~MemorySink() override {
    {
      std::lock_guard lock(jobs_mutex_);
      stopping_ = true;
    }
    jobs_cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  std::uint64_t cursor(std::string_view origin) override {
    std::lock_guard lock(mutex_);
    ++cursor_calls_[std::string(origin)];
    auto it = chains_.find(std::string(origin));
    return it == chains_.end() ? 0 : it->second.size();
  }

  void store(std::string origin, std::vector<std::string> batch,
             std::function<void(StoreOutcome)> done) override {
    StoreOutcome outcome;
    {
      std::lock_guard lock(mutex_);
      if (throw_next_) {
        throw_next_ = false;
        throw std::runtime_error("poison (test)");
      }
      auto& chain = chains_[origin];
      if (fail_next_ > 0) {
        --fail_next_;
        outcome = StoreOutcome{fail_status_, chain.size(), "refused (test)"};
      } else {
        federation::ChainHead head;
        head.seq = chain.size();
        if (!chain.empty()) head.hash = crypto::envelope_hash(chain.back());
        auto stored = [&chain](std::uint64_t seq) -> std::optional<std::string_view> {
          if (seq == 0 || seq > chain.size()) return std::nullopt;
          return std::string_view(chain[seq - 1]);
        };
        auto plan = federation::plan_batch(head, batch, stored);
        if (!plan) {
          outcome = plan.error();
        } else {
          for (std::size_t i = plan->first_new; i < batch.size(); ++i) chain.push_back(batch[i]);
          outcome = StoreOutcome{StoreOutcome::Status::kStored, chain.size(), ""};
        }
      }
      calls_.push_back(StoreCall{origin, std::move(batch), outcome});
    }
    {
      std::lock_guard lock(jobs_mutex_);
      if (holding_) {  // committed, but the answer is withheld
        held_.push_back([done = std::move(done), outcome] { done(outcome); });
        return;
      }
    }
    if (!async_) {
      done(outcome);
      return;
    }
    {
      std::lock_guard lock(jobs_mutex_);
      jobs_.push_back([done = std::move(done), outcome] { done(outcome); });
    }
    jobs_cv_.notify_all();
  }

  // While holding, batches are committed but `done` is not called: as if the
  // hub went down between its commit and its ACK. drop_held() forgets them.
  void hold_done(bool hold) {
    std::lock_guard lock(jobs_mutex_);
    holding_ = hold;
  }
  std::size_t held() {
    std::lock_guard lock(jobs_mutex_);
    return held_.size();
  }
  void drop_held() {
    std::lock_guard lock(jobs_mutex_);
    held_.clear();
  }

  void preload(const std::string& origin, std::vector<std::string> chain) {
    std::lock_guard lock(mutex_);
    chains_[origin] = std::move(chain);
  }
  void unavailable_next(int n) { fail_next(n, StoreOutcome::Status::kUnavailable); }
  // The next `n` batches are answered with `status` and not stored.
  // The next store() throws, as a bug in a fold might.
  void throw_next() {
    std::lock_guard lock(mutex_);
    throw_next_ = true;
  }
  void fail_next(int n, StoreOutcome::Status status) {
    std::lock_guard lock(mutex_);
    fail_next_ = n;
    fail_status_ = status;
  }
  std::vector<std::string> chain(const std::string& origin) const {
    std::lock_guard lock(mutex_);
    auto it = chains_.find(origin);
    return it == chains_.end() ? std::vector<std::string>{} : it->second;
  }
  std::size_t size(const std::string& origin) const { return chain(origin).size(); }
  std::vector<StoreCall> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::size_t store_calls() const {
    std::lock_guard lock(mutex_);
    return calls_.size();
  }
  std::size_t cursor_calls(const std::string& origin) const {
    std::lock_guard lock(mutex_);
    auto it = cursor_calls_.find(origin);
    return it == cursor_calls_.end() ? 0 : it->second;
  }
  std::size_t cursor_calls_total() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [origin, count] : cursor_calls_) n += count;
    return n;
  }

  // Waits until every pending `done` has been called (async mode).
  void quiesce() {
    std::unique_lock lock(jobs_mutex_);
    idle_cv_.wait(lock, [this] { return jobs_.empty() && !busy_; });
  }

 private:
  void work() {
    std::unique_lock lock(jobs_mutex_);
    for (;;) {
      jobs_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
      lock.unlock();
      std::this_thread::sleep_for(1ms);  // a commit takes a moment
      job();
      lock.lock();
      busy_ = false;
      idle_cv_.notify_all();
    }
  }

  const bool async_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> chains_;
  std::map<std::string, std::size_t> cursor_calls_;
  std::vector<StoreCall> calls_;
  int fail_next_ = 0;
  bool throw_next_ = false;
  StoreOutcome::Status fail_status_ = StoreOutcome::Status::kUnavailable;

  std::mutex jobs_mutex_;
  std::condition_variable jobs_cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> jobs_;
  std::deque<std::function<void()>> held_;
  bool holding_ = false;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

// ---------------------------------------------------------------------------
// EventSource in memory, for the node side.

class MemorySource final : public federation::EventSource {
 public:
  MemorySource(std::string origin, std::vector<std::string> chain)
      : origin_(std::move(origin)), chain_(std::move(chain)) {}

  std::string origin() const override { return origin_; }
  std::uint64_t head() override {
    std::lock_guard lock(mutex_);
    return chain_.size();
  }
  std::vector<std::string> read(std::uint64_t from_seq, std::size_t max_events,
                                std::size_t max_bytes) override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    std::size_t bytes = 0;
    for (std::uint64_t seq = from_seq; seq >= 1 && seq <= chain_.size() && out.size() < max_events;
         ++seq) {
      const auto& e = chain_[seq - 1];
      if (!out.empty() && bytes + e.size() > max_bytes) break;
      bytes += e.size();
      out.push_back(e);
    }
    return out;
  }
  void hub_acknowledged(std::uint64_t cursor) override {
    std::lock_guard lock(mutex_);
    acknowledged_ = cursor;
    max_acknowledged_ = std::max(max_acknowledged_, cursor);
  }

  void append(const std::vector<std::string>& events) {
    std::lock_guard lock(mutex_);
    chain_.insert(chain_.end(), events.begin(), events.end());
  }
  std::vector<std::string> chain() const {
    std::lock_guard lock(mutex_);
    return chain_;
  }
  std::uint64_t acknowledged() const {
    std::lock_guard lock(mutex_);
    return acknowledged_;
  }
  std::uint64_t max_acknowledged() const {
    std::lock_guard lock(mutex_);
    return max_acknowledged_;
  }

 private:
  const std::string origin_;
  mutable std::mutex mutex_;
  std::vector<std::string> chain_;
  std::uint64_t acknowledged_ = 0;
  std::uint64_t max_acknowledged_ = 0;
};

// ---------------------------------------------------------------------------
// A clock that moves only when the test says so.

class ManualClock final : public federation::Clock {
 public:
  std::int64_t monotonic_ms() const override { return now_; }
  void advance(std::int64_t ms) { now_ += ms; }

 private:
  std::atomic<std::int64_t> now_{1'000'000};
};

// ---------------------------------------------------------------------------
// A node's keys.

struct NodeKeys {
  std::string code;
  crypto::CurveKeyPair curve;
  crypto::SigningKeyPair sign;

  static NodeKeys make(std::string code) {
    return NodeKeys{std::move(code), crypto::CurveKeyPair::generate(),
                    crypto::SigningKeyPair::generate()};
  }
  federation::EnrolledNode enrolled() const {
    return federation::EnrolledNode{code, curve.public_key, sign.public_key};
  }
};

// ---------------------------------------------------------------------------
// The hub: a HubRouter over the sink and directory, stoppable and restartable.

class Hub {
 public:
  Hub(zmq::context_t& context, MemorySink& sink, const MemoryDirectory& directory,
      const crypto::CurveKeyPair& keys, LogLines& logs)
      : context_(context), sink_(sink), directory_(directory), keys_(keys), logs_(logs) {}
  ~Hub() { stop(); }

  // Starts a router bound to `bind`; returns the bound endpoint.
  std::string start(const std::string& bind = "tcp://127.0.0.1:*") {
    auto endpoint = try_start(bind);
    INFO("HubRouter::start: " << (endpoint ? *endpoint : endpoint.error()));
    REQUIRE(endpoint);
    return *endpoint;
  }
  // Starts a router on the endpoint a stopped one used. libzmq closes sockets
  // asynchronously, so the old listener (and the old ZAP endpoint) may still
  // be held for a moment after HubRouter::stop(): retry "address in use" for
  // a bounded time, as an operator's restart would.
  std::string restart(const std::string& bind) {
    std::expected<std::string, std::string> endpoint = std::unexpected(std::string("not started"));
    const bool started = wait_until(
        [&] {
          endpoint = try_start(bind);
          if (!endpoint && endpoint.error().find("in use") == std::string::npos)
            return true;  // another error
          return endpoint.has_value();
        },
        10s);
    INFO("HubRouter::start: " << (endpoint ? *endpoint : endpoint.error()));
    REQUIRE(started);
    REQUIRE(endpoint);
    return *endpoint;
  }
  // The national calendar the next start distributes.
  void set_calendar(std::optional<federation::SignedCalendar> calendar) {
    calendar_ = std::move(calendar);
  }
  std::expected<std::string, std::string> try_start(const std::string& bind) {
    REQUIRE_FALSE(router_);
    router_ = std::make_unique<federation::HubRouter>(
        context_, sink_, directory_, federation::HubOptions{bind, keys_, 2, calendar_},
        logs_.log());
    auto endpoint = router_->start();
    if (!endpoint) {
      router_.reset();
      return endpoint;
    }
    REQUIRE(endpoint->rfind("tcp://127.0.0.1:", 0) == 0);
    endpoint_ = *endpoint;
    return endpoint;
  }
  // HubRouter::stop, then destroy it (after any `done` the sink still owes it).
  void stop() {
    if (!router_) return;
    router_->stop();
    sink_.quiesce();
    router_.reset();
  }
  const std::string& endpoint() const { return endpoint_; }
  federation::HubStatus status() const {
    REQUIRE(router_);
    return router_->status();
  }

 private:
  zmq::context_t& context_;
  MemorySink& sink_;
  const MemoryDirectory& directory_;
  crypto::CurveKeyPair keys_;
  LogLines& logs_;
  std::unique_ptr<federation::HubRouter> router_;
  std::string endpoint_;
  std::optional<federation::SignedCalendar> calendar_;
};

// ---------------------------------------------------------------------------
// A raw CURVE DEALER speaking the wire protocol by hand.

struct Reply {
  MessageType type;
  std::string body;
  std::vector<std::string> more = {};  // frames after the body (CALENDAR)
};

class RawClient {
 public:
  RawClient(zmq::context_t& context, const std::string& endpoint,
            const crypto::CurvePublicKey& hub_public, const crypto::CurveKeyPair& own)
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::curve_serverkey, zmq::const_buffer(hub_public.data(), 32));
    socket_.set(zmq::sockopt::curve_publickey, zmq::const_buffer(own.public_key.data(), 32));
    socket_.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(own.secret_key.data(), 32));
    socket_.connect(endpoint);
  }

  void send_raw(const std::string& header, const std::vector<std::string>& bodies) {
    zmq::multipart_t m;
    m.addstr(header);
    for (const auto& b : bodies) m.addstr(b);
    REQUIRE(m.send(socket_));
  }
  void send(MessageType type, const std::vector<std::string>& bodies) {
    send_raw(federation::encode_header(type), bodies);
  }
  void hello(const std::string& code, std::uint64_t acked = 0, std::uint64_t head = 0) {
    send(MessageType::kHello, {federation::encode(federation::Hello{code, acked, head})});
  }
  void events(const std::vector<std::string>& envelopes) { send(MessageType::kEvents, envelopes); }

  // The next reply within `timeout`, or nothing.
  std::optional<Reply> receive(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    zmq::multipart_t m;
    REQUIRE(m.recv(socket_));
    REQUIRE(m.size() >= 2);
    auto type = federation::parse_header(m[0].to_string_view());
    REQUIRE(type);
    REQUIRE(m.size() == (*type == MessageType::kCalendar ? 4u : 2u));
    Reply reply{*type, m[1].to_string()};
    for (std::size_t i = 2; i < m.size(); ++i) reply.more.push_back(m[i].to_string());
    return reply;
  }

  federation::Nack expect_nack() {
    auto r = receive(kReplyTimeout);
    REQUIRE(r);
    INFO("reply body: " << r->body);
    REQUIRE(r->type == MessageType::kNack);
    auto nack = federation::parse_nack(r->body);
    REQUIRE(nack);
    return *nack;
  }
  std::uint64_t expect_cursor(MessageType type) {
    auto r = receive(kReplyTimeout);
    REQUIRE(r);
    INFO("reply body: " << r->body);
    REQUIRE(r->type == type);
    auto c = federation::parse_cursor(r->body);
    REQUIRE(c);
    return c->cursor;
  }

 private:
  zmq::socket_t socket_;
};

// ---------------------------------------------------------------------------
// One test's world: its own context, keys, directory (KSU and RUH enrolled),
// sink and log. Uplinks and clients the test declares after the world are
// destroyed first; then the world's members in reverse order: the hub (stopped,
// its sink quiesced), the context (which waits for every socket), the sink.

struct World {
  explicit World(bool async_done = false) : sink(async_done) {}

  bool crypto_ok = crypto::initialize();
  LogLines logs;
  crypto::CurveKeyPair hub_keys = crypto::CurveKeyPair::generate();
  NodeKeys ksu = NodeKeys::make("KSU");
  NodeKeys ruh = NodeKeys::make("RUH");
  MemoryDirectory directory;
  MemorySink sink;
  zmq::context_t context;
  Hub hub{context, sink, directory, hub_keys, logs};

  void enroll_all() {
    directory.enroll(ksu.enrolled());
    directory.enroll(ruh.enrolled());
  }

  federation::UplinkOptions uplink_options(const std::string& endpoint,
                                           const crypto::CurveKeyPair& own) const {
    federation::UplinkOptions o;
    o.hub_endpoint = endpoint;
    o.hub_curve_public = hub_keys.public_key;
    o.curve = own;
    o.hello_retry_ms = 200;
    o.ack_timeout_ms = 1000;
    o.poll_interval_ms = 5;
    o.backoff_initial_ms = 20;  // tests of the back-off itself use a manual clock
    return o;
  }

  RawClient client(const NodeKeys& node) {
    return RawClient(context, hub.endpoint(), hub_keys.public_key, node.curve);
  }
};

}  // namespace

// ===========================================================================

TEST_CASE("an enrolled node's uplink streams its whole chain and the hub acknowledges it",
          "[concurrency][router][uplink]") {
  const bool async_done = GENERATE(false, true);
  INFO("sink calls done " << (async_done ? "from another thread" : "synchronously"));
  World w(async_done);
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  const auto endpoint = w.hub.start();

  constexpr std::size_t kEvents = 600;  // more than two batches of 256
  MemorySource source("KSU", fed::build_chain("KSU", w.ksu.sign.secret_key, kEvents));
  federation::Uplink uplink(w.context, source, w.uplink_options(endpoint, w.ksu.curve),
                            w.logs.log());
  uplink.start();

  const bool done = wait_until([&] {
    return w.sink.size("KSU") == kEvents && source.acknowledged() == kEvents &&
           uplink.status().acked == kEvents;
  });
  INFO("log:\n" << w.logs.dump());
  INFO("sink holds " << w.sink.size("KSU") << ", source acknowledged " << source.acknowledged()
                     << ", uplink acked " << uplink.status().acked);
  REQUIRE(done);

  auto status = uplink.status();
  CHECK(status.streaming);
  CHECK_FALSE(status.halted);
  CHECK(status.sent_upto == kEvents);
  CHECK(status.last_error.empty());
  CHECK(w.sink.chain("KSU") == source.chain());
  CHECK(w.sink.size("RUH") == 0);
  // Streamed in batches: at least three, none above the protocol's limit.
  auto calls = w.sink.calls();
  CHECK(calls.size() >= 3);
  for (const auto& c : calls) {
    CHECK(c.origin == "KSU");
    CHECK(c.batch.size() <= federation::kBatchEventsMax);
  }
  CHECK(w.logs.contains("KSU connected"));
}

TEST_CASE("a client with an unenrolled CURVE key never reaches the router", "[router][zap]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  const auto endpoint = w.hub.start();

  // A stranger: a fresh CURVE key pair, claiming to be KSU and carrying KSU's
  // (validly signed) first event.
  const auto stranger = crypto::CurveKeyPair::generate();
  RawClient raw(w.context, endpoint, w.hub_keys.public_key, stranger);
  auto ksu_chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 3);
  raw.hello("KSU");
  raw.events(ksu_chain);

  // And an uplink of an unenrolled node JED, at the same time.
  const NodeKeys jed = NodeKeys::make("JED");
  MemorySource source("JED", fed::build_chain("JED", jed.sign.secret_key, 5));
  federation::Uplink uplink(w.context, source, w.uplink_options(endpoint, jed.curve), w.logs.log());
  uplink.start();

  CHECK_FALSE(raw.receive(kSilence));
  CHECK_FALSE(wait_until([&] { return uplink.status().streaming; }, 500ms));
  uplink.stop();

  INFO("log:\n" << w.logs.dump());
  auto status = uplink.status();
  CHECK_FALSE(status.streaming);
  CHECK(status.acked == 0);
  CHECK(status.sent_upto == 0);
  CHECK(source.acknowledged() == 0);
  CHECK(w.sink.store_calls() == 0);
  CHECK(w.sink.cursor_calls("KSU") == 0);
  CHECK(w.sink.cursor_calls("JED") == 0);
  CHECK(w.sink.cursor_calls_total() == 0);
  CHECK(w.sink.size("KSU") == 0);
  CHECK(w.logs.contains("refused a connection"));
  CHECK_FALSE(w.logs.contains("connected (node head"));
}

TEST_CASE("a forged event (bad signature) is refused with NACK bad_signature and changes nothing",
          "[concurrency][router]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);

  const auto forger = crypto::SigningKeyPair::generate();
  SECTION("a batch of one forged event") {
    auto forged = fed::build_chain("KSU", forger.secret_key, 1);
    ksu.events(forged);
    auto nack = ksu.expect_nack();
    CHECK(nack.reason == "bad_signature");
    CHECK(nack.cursor == 0);
  }
  SECTION("a forged event after genuine ones: nothing of the batch is stored") {
    auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 2);
    chain.push_back(
        fed::make_event("KSU", 3, crypto::envelope_hash(chain.back()), forger.secret_key));
    ksu.events(chain);
    auto nack = ksu.expect_nack();
    CHECK(nack.reason == "bad_signature");
    CHECK(nack.cursor == 0);
  }
  SECTION("a genuine event whose bytes were altered after signing") {
    auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 1);
    chain[0][chain[0].size() - 70] ^= 0x01;  // a payload byte, under the signature
    REQUIRE(crypto::decode_envelope(chain[0]));
    ksu.events(chain);
    auto nack = ksu.expect_nack();
    CHECK(nack.reason == "bad_signature");
  }
  INFO("log:\n" << w.logs.dump());
  CHECK(w.sink.store_calls() == 0);
  CHECK(w.sink.size("KSU") == 0);
  CHECK(w.logs.contains("bad_signature"));

  // The connection still works: a genuine event is then accepted.
  ksu.events(fed::build_chain("KSU", w.ksu.sign.secret_key, 1));
  CHECK(ksu.expect_cursor(MessageType::kAck) == 1);
}

TEST_CASE("a message whose handling throws is refused, and the router goes on",
          "[concurrency][router]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);
  w.sink.throw_next();
  ksu.events(fed::build_chain("KSU", w.ksu.sign.secret_key, 1));
  auto nack = ksu.expect_nack();
  CHECK(nack.reason == "refused");
  CHECK(nack.cursor == 0);
  INFO("log:\n" << w.logs.dump());
  CHECK(w.logs.contains("poison (test)"));
  // The router thread is alive: the same batch is then stored and ACKed.
  ksu.events(fed::build_chain("KSU", w.ksu.sign.secret_key, 1));
  CHECK(ksu.expect_cursor(MessageType::kAck) == 1);
}

TEST_CASE("an event claiming another origin is refused", "[router]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);

  // Enrolled as KSU, sending RUH's event, validly signed by RUH's own key.
  auto ruh_chain = fed::build_chain("RUH", w.ruh.sign.secret_key, 2);
  REQUIRE(crypto::verify_envelope(ruh_chain[0], w.ruh.sign.public_key));
  ksu.events(ruh_chain);
  auto nack = ksu.expect_nack();
  CHECK(nack.reason == "wrong_origin");
  CHECK(nack.cursor == 0);

  // Mixed in after genuine KSU events: the whole batch is refused.
  auto mixed = fed::build_chain("KSU", w.ksu.sign.secret_key, 2);
  mixed.push_back(ruh_chain[0]);
  ksu.events(mixed);
  CHECK(ksu.expect_nack().reason == "wrong_origin");

  CHECK(w.sink.store_calls() == 0);
  CHECK(w.sink.size("RUH") == 0);
  CHECK(w.sink.size("KSU") == 0);
  CHECK(w.logs.contains("wrong_origin"));
}

TEST_CASE("a malformed or empty EVENTS message is refused with NACK malformed", "[router]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);

  SECTION("an envelope that does not decode") {
    auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 2);
    ksu.events({chain[0], "not an envelope"});
    CHECK(ksu.expect_nack().reason == "malformed");
  }
  SECTION("no envelope at all") {
    ksu.events({});
    CHECK(ksu.expect_nack().reason == "malformed");
  }
  SECTION("more than kBatchEventsMax envelopes") {
    auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, federation::kBatchEventsMax + 1);
    ksu.events(chain);
    CHECK(ksu.expect_nack().reason == "malformed");
  }
  SECTION("more frames than a message may hold: drained, not kept") {
    auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 1);
    std::vector<std::string> frames(federation::kMessageFramesMax + 100, chain[0]);
    ksu.events(frames);
    CHECK(ksu.expect_nack().reason == "malformed");
  }
  SECTION("genuine events whose frames are each allowed but whose sum is over the bound") {
    // Five events of 300 KB each: 1.5 MB in one message.
    std::vector<std::string> chain;
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
      crypto::Hash256 prev{};
      if (!chain.empty()) prev = crypto::envelope_hash(chain.back());
      chain.push_back(fed::make_event("KSU", seq, prev, w.ksu.sign.secret_key,
                                      R"({"pad":")" + std::string(300'000, 'x') + R"("})"));
    }
    ksu.events(chain);
    CHECK(ksu.expect_nack().reason == "malformed");
  }
  CHECK(w.sink.store_calls() == 0);
  CHECK(w.sink.size("KSU") == 0);
}

TEST_CASE("a replayed batch is acknowledged without change", "[concurrency][router]") {
  const bool async_done = GENERATE(false, true);
  World w(async_done);
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);

  auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 5);
  ksu.events(chain);
  CHECK(ksu.expect_cursor(MessageType::kAck) == 5);
  const auto stored_first = w.sink.chain("KSU");
  REQUIRE(stored_first == chain);

  ksu.events(chain);
  CHECK(ksu.expect_cursor(MessageType::kAck) == 5);
  CHECK(w.sink.chain("KSU") == stored_first);
  CHECK(w.sink.size("KSU") == 5);
  CHECK(w.sink.store_calls() == 2);

  // An overlapping batch 3..7 appends only 6 and 7.
  fed::extend_chain(chain, "KSU", w.ksu.sign.secret_key, 2);
  ksu.events(fed::slice(chain, 3, 7));
  CHECK(ksu.expect_cursor(MessageType::kAck) == 7);
  CHECK(w.sink.chain("KSU") == chain);
}

TEST_CASE("a gap is refused with the hub's cursor", "[router]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);

  auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 9);
  ksu.events(fed::slice(chain, 1, 5));
  CHECK(ksu.expect_cursor(MessageType::kAck) == 5);

  ksu.events(fed::slice(chain, 8, 9));
  auto nack = ksu.expect_nack();
  CHECK(nack.reason == "gap");
  CHECK(nack.cursor == 5);
  CHECK(w.sink.size("KSU") == 5);

  // Resuming from the cursor is accepted.
  ksu.events(fed::slice(chain, 6, 9));
  CHECK(ksu.expect_cursor(MessageType::kAck) == 9);
  CHECK(w.sink.chain("KSU") == chain);
}

TEST_CASE("a fork is refused with NACK fork and the hub's cursor", "[router]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);

  auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 3);
  ksu.events(chain);
  CHECK(ksu.expect_cursor(MessageType::kAck) == 3);

  // Another event 3, signed by the same key: two histories.
  auto other3 = fed::make_event("KSU", 3, crypto::envelope_hash(chain[1]), w.ksu.sign.secret_key,
                                R"({"other":"history"})");
  ksu.events({other3});
  auto nack = ksu.expect_nack();
  CHECK(nack.reason == "fork");
  CHECK(nack.cursor == 3);
  CHECK(w.sink.chain("KSU") == chain);
  CHECK(w.logs.contains("fork"));
}

TEST_CASE("a HELLO claiming another code is refused", "[router]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);

  ksu.hello("RUH");
  auto nack = ksu.expect_nack();
  CHECK(nack.reason == "wrong_origin");
  CHECK(w.sink.cursor_calls("RUH") == 0);
  CHECK(w.logs.contains("said HELLO as RUH"));

  // The same connection, saying who it is, is welcomed.
  ksu.hello("KSU");
  CHECK(ksu.expect_cursor(MessageType::kWelcome) == 0);
  CHECK(w.sink.cursor_calls("KSU") >= 1);
  CHECK(w.sink.cursor_calls("RUH") == 0);
}

TEST_CASE("a HELLO is answered with the hub's durable cursor", "[router]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.sink.preload("KSU", fed::build_chain("KSU", w.ksu.sign.secret_key, 7));
  w.hub.start();
  RawClient ksu = w.client(w.ksu);
  ksu.hello("KSU", 3, 9);  // the node's idea of `acked` is informational only
  CHECK(ksu.expect_cursor(MessageType::kWelcome) == 7);
}

TEST_CASE("messages of an unknown version or type are refused as unsupported, others dropped",
          "[router]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);
  auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 1);

  // Version 2 and type 7 headers: answered NACK unsupported, so a newer node
  // backs off (PROTOCOL.md, "Messages").
  ksu.send_raw(std::string{'\x02', '\x03'}, chain);
  auto version = ksu.expect_nack();
  CHECK(version.reason == "unsupported");
  CHECK(version.message.find("version 2") != std::string::npos);
  ksu.send_raw(std::string{'\x01', '\x07'}, {federation::encode(federation::Hello{"KSU", 0, 0})});
  CHECK(ksu.expect_nack().reason == "unsupported");
  CHECK(w.hub.status().refusals.at("KSU").reason == "unsupported");
  CHECK(w.hub.status().refusals.at("KSU").count == 2);
  // A WELCOME and a CALENDAR sent to the hub; a malformed HELLO: dropped.
  ksu.send(MessageType::kWelcome, {federation::encode(federation::Cursor{0})});
  ksu.send(MessageType::kCalendar, {R"({"version":1})", "weekend fri sat\n", std::string(64, 'x')});
  ksu.send(MessageType::kHello, {"{not json"});
  CHECK_FALSE(ksu.receive(kSilence));
  CHECK(w.sink.store_calls() == 0);

  // The connection is still good.
  ksu.hello("KSU");
  CHECK(ksu.expect_cursor(MessageType::kWelcome) == 0);
}

TEST_CASE("the uplink resumes from the hub's cursor after the hub restarts",
          "[concurrency][router][uplink]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(tawasul::test::free_port());
  REQUIRE(w.hub.start(endpoint) == endpoint);

  MemorySource source("KSU", fed::build_chain("KSU", w.ksu.sign.secret_key, 100));
  federation::Uplink uplink(w.context, source, w.uplink_options(endpoint, w.ksu.curve),
                            w.logs.log());
  uplink.start();
  {
    const bool first = wait_until([&] {
      return w.sink.size("KSU") == 100 && uplink.status().acked == 100 &&
             source.acknowledged() == 100;
    });
    INFO("log:\n" << w.logs.dump());
    REQUIRE(first);
  }
  auto more = source.chain();
  fed::extend_chain(more, "KSU", w.ksu.sign.secret_key, 50);
  bool ack_lost = false;

  SECTION("events appended while the hub is down") {
    // The hub goes away; its durable store (the sink) stays. The node goes on.
    w.hub.stop();
    source.append(fed::slice(more, 101, 150));
  }
  SECTION("the hub committed a batch but went down before its ACK") {
    w.sink.hold_done(true);
    source.append(fed::slice(more, 101, 150));
    const bool committed =
        wait_until([&] { return w.sink.size("KSU") == 150 && w.sink.held() > 0; });
    REQUIRE(committed);
    CHECK(uplink.status().acked == 100);  // the node does not know yet
    w.sink.drop_held();
    w.sink.hold_done(false);
    w.hub.stop();
    ack_lost = true;
  }

  // A new hub on the same endpoint.
  REQUIRE(w.hub.restart(endpoint) == endpoint);
  const bool resumed = wait_until([&] {
    return w.sink.size("KSU") == 150 && uplink.status().acked == 150 &&
           source.acknowledged() == 150;
  });
  INFO("log:\n" << w.logs.dump());
  INFO("sink holds " << w.sink.size("KSU") << ", uplink acked " << uplink.status().acked);
  REQUIRE(resumed);

  // Exactly once each, in order.
  const auto stored = w.sink.chain("KSU");
  REQUIRE(stored.size() == 150);
  CHECK(stored == source.chain());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    auto e = crypto::decode_envelope(stored[i]);
    REQUIRE(e);
    CHECK(e->seq == i + 1);
  }
  auto status = uplink.status();
  CHECK_FALSE(status.halted);
  CHECK(status.streaming);
  CHECK(status.sent_upto == 150);
  if (ack_lost) {
    // The ACK never came: the node handshook again and took the hub's cursor.
    CHECK(w.logs.contains("no ACK from the hub"));
    CHECK(w.logs.contains("resuming after event 150"));
  }
}

TEST_CASE("the uplink halts when the hub holds more events than the node", "[router][uplink]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 10);
  w.sink.preload("KSU", chain);
  const auto endpoint = w.hub.start();

  // A node restored from an old backup: only its first 5 events.
  MemorySource source("KSU", fed::slice(chain, 1, 5));
  federation::Uplink uplink(w.context, source, w.uplink_options(endpoint, w.ksu.curve),
                            w.logs.log());
  uplink.start();

  const bool halted = wait_until([&] { return uplink.status().halted; });
  INFO("log:\n" << w.logs.dump());
  REQUIRE(halted);
  auto status = uplink.status();
  CHECK_FALSE(status.streaming);
  CHECK_FALSE(status.last_error.empty());
  CHECK(status.acked == 0);
  CHECK(status.sent_upto == 0);

  // Nothing is sent or stored afterwards, however long we wait.
  CHECK_FALSE(wait_until([&] { return w.sink.store_calls() > 0; }, 500ms));
  CHECK(w.sink.store_calls() == 0);
  CHECK(w.sink.chain("KSU") == chain);
  CHECK(source.max_acknowledged() == 0);
  CHECK(w.logs.contains("replication halted"));
}

TEST_CASE("the uplink halts on a fork NACK", "[router][uplink]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  // The hub holds 1..3 of one history; the node has 1..2 and another 3..6.
  auto hub_chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 3);
  w.sink.preload("KSU", hub_chain);
  const auto endpoint = w.hub.start();

  std::vector<std::string> node_chain = fed::slice(hub_chain, 1, 2);
  node_chain.push_back(fed::make_event("KSU", 3, crypto::envelope_hash(node_chain.back()),
                                       w.ksu.sign.secret_key, R"({"other":"history"})"));
  fed::extend_chain(node_chain, "KSU", w.ksu.sign.secret_key, 3);
  MemorySource source("KSU", node_chain);
  federation::Uplink uplink(w.context, source, w.uplink_options(endpoint, w.ksu.curve),
                            w.logs.log());
  uplink.start();

  const bool halted = wait_until([&] { return uplink.status().halted; });
  INFO("log:\n" << w.logs.dump());
  REQUIRE(halted);
  CHECK_FALSE(uplink.status().streaming);
  CHECK(uplink.status().last_error.find("fork") != std::string::npos);
  CHECK(w.sink.chain("KSU") == hub_chain);
}

TEST_CASE("the uplink retries when the hub cannot store", "[concurrency][router][uplink]") {
  const bool async_done = GENERATE(false, true);
  World w(async_done);
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.sink.unavailable_next(3);
  const auto endpoint = w.hub.start();

  MemorySource source("KSU", fed::build_chain("KSU", w.ksu.sign.secret_key, 40));
  federation::Uplink uplink(w.context, source, w.uplink_options(endpoint, w.ksu.curve),
                            w.logs.log());
  uplink.start();

  const bool done =
      wait_until([&] { return w.sink.size("KSU") == 40 && uplink.status().acked == 40; });
  INFO("log:\n" << w.logs.dump());
  REQUIRE(done);
  CHECK_FALSE(uplink.status().halted);
  CHECK(w.sink.chain("KSU") == source.chain());
  auto calls = w.sink.calls();
  REQUIRE(calls.size() >= 4);
  CHECK(calls[0].outcome.status == StoreOutcome::Status::kUnavailable);
}

TEST_CASE("a node removed from the directory after connecting is refused",
          "[concurrency][router]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);
  auto chain = fed::build_chain("KSU", w.ksu.sign.secret_key, 2);
  ksu.events(fed::slice(chain, 1, 1));
  CHECK(ksu.expect_cursor(MessageType::kAck) == 1);

  w.directory.remove("KSU");
  ksu.events(fed::slice(chain, 2, 2));
  CHECK(ksu.expect_nack().reason == "wrong_origin");
  CHECK(w.sink.size("KSU") == 1);
}

// ---------------------------------------------------------------------------
// The ZAP handler on its own (federation/zap.hpp), asked over inproc as libzmq
// would ask it.

namespace {

class ThrowingDirectory final : public federation::KeyDirectory {
 public:
  std::optional<federation::EnrolledNode> by_curve_key(
      const crypto::CurvePublicKey&) const override {
    throw std::runtime_error("directory down");
  }
  std::optional<federation::EnrolledNode> by_code(std::string_view) const override {
    throw std::runtime_error("directory down");
  }
};

struct ZapReply {
  std::string status;
  std::string user_id;
};

// Sends one ZAP request (frames after the version and request id) and returns
// the reply's status code and User-Id.
ZapReply ask_zap(zmq::socket_t& req, const std::string& version,
                 const std::vector<std::string>& rest) {
  zmq::multipart_t m;
  m.addstr(version);
  m.addstr("req-1");
  for (const auto& f : rest) m.addstr(f);
  REQUIRE(m.send(req));
  zmq::pollitem_t item{req.handle(), 0, ZMQ_POLLIN, 0};
  REQUIRE(zmq::poll(&item, 1, std::chrono::milliseconds(kReplyTimeout)) == 1);
  zmq::multipart_t reply;
  REQUIRE(reply.recv(req));
  REQUIRE(reply.size() == 6);
  CHECK(reply[0].to_string() == "1.0");
  CHECK(reply[1].to_string() == "req-1");
  return ZapReply{reply[2].to_string(), reply[4].to_string()};
}

std::string key_frame(const crypto::CurvePublicKey& key) {
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

}  // namespace

TEST_CASE("the ZAP handler admits only enrolled CURVE keys, with their code as User-Id", "[zap]") {
  REQUIRE(crypto::initialize());
  LogLines logs;
  MemoryDirectory directory;
  const auto ksu = NodeKeys::make("KSU");
  directory.enroll(ksu.enrolled());
  zmq::context_t context;
  federation::ZapHandler zap(context, directory, logs.log());
  zmq::socket_t req(context, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect("inproc://zeromq.zap.01");

  const auto stranger = crypto::CurveKeyPair::generate();
  const std::string domain = federation::kZapDomain;

  SECTION("an enrolled key") {
    auto r =
        ask_zap(req, "1.0", {domain, "127.0.0.1", "", "CURVE", key_frame(ksu.curve.public_key)});
    CHECK(r.status == "200");
    CHECK(r.user_id == "KSU");
  }
  SECTION("an unenrolled key") {
    auto r =
        ask_zap(req, "1.0", {domain, "127.0.0.1", "", "CURVE", key_frame(stranger.public_key)});
    CHECK(r.status == "400");
    CHECK(r.user_id.empty());
    CHECK(logs.contains("refused a connection"));
  }
  SECTION("an enrolled key in another domain") {
    auto r =
        ask_zap(req, "1.0", {"other", "127.0.0.1", "", "CURVE", key_frame(ksu.curve.public_key)});
    CHECK(r.status == "400");
    CHECK(r.user_id.empty());
  }
  SECTION("another mechanism") {
    auto r = ask_zap(req, "1.0", {domain, "127.0.0.1", "", "PLAIN", "KSU", "secret"});
    CHECK(r.status == "400");
    CHECK(r.user_id.empty());
    auto n = ask_zap(req, "1.0", {domain, "127.0.0.1", "", "NULL"});
    CHECK(n.status != "200");
    CHECK(n.user_id.empty());
  }
  SECTION("a CURVE key of the wrong length") {
    auto r = ask_zap(req, "1.0",
                     {domain, "127.0.0.1", "", "CURVE", key_frame(ksu.curve.public_key) + "x"});
    CHECK(r.status == "400");
    CHECK(r.user_id.empty());
  }
  SECTION("another ZAP version") {
    auto r =
        ask_zap(req, "2.0", {domain, "127.0.0.1", "", "CURVE", key_frame(ksu.curve.public_key)});
    CHECK(r.status == "500");
    CHECK(r.user_id.empty());
  }
  SECTION("a request too short to be one") {
    auto r = ask_zap(req, "1.0", {domain, "127.0.0.1", ""});
    CHECK(r.status == "500");
    CHECK(r.user_id.empty());
  }
  req.close();
}

TEST_CASE("the ZAP handler refuses when the key directory fails", "[zap]") {
  REQUIRE(crypto::initialize());
  LogLines logs;
  ThrowingDirectory directory;
  zmq::context_t context;
  federation::ZapHandler zap(context, directory, logs.log());
  zmq::socket_t req(context, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect("inproc://zeromq.zap.01");
  const auto key = crypto::CurveKeyPair::generate();
  auto r = ask_zap(req, "1.0",
                   {federation::kZapDomain, "127.0.0.1", "", "CURVE", key_frame(key.public_key)});
  CHECK(r.status == "500");
  CHECK(r.user_id.empty());
  req.close();
}

TEST_CASE("a second hub in the same context cannot start while the first runs",
          "[concurrency][router][zap]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  federation::HubRouter second(w.context, w.sink, w.directory,
                               federation::HubOptions{"tcp://127.0.0.1:*", w.hub_keys, 2, {}},
                               w.logs.log());
  auto started = second.start();
  CHECK_FALSE(started);
}

// ---------------------------------------------------------------------------
// The national calendar (PROTOCOL.md, "The national calendar").

namespace {

// A node's calendar receiver in memory: holds a version, records what came.
class MemoryCalendarReceiver final : public federation::CalendarReceiver {
 public:
  explicit MemoryCalendarReceiver(std::uint64_t held) : held_(held) {}
  std::uint64_t calendar_version() override { return held_; }
  void calendar_received(federation::SignedCalendar calendar) override {
    std::lock_guard lock(mutex_);
    if (calendar.version > held_) held_ = calendar.version;
    received_.push_back(std::move(calendar));
  }
  std::vector<federation::SignedCalendar> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  std::atomic<std::uint64_t> held_;
  mutable std::mutex mutex_;
  std::vector<federation::SignedCalendar> received_;
};

}  // namespace

TEST_CASE("the hub sends its national calendar after WELCOME only to a node holding an older one",
          "[router][calendar]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  const auto hub_sign = crypto::SigningKeyPair::generate();
  const auto calendar = federation::sign_calendar(hub_sign.secret_key, 3, "weekend fri sat\n");
  w.hub.set_calendar(calendar);
  w.hub.start();
  RawClient ksu = w.client(w.ksu);

  // A node holding version 2: WELCOME, then CALENDAR with version 3.
  ksu.send(MessageType::kHello, {federation::encode(federation::Hello{"KSU", 0, 0, 2})});
  CHECK(ksu.expect_cursor(MessageType::kWelcome) == 0);
  auto r = ksu.receive(kReplyTimeout);
  REQUIRE(r);
  REQUIRE(r->type == MessageType::kCalendar);
  REQUIRE(r->more.size() == 2);
  auto received = federation::parse_calendar(r->body, r->more[0], r->more[1]);
  REQUIRE(received);
  CHECK(received->version == 3);
  CHECK(received->text == "weekend fri sat\n");
  CHECK(federation::verify_calendar(*received, hub_sign.public_key));

  // A node predating CALENDAR (no calendar_version) gets it too.
  ksu.hello("KSU");
  CHECK(ksu.expect_cursor(MessageType::kWelcome) == 0);
  auto again = ksu.receive(kReplyTimeout);
  REQUIRE(again);
  CHECK(again->type == MessageType::kCalendar);

  // A node holding version 3, or a newer one: WELCOME alone.
  for (std::uint64_t held : {3u, 4u}) {
    ksu.send(MessageType::kHello, {federation::encode(federation::Hello{"KSU", 0, 0, held})});
    CHECK(ksu.expect_cursor(MessageType::kWelcome) == 0);
    CHECK_FALSE(ksu.receive(kSilence));
  }
  CHECK(w.logs.contains("newer than this hub's 3"));

  // ACKs carry the hub's version.
  ksu.events(fed::build_chain("KSU", w.ksu.sign.secret_key, 1));
  auto ack = ksu.receive(kReplyTimeout);
  REQUIRE(ack);
  REQUIRE(ack->type == MessageType::kAck);
  auto cursor = federation::parse_cursor(ack->body);
  REQUIRE(cursor);
  CHECK(cursor->cursor == 1);
  CHECK(cursor->calendar_version == 3);
}

TEST_CASE("a hub without a national calendar sends none", "[router][calendar]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.hub.start();
  RawClient ksu = w.client(w.ksu);
  ksu.hello("KSU");
  CHECK(ksu.expect_cursor(MessageType::kWelcome) == 0);
  CHECK_FALSE(ksu.receive(kSilence));
}

TEST_CASE("the uplink hands the hub's calendar to its receiver, also after a hub restart",
          "[concurrency][router][uplink][calendar]") {
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  const auto hub_sign = crypto::SigningKeyPair::generate();
  w.hub.set_calendar(federation::sign_calendar(hub_sign.secret_key, 1, "weekend fri sat\n"));
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(tawasul::test::free_port());
  REQUIRE(w.hub.start(endpoint) == endpoint);

  MemoryCalendarReceiver receiver(0);
  MemorySource source("KSU", fed::build_chain("KSU", w.ksu.sign.secret_key, 5));
  auto options = w.uplink_options(endpoint, w.ksu.curve);
  options.calendar_receiver = &receiver;
  federation::Uplink uplink(w.context, source, options, w.logs.log());
  uplink.start();
  {
    const bool got =
        wait_until([&] { return receiver.received().size() == 1 && uplink.status().acked == 5; });
    INFO("log:\n" << w.logs.dump());
    REQUIRE(got);
  }
  CHECK(receiver.received()[0].version == 1);
  CHECK(receiver.calendar_version() == 1);

  // The hub restarts with version 2 while the node keeps streaming: the
  // next ACK tells the node, which asks once and receives it.
  w.hub.stop();
  w.hub.set_calendar(federation::sign_calendar(hub_sign.secret_key, 2, "weekend thu fri\n"));
  REQUIRE(w.hub.restart(endpoint) == endpoint);
  auto more = source.chain();
  fed::extend_chain(more, "KSU", w.ksu.sign.secret_key, 3);
  source.append(fed::slice(more, 6, 8));
  const bool updated = wait_until([&] {
    return receiver.received().size() == 2 && uplink.status().acked == 8 && w.sink.size("KSU") == 8;
  });
  INFO("log:\n" << w.logs.dump());
  REQUIRE(updated);
  CHECK(receiver.received()[1].version == 2);
  CHECK(receiver.received()[1].text == "weekend thu fri\n");
  // Through the ACK's hint — or, had a batch been lost in the restart, the
  // handshake after the ACK timeout.
  CHECK((w.logs.contains("national calendar version 2; asking for it") ||
         w.logs.contains("no ACK from the hub")));
  CHECK(w.sink.chain("KSU") == source.chain());
  // Nothing more is sent once the node holds the hub's version.
  CHECK_FALSE(wait_until([&] { return receiver.received().size() > 2; }, 500ms));
}

// ===========================================================================
// Refusals, back-off and per-peer bounds (PROTOCOL.md, "Back-off", "Memory").

namespace {

// A World's uplink on a manual clock with no jitter: waits are exact.
federation::UplinkOptions manual_options(World& w, const std::string& endpoint) {
  auto o = w.uplink_options(endpoint, w.ksu.curve);
  o.backoff_initial_ms = 1000;
  o.random = [] { return 0.0; };
  return o;
}

// Real time in which an uplink that does not back off would resend many times.
constexpr auto kQuiet = 400ms;

}  // namespace

TEST_CASE("a refused event is resent only after its back-off, and streaming resumes by itself",
          "[router][uplink][backoff]") {
  const auto reason = GENERATE(StoreOutcome::Status::kRefused, StoreOutcome::Status::kUnsupported,
                               StoreOutcome::Status::kUnavailable);
  const std::string name = reason == StoreOutcome::Status::kRefused       ? "refused"
                           : reason == StoreOutcome::Status::kUnsupported ? "unsupported"
                                                                          : "unavailable";
  INFO("the sink answers " << name);
  World w;
  REQUIRE(w.crypto_ok);
  w.enroll_all();
  w.sink.fail_next(3, reason);
  const auto endpoint = w.hub.start();
  ManualClock clock;
  MemorySource source("KSU", fed::build_chain("KSU", w.ksu.sign.secret_key, 10));
  federation::Uplink uplink(w.context, source, manual_options(w, endpoint), w.logs.log(), clock);
  uplink.start();

  // Tries 1, 2 and 3 wait 1 s, 2 s and 4 s of the node's clock, not of ours.
  std::int64_t wait = 1000;
  for (std::size_t tries = 1; tries <= 3; ++tries) {
    INFO("try " << tries);
    REQUIRE(wait_until(
        [&] { return w.sink.store_calls() == tries && uplink.status().retries == tries; }));
    auto status = uplink.status();
    CHECK(status.refused == name);
    CHECK(status.refusal == "refused (test)");
    CHECK(status.retry_in_ms == wait);
    CHECK_FALSE(status.streaming);
    CHECK_FALSE(status.halted);
    CHECK(w.hub.status().refusals.at("KSU").reason == name);
    // Frozen clock: nothing is resent, however long we wait...
    std::this_thread::sleep_for(kQuiet);
    clock.advance(wait - 1);
    std::this_thread::sleep_for(kQuiet);
    CHECK(w.sink.store_calls() == tries);
    // ...until the wait is over.
    clock.advance(1);
    wait *= 2;
  }
  // The cause is gone (the hub upgraded): everything arrives, the status clears.
  const bool done =
      wait_until([&] { return w.sink.size("KSU") == 10 && uplink.status().acked == 10; });
  INFO("log:\n" << w.logs.dump());
  REQUIRE(done);
  auto status = uplink.status();
  CHECK(status.refused.empty());
  CHECK(status.retries == 0);
  CHECK(status.streaming);
  CHECK(w.sink.chain("KSU") == source.chain());
  CHECK(w.hub.status().refusals.empty());
  CHECK(w.logs.contains("accepts our events again"));
}

TEST_CASE("back-off waits double from 1 s to 5 min, with at most a quarter of jitter",
          "[uplink][backoff]") {
  federation::UplinkOptions o;
  CHECK(federation::backoff_wait_ms(o, 1, 0.0) == 1000);
  CHECK(federation::backoff_wait_ms(o, 2, 0.0) == 2000);
  CHECK(federation::backoff_wait_ms(o, 9, 0.0) == 256000);
  CHECK(federation::backoff_wait_ms(o, 10, 0.0) == 300000);
  CHECK(federation::backoff_wait_ms(o, 4000000000u, 0.0) == 300000);
  CHECK(federation::backoff_wait_ms(o, 1, 0.999) == 1249);
  CHECK(federation::backoff_wait_ms(o, 10, 0.5) == 337500);
}

TEST_CASE("after a key rotation the backlog signed by the old key verifies under it",
          "[router][keys]") {
  World w;
  REQUIRE(w.crypto_ok);
  // KSU signed 1..5 with key A, then rotated to key B; the hub was told so
  // at re-enrolment, before it received any of it.
  const auto key_a = w.ksu.sign;
  const auto key_b = crypto::SigningKeyPair::generate();
  auto chain = fed::build_chain("KSU", key_a.secret_key, 5);
  std::vector<std::string> with_a = chain;
  fed::extend_chain(chain, "KSU", key_b.secret_key, 3);
  auto enrolled = w.ksu.enrolled();
  enrolled.sign_public = key_b.public_key;
  enrolled.retired = {federation::RetiredKey{key_a.public_key, 5}};
  w.directory.enroll(enrolled);
  w.hub.start();
  RawClient ksu = w.client(w.ksu);

  SECTION("the old key cannot sign beyond its range") {
    fed::extend_chain(with_a, "KSU", key_a.secret_key, 1);  // event 6, signed by A
    ksu.events(with_a);
    CHECK(ksu.expect_nack().reason == "bad_signature");
    CHECK(w.sink.size("KSU") == 0);
  }
  SECTION("the whole chain, in one batch and across the rotation") {
    ksu.events(chain);
    CHECK(ksu.expect_cursor(MessageType::kAck) == 8);
    CHECK(w.sink.chain("KSU") == chain);
  }
}
