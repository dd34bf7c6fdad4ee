// Wire messages of the federation protocol, version 1 (federation/PROTOCOL.md).
// Encoding and strict parsing only; no sockets here.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/crypto.hpp"

namespace tawasul::federation {

inline constexpr std::uint8_t kProtocolVersion = 1;
inline constexpr std::size_t kBatchEventsMax = 256;
inline constexpr std::size_t kBatchBytesMax = std::size_t{1} << 20;
inline constexpr std::size_t kControlBodyMax = 4096;

enum class MessageType : std::uint8_t {
  kHello = 1,
  kWelcome = 2,
  kEvents = 3,
  kAck = 4,
  kNack = 5
};

std::string encode_header(MessageType type);
// The type, or an error message for a wrong size, version or unknown type.
std::expected<MessageType, std::string> parse_header(std::string_view frame);

struct Hello {
  std::string code;
  std::uint64_t acked = 0;
  std::uint64_t head = 0;
};
struct Cursor {  // WELCOME and ACK bodies
  std::uint64_t cursor = 0;
};
struct Nack {
  std::uint64_t cursor = 0;
  std::string reason;  // gap, fork, bad_signature, malformed, wrong_origin, unavailable
  std::string message;
};

std::string encode(const Hello& m);
std::string encode(const Cursor& m);
std::string encode(const Nack& m);
std::expected<Hello, std::string> parse_hello(std::string_view body);
std::expected<Cursor, std::string> parse_cursor(std::string_view body);
std::expected<Nack, std::string> parse_nack(std::string_view body);

// Z85 (ZeroMQ's text form of CURVE keys): 32 bytes <-> 40 characters.
std::string z85_encode(const crypto::CurvePublicKey& key);
std::optional<crypto::CurvePublicKey> z85_decode(std::string_view text);

}  // namespace tawasul::federation
