// The federation frame decoders (federation/PROTOCOL.md): a multipart
// message as the hub's router and the node's uplink read it — the header
// frame, then the body frames of its type (EVENTS: envelopes).
// Input: frames separated by the line of fuzz_util.hpp.
// Contract: nothing throws; a refusal carries a message; every accepted
// header and body re-encodes to what parses to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/envelope.hpp"
#include "federation/wire.hpp"
#include "fuzz_util.hpp"

namespace {

namespace fed = tawasul::federation;

// The most frames a message of the protocol has (EVENTS: one per event).
constexpr std::size_t kFramesMax = 2 + fed::kBatchEventsMax;

template <class T>
bool refused_with_message(const std::expected<T, std::string>& parsed) {
  return parsed.has_value() || !parsed.error().empty();
}

void check_hello(std::string_view body) {
  auto m = fed::parse_hello(body);
  FUZZ_CHECK(refused_with_message(m));
  if (!m) return;
  auto again = fed::parse_hello(fed::encode(*m));
  FUZZ_CHECK(again && again->code == m->code && again->acked == m->acked &&
             again->head == m->head && again->calendar_version == m->calendar_version);
}

void check_cursor(std::string_view body) {
  auto m = fed::parse_cursor(body);
  FUZZ_CHECK(refused_with_message(m));
  if (!m) return;
  auto again = fed::parse_cursor(fed::encode(*m));
  FUZZ_CHECK(again && again->cursor == m->cursor && again->calendar_version == m->calendar_version);
}

void check_nack(std::string_view body) {
  auto m = fed::parse_nack(body);
  FUZZ_CHECK(refused_with_message(m));
  if (!m) return;
  auto again = fed::parse_nack(fed::encode(*m));
  FUZZ_CHECK(again && again->cursor == m->cursor && again->reason == m->reason &&
             again->message == m->message);
}

void check_calendar(const std::vector<std::string_view>& frames) {
  if (frames.size() != 4) return;
  auto m = fed::parse_calendar(frames[1], frames[2], frames[3]);
  FUZZ_CHECK(refused_with_message(m));
  if (!m) return;
  const std::string_view signature(reinterpret_cast<const char*>(m->signature.data()),
                                   m->signature.size());
  auto again = fed::parse_calendar(fed::encode_calendar_body(*m), m->text, signature);
  FUZZ_CHECK(again && again->version == m->version && again->text == m->text &&
             again->signature == m->signature);
}

void check_events(const std::vector<std::string_view>& frames) {
  for (std::size_t i = 1; i < frames.size(); ++i) {
    auto event = tawasul::crypto::decode_envelope(frames[i]);
    FUZZ_CHECK(event.has_value() || !event.error().message.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto frames =
      tawasul::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, kFramesMax);
  if (auto key = fed::z85_decode(frames[0])) FUZZ_CHECK(fed::z85_encode(*key) == frames[0]);
  auto type = fed::parse_header(frames[0]);
  FUZZ_CHECK(refused_with_message(type));
  if (!type) return 0;
  FUZZ_CHECK(fed::encode_header(*type) == frames[0]);
  const std::string_view body = frames.size() > 1 ? frames[1] : std::string_view();
  switch (*type) {
    case fed::MessageType::kHello:
      check_hello(body);
      break;
    case fed::MessageType::kWelcome:
    case fed::MessageType::kAck:
      check_cursor(body);
      break;
    case fed::MessageType::kNack:
      check_nack(body);
      break;
    case fed::MessageType::kCalendar:
      check_calendar(frames);
      break;
    case fed::MessageType::kEvents:
      check_events(frames);
      break;
  }
  return 0;
}
