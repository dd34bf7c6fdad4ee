// The signed event envelope, version 1.
//
// Every change in Tawasul is an event; every event travels and rests inside
// this envelope, signed by its origin node and chained to that node's previous
// event. The byte layout (all integers big-endian) is:
//
//   offset  size  field
//   0       1     version            = 1
//   1       1     origin_len         2..16
//   2       n     origin             ASCII [A-Z0-9], the origin node's code
//   2+n     8     seq                1, 2, 3, ... per origin
//   10+n    8     time_ms            milliseconds since the Unix epoch (UTC)
//   18+n    32    prev_hash          BLAKE2b-256 of the origin's previous
//                                    envelope (all bytes, signature included);
//                                    zeros when seq == 1
//   50+n    1     kind_len           1..64
//   51+n    k     kind               ASCII [a-z0-9._], e.g. "case.filed"
//   51+n+k  4     payload_len        0..kPayloadMax
//   55+n+k  p     payload            UTF-8 JSON (opaque here)
//   55+n+k+p 64   signature          Ed25519 over bytes [0, 55+n+k+p)
//
// The hash of an event (what the next event's prev_hash holds) is BLAKE2b-256
// of the complete envelope. Decoding checks structure only; `verify_envelope`
// checks the signature. Chain rules (seq order, prev_hash) belong to whoever
// holds the chain's head.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/crypto.hpp"

namespace tawasul::crypto {

inline constexpr std::uint8_t kEnvelopeVersion = 1;
inline constexpr std::size_t kOriginMin = 2;
inline constexpr std::size_t kOriginMax = 16;
inline constexpr std::size_t kKindMax = 64;
inline constexpr std::size_t kPayloadMax = 1 << 20;

struct Event {
  std::string origin;
  std::uint64_t seq = 0;
  std::uint64_t time_ms = 0;
  Hash256 prev_hash{};
  std::string kind;
  std::string payload;
  Signature signature{};
};

bool valid_origin(std::string_view origin);
bool valid_kind(std::string_view kind);

// Builds the envelope for `event` (its signature field is ignored), signs it
// with `secret` and returns the complete bytes. Fails on an invalid origin,
// kind or an oversized payload.
Result<std::string> seal_envelope(const Event& event, const SignSecretKey& secret);

// Parses envelope bytes; structure only, no signature check.
Result<Event> decode_envelope(std::string_view bytes);

// True when the envelope's signature verifies under `public_key`.
bool verify_envelope(std::string_view bytes, const SignPublicKey& public_key);

// BLAKE2b-256 of the complete envelope.
Hash256 envelope_hash(std::string_view bytes);

}  // namespace tawasul::crypto
