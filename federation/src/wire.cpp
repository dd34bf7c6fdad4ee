#include "federation/wire.hpp"

#include <zmq.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "federation/interfaces.hpp"

namespace tawasul::federation {

namespace {
class SteadyClock final : public Clock {
 public:
  std::int64_t monotonic_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

using nlohmann::json;

std::expected<json, std::string> parse_object(std::string_view body) {
  if (body.size() > kControlBodyMax) return std::unexpected("control body over 4 KiB");
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return std::unexpected("control body is not valid JSON");
  if (!j.is_object()) return std::unexpected("control body is not a JSON object");
  return j;
}

std::expected<std::uint64_t, std::string> get_u64(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return std::unexpected(std::string("missing field ") + field);
  if (!it->is_number_unsigned())
    return std::unexpected(std::string("field ") + field + " must be an unsigned integer");
  return it->get<std::uint64_t>();
}

std::expected<std::string, std::string> get_string(const json& j, const char* field,
                                                   std::size_t max) {
  auto it = j.find(field);
  if (it == j.end()) return std::unexpected(std::string("missing field ") + field);
  if (!it->is_string()) return std::unexpected(std::string("field ") + field + " must be a string");
  auto s = it->get<std::string>();
  if (s.size() > max) return std::unexpected(std::string("field ") + field + " too long");
  return s;
}
}  // namespace

const Clock& steady_clock() {
  static const SteadyClock clock;
  return clock;
}

std::string encode_header(MessageType type) {
  return std::string{static_cast<char>(kProtocolVersion), static_cast<char>(type)};
}

std::expected<MessageType, std::string> parse_header(std::string_view frame) {
  if (frame.size() != 2) return std::unexpected("header frame must be 2 bytes");
  auto version = static_cast<std::uint8_t>(frame[0]);
  if (version != kProtocolVersion)
    return std::unexpected("unsupported protocol version " + std::to_string(version));
  auto type = static_cast<std::uint8_t>(frame[1]);
  if (type < 1 || type > 6) return std::unexpected("unknown message type " + std::to_string(type));
  return static_cast<MessageType>(type);
}

bool unsupported_header(std::string_view frame) {
  return frame.size() == 2 && !parse_header(frame);
}

std::string encode(const Hello& m) {
  return json{{"code", m.code},
              {"acked", m.acked},
              {"head", m.head},
              {"calendar_version", m.calendar_version}}
      .dump();
}
std::string encode(const Cursor& m) {
  json j{{"cursor", m.cursor}};
  if (m.calendar_version != 0) j["calendar_version"] = m.calendar_version;
  return j.dump();
}
std::string encode(const Nack& m) {
  return json{{"cursor", m.cursor}, {"reason", m.reason}, {"message", m.message}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

std::expected<Hello, std::string> parse_hello(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return std::unexpected(j.error());
  Hello m;
  auto code = get_string(*j, "code", 16);
  if (!code) return std::unexpected(code.error());
  m.code = *code;
  auto acked = get_u64(*j, "acked");
  if (!acked) return std::unexpected(acked.error());
  m.acked = *acked;
  auto head = get_u64(*j, "head");
  if (!head) return std::unexpected(head.error());
  m.head = *head;
  if (j->contains("calendar_version")) {  // optional: older nodes do not send it
    auto version = get_u64(*j, "calendar_version");
    if (!version) return std::unexpected(version.error());
    m.calendar_version = *version;
  }
  return m;
}

std::expected<Cursor, std::string> parse_cursor(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return std::unexpected(j.error());
  auto c = get_u64(*j, "cursor");
  if (!c) return std::unexpected(c.error());
  Cursor m{*c};
  if (j->contains("calendar_version")) {
    auto version = get_u64(*j, "calendar_version");
    if (!version) return std::unexpected(version.error());
    m.calendar_version = *version;
  }
  return m;
}

std::expected<Nack, std::string> parse_nack(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return std::unexpected(j.error());
  Nack m;
  auto c = get_u64(*j, "cursor");
  if (!c) return std::unexpected(c.error());
  m.cursor = *c;
  auto reason = get_string(*j, "reason", 32);
  if (!reason) return std::unexpected(reason.error());
  m.reason = *reason;
  auto message = get_string(*j, "message", 1024);
  if (!message) return std::unexpected(message.error());
  m.message = *message;
  return m;
}

std::string calendar_signing_message(std::uint64_t version, std::string_view text) {
  std::string message(kCalendarSignDomain);
  for (int shift = 56; shift >= 0; shift -= 8)
    message.push_back(static_cast<char>((version >> shift) & 0xff));
  message.append(text);
  return message;
}

SignedCalendar sign_calendar(const crypto::SignSecretKey& secret, std::uint64_t version,
                             std::string text) {
  SignedCalendar c{version, std::move(text), {}};
  c.signature = crypto::sign(secret, crypto::as_bytes(calendar_signing_message(version, c.text)));
  return c;
}

bool verify_calendar(const SignedCalendar& calendar, const crypto::SignPublicKey& hub_key) {
  return crypto::verify(hub_key,
                        crypto::as_bytes(calendar_signing_message(calendar.version, calendar.text)),
                        calendar.signature);
}

std::string encode_calendar_body(const SignedCalendar& calendar) {
  return json{{"version", calendar.version}}.dump();
}

std::expected<SignedCalendar, std::string> parse_calendar(std::string_view body,
                                                          std::string_view text,
                                                          std::string_view signature) {
  auto j = parse_object(body);
  if (!j) return std::unexpected(j.error());
  auto version = get_u64(*j, "version");
  if (!version) return std::unexpected(version.error());
  if (*version == 0) return std::unexpected("calendar version must be at least 1");
  if (text.empty() || text.size() > kCalendarTextMax)
    return std::unexpected("calendar text must be 1.." + std::to_string(kCalendarTextMax) +
                           " bytes (got " + std::to_string(text.size()) + ")");
  SignedCalendar c;
  if (signature.size() != c.signature.size())
    return std::unexpected("calendar signature must be 64 bytes");
  c.version = *version;
  c.text = std::string(text);
  std::copy(signature.begin(), signature.end(), reinterpret_cast<char*>(c.signature.data()));
  return c;
}

std::string z85_encode(const crypto::CurvePublicKey& key) {
  char text[41] = {};
  zmq_z85_encode(text, key.data(), key.size());
  return std::string(text, 40);
}

std::optional<crypto::CurvePublicKey> z85_decode(std::string_view text) {
  // zmq_z85_decode reads a C string: a NUL inside would end the key early.
  if (text.size() != 40 || text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string copy(text);
  crypto::CurvePublicKey key{};
  if (zmq_z85_decode(key.data(), copy.c_str()) == nullptr) return std::nullopt;
  return key;
}

}  // namespace tawasul::federation
