#include "crypto/envelope.hpp"

#include <algorithm>

namespace tawasul::crypto {
namespace {

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

// A bounds-checked reader over envelope bytes.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool take(std::size_t n, std::string_view& out) {
    if (bytes_.size() - pos_ < n) return false;
    out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool u8(std::uint8_t& v) {
    std::string_view s;
    if (!take(1, s)) return false;
    v = static_cast<std::uint8_t>(s[0]);
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::string_view s;
    if (!take(4, s)) return false;
    v = 0;
    for (char c : s) v = v << 8 | static_cast<std::uint8_t>(c);
    return true;
  }
  bool u64(std::uint64_t& v) {
    std::string_view s;
    if (!take(8, s)) return false;
    v = 0;
    for (char c : s) v = v << 8 | static_cast<std::uint8_t>(c);
    return true;
  }
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

Error format_error(std::string message) {
  return Error{ErrorCode::kFormat, std::move(message)};
}

}  // namespace

bool valid_origin(std::string_view origin) {
  if (origin.size() < kOriginMin || origin.size() > kOriginMax) return false;
  return std::all_of(origin.begin(), origin.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

bool valid_kind(std::string_view kind) {
  if (kind.empty() || kind.size() > kKindMax) return false;
  return std::all_of(kind.begin(), kind.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
  });
}

Result<std::string> seal_envelope(const Event& event, const SignSecretKey& secret) {
  if (!valid_origin(event.origin)) return std::unexpected(format_error("invalid origin code"));
  if (!valid_kind(event.kind)) return std::unexpected(format_error("invalid event kind"));
  if (event.payload.size() > kPayloadMax) return std::unexpected(format_error("payload too large"));
  if (event.seq == 0) return std::unexpected(format_error("sequence numbers start at 1"));
  std::string out;
  out.reserve(64 + event.origin.size() + event.kind.size() + event.payload.size() + 64);
  out.push_back(static_cast<char>(kEnvelopeVersion));
  out.push_back(static_cast<char>(event.origin.size()));
  out.append(event.origin);
  put_u64(out, event.seq);
  put_u64(out, event.time_ms);
  out.append(reinterpret_cast<const char*>(event.prev_hash.data()), event.prev_hash.size());
  out.push_back(static_cast<char>(event.kind.size()));
  out.append(event.kind);
  put_u32(out, static_cast<std::uint32_t>(event.payload.size()));
  out.append(event.payload);
  Signature sig = sign(secret, as_bytes(out));
  out.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  return out;
}

Result<Event> decode_envelope(std::string_view bytes) {
  Reader r(bytes);
  Event e;
  std::uint8_t version = 0;
  std::uint8_t len = 0;
  std::string_view field;
  if (!r.u8(version)) return std::unexpected(format_error("envelope is empty"));
  if (version != kEnvelopeVersion) {
    return std::unexpected(format_error("unknown envelope version " + std::to_string(version)));
  }
  if (!r.u8(len) || !r.take(len, field)) return std::unexpected(format_error("truncated origin"));
  e.origin = field;
  if (!valid_origin(e.origin)) return std::unexpected(format_error("invalid origin code"));
  if (!r.u64(e.seq) || !r.u64(e.time_ms)) return std::unexpected(format_error("truncated header"));
  if (e.seq == 0) return std::unexpected(format_error("sequence number 0"));
  if (!r.take(kHashBytes, field)) return std::unexpected(format_error("truncated prev_hash"));
  std::copy(field.begin(), field.end(), e.prev_hash.begin());
  if (!r.u8(len) || !r.take(len, field)) return std::unexpected(format_error("truncated kind"));
  e.kind = field;
  if (!valid_kind(e.kind)) return std::unexpected(format_error("invalid event kind"));
  std::uint32_t payload_len = 0;
  if (!r.u32(payload_len)) return std::unexpected(format_error("truncated payload length"));
  if (payload_len > kPayloadMax) return std::unexpected(format_error("payload too large"));
  if (!r.take(payload_len, field)) return std::unexpected(format_error("truncated payload"));
  e.payload = field;
  if (!r.take(e.signature.size(), field))
    return std::unexpected(format_error("truncated signature"));
  std::copy(field.begin(), field.end(), e.signature.begin());
  if (r.remaining() != 0) return std::unexpected(format_error("trailing bytes after signature"));
  return e;
}

bool verify_envelope(std::string_view bytes, const SignPublicKey& public_key) {
  constexpr std::size_t kSig = std::tuple_size_v<Signature>;
  if (bytes.size() <= kSig) return false;
  Signature sig{};
  std::copy(bytes.end() - kSig, bytes.end(), sig.begin());
  return verify(public_key, as_bytes(bytes.substr(0, bytes.size() - kSig)), sig);
}

Hash256 envelope_hash(std::string_view bytes) {
  return blake2b_256(as_bytes(bytes));
}

}  // namespace tawasul::crypto
