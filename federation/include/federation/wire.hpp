// Wire messages of the federation protocol, version 1 (federation/PROTOCOL.md).
// Encoding and strict parsing only; no sockets here.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/crypto.hpp"
#include "federation/interfaces.hpp"

namespace tawasul::federation {

inline constexpr std::uint8_t kProtocolVersion = 1;
inline constexpr std::size_t kBatchEventsMax = 256;
inline constexpr std::size_t kBatchBytesMax = std::size_t{1} << 20;
inline constexpr std::size_t kControlBodyMax = 4096;
// The largest national calendar text a CALENDAR message carries.
inline constexpr std::size_t kCalendarTextMax = std::size_t{64} * 1024;
// Domain separation of the hub's calendar signature.
inline constexpr std::string_view kCalendarSignDomain = "tawasul/national-calendar/v1";

// The size of the bound on one message the hub buffers: a full batch of
// envelopes plus room for the header, the envelopes' own headers and
// signatures, which kBatchBytesMax does not count (PROTOCOL.md, "Memory").
inline constexpr std::size_t kMessageSlackBytes = std::size_t{64} * 1024;
// The most frames one EVENTS message may have: routing id, header, envelopes.
inline constexpr std::size_t kMessageFramesMax = 2 + kBatchEventsMax;
inline constexpr std::size_t kMessageBytesMax = kBatchBytesMax + kMessageSlackBytes;

// True when `frame` is a two-byte header of a version or type this side
// does not speak (the hub answers it with NACK `unsupported`).
bool unsupported_header(std::string_view frame);

enum class MessageType : std::uint8_t {
  kHello = 1,
  kWelcome = 2,
  kEvents = 3,
  kAck = 4,
  kNack = 5,
  kCalendar = 6
};

std::string encode_header(MessageType type);
// The type, or an error message for a wrong size, version or unknown type.
std::expected<MessageType, std::string> parse_header(std::string_view frame);

struct Hello {
  std::string code;
  std::uint64_t acked = 0;
  std::uint64_t head = 0;
  std::uint64_t calendar_version = 0;  // optional on the wire; absent = 0
};
struct Cursor {  // WELCOME and ACK bodies
  std::uint64_t cursor = 0;
  // ACK only, optional on the wire (absent = 0): the hub's national calendar
  // version, so a streaming node learns that a newer one waits for it.
  std::uint64_t calendar_version = 0;
};
struct Nack {
  std::uint64_t cursor = 0;
  std::string reason;  // gap, fork, bad_signature, malformed, wrong_origin, unavailable,
                       // refused, unsupported (PROTOCOL.md, "Messages")
  std::string message;
};

std::string encode(const Hello& m);
std::string encode(const Cursor& m);
std::string encode(const Nack& m);
std::expected<Hello, std::string> parse_hello(std::string_view body);
std::expected<Cursor, std::string> parse_cursor(std::string_view body);
std::expected<Nack, std::string> parse_nack(std::string_view body);

// CALENDAR (PROTOCOL.md, "The national calendar"). The message the hub signs:
// kCalendarSignDomain ‖ u64 version (big-endian) ‖ text.
std::string calendar_signing_message(std::uint64_t version, std::string_view text);
SignedCalendar sign_calendar(const crypto::SignSecretKey& secret, std::uint64_t version,
                             std::string text);
bool verify_calendar(const SignedCalendar& calendar, const crypto::SignPublicKey& hub_key);
// The three frames after the header: {"version": N}, the text, the signature.
std::string encode_calendar_body(const SignedCalendar& calendar);
// Checks the shape only (version >= 1, text 1..kCalendarTextMax bytes, a
// 64-byte signature); the signature is the receiver's to verify.
std::expected<SignedCalendar, std::string> parse_calendar(std::string_view body,
                                                          std::string_view text,
                                                          std::string_view signature);

// Z85 (ZeroMQ's text form of CURVE keys): 32 bytes <-> 40 characters.
std::string z85_encode(const crypto::CurvePublicKey& key);
std::optional<crypto::CurvePublicKey> z85_decode(std::string_view text);

}  // namespace tawasul::federation
