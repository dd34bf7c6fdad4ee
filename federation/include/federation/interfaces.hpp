// The small interfaces federation needs from whoever hosts it.
//
// federation/ never sees storage: the node implements these with LMDB, tests
// implement them in memory. See federation/PROTOCOL.md for the protocol.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.hpp"

namespace tawasul::federation {

// A monotonic clock for timeouts, in milliseconds.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t monotonic_ms() const = 0;
};

// steady_clock; what production uses.
const Clock& steady_clock();

// Where federation writes what an operator should know. Thread-safe.
using Log = std::function<void(std::string_view level, std::string_view message)>;

// Node side: the node's own chain, as the uplink reads it. Called from the
// uplink's thread only.
class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual std::string origin() const = 0;
  // Last committed sequence number of the node's own chain.
  virtual std::uint64_t head() = 0;
  // Committed envelopes from `from_seq` on: at most `max_events`, and stopping
  // before the total exceeds `max_bytes` (always at least one if any exists).
  virtual std::vector<std::string> read(std::uint64_t from_seq, std::size_t max_events,
                                        std::size_t max_bytes) = 0;
  // The hub holds everything up to `cursor` durably.
  virtual void hub_acknowledged(std::uint64_t cursor) = 0;
};

struct StoreOutcome {
  // kRefused: the sink's fold refused an event (PROTOCOL.md, NACK `refused`);
  // kUnsupported: it does not know an event's kind (NACK `unsupported`).
  // Neither is cured by resending; kUnavailable may be.
  enum class Status { kStored, kGap, kFork, kUnavailable, kRefused, kUnsupported };
  Status status = Status::kStored;
  std::uint64_t cursor = 0;  // the origin's stored head after the attempt
  std::string message;
};

// Hub side: where a node's verified events are kept.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // The last sequence number of `origin` stored durably (0 if none).
  virtual std::uint64_t cursor(std::string_view origin) = 0;
  // Stores a batch whose envelopes all decoded, come from `origin` and carry
  // valid signatures. The sink applies `plan_batch` (chain.hpp) to the stored
  // head inside its write transaction, appends the new events, commits, and
  // only then calls `done` — from any thread.
  virtual void store(std::string origin, std::vector<std::string> batch,
                     std::function<void(StoreOutcome)> done) = 0;
};

// The national calendar layer as the hub signs and sends it (PROTOCOL.md,
// "The national calendar"): `signature` is the hub's Ed25519 signature over
// calendar_signing_message(version, text) (wire.hpp).
struct SignedCalendar {
  std::uint64_t version = 0;
  std::string text;
  crypto::Signature signature{};
};

// Node side: where the national calendar received from the hub goes. Called
// from the uplink's thread only.
class CalendarReceiver {
 public:
  virtual ~CalendarReceiver() = default;
  // The national version the node holds (0: none), sent in HELLO.
  virtual std::uint64_t calendar_version() = 0;
  // A CALENDAR whose frames are well-formed; its signature is NOT checked yet:
  // the receiver verifies, validates and stores it, and keeps its calendar on
  // any refusal.
  virtual void calendar_received(SignedCalendar calendar) = 0;
};

// A signing key a node used before a rotation, and the last sequence number
// of its chain that key signed (storage/FORMAT.md, `enrolled`).
struct RetiredKey {
  crypto::SignPublicKey sign_public{};
  std::uint64_t last_seq = 0;
};

struct EnrolledNode {
  EnrolledNode() = default;
  // Without a key history unless given: a node that never rotated its key.
  EnrolledNode(std::string code_, crypto::CurvePublicKey curve, crypto::SignPublicKey sign,
               std::vector<RetiredKey> retired_ = {})
      : code(std::move(code_)),
        curve_public(curve),
        sign_public(sign),
        retired(std::move(retired_)) {}

  std::string code;
  crypto::CurvePublicKey curve_public{};
  crypto::SignPublicKey sign_public{};  // signs every event after the retired keys' ranges
  std::vector<RetiredKey> retired;      // ascending last_seq
};

// The key that was valid for event `seq` of `node`'s chain: the first retired
// key whose range covers it, else the current one.
const crypto::SignPublicKey& signing_key_for(const EnrolledNode& node, std::uint64_t seq);

// Enrolled node keys, as the hub's ZAP handler and router consult them.
// Must be safe to call from several threads.
class KeyDirectory {
 public:
  virtual ~KeyDirectory() = default;
  virtual std::optional<EnrolledNode> by_curve_key(const crypto::CurvePublicKey& key) const = 0;
  virtual std::optional<EnrolledNode> by_code(std::string_view code) const = 0;
};

}  // namespace tawasul::federation
