#include "node/text.hpp"

#include <algorithm>
#include <cstdint>

namespace tawasul::node {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed sequence starting at text[i], or 0.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  std::uint8_t lo = 0x80;  // the range of the second byte (RFC 3629 table)
  std::uint8_t hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::optional<std::size_t> invalid_utf8_offset(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_length(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

std::size_t utf8_length(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string utf8_sanitize(std::string_view text) {
  if (valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_length(text, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::vector<std::string> utf8_code_points(std::string_view text) {
  const std::string clean = utf8_sanitize(text);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < clean.size();) {
    const std::size_t n = sequence_length(clean, i);
    out.emplace_back(clean.substr(i, n));
    i += n;
  }
  return out;
}

std::string utf8_prefix(std::string_view text, std::size_t max_bytes) {
  std::string clean = utf8_sanitize(text);
  std::size_t end = 0;
  while (end < clean.size()) {
    const std::size_t n = sequence_length(clean, end);
    if (end + n > max_bytes) break;
    end += n;
  }
  clean.resize(end);
  return clean;
}

std::string utf8_chars(std::string_view text, std::size_t max_chars, std::string_view ellipsis) {
  std::string clean = utf8_sanitize(text);
  std::size_t end = 0;
  for (std::size_t chars = 0; end < clean.size(); ++chars) {
    if (chars == max_chars) {
      clean.resize(end);
      return clean + std::string(ellipsis);
    }
    end += sequence_length(clean, end);
  }
  return clean;
}

std::string dump_text(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tawasul::node
