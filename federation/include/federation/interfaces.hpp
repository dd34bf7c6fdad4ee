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
  enum class Status { kStored, kGap, kFork, kUnavailable };
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

struct EnrolledNode {
  std::string code;
  crypto::CurvePublicKey curve_public{};
  crypto::SignPublicKey sign_public{};
};

// Enrolled node keys, as the hub's ZAP handler and router consult them.
// Must be safe to call from several threads.
class KeyDirectory {
 public:
  virtual ~KeyDirectory() = default;
  virtual std::optional<EnrolledNode> by_curve_key(const crypto::CurvePublicKey& key) const = 0;
  virtual std::optional<EnrolledNode> by_code(std::string_view code) const = 0;
};

}  // namespace tawasul::federation
