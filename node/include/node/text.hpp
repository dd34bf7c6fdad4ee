// UTF-8 text at the node's edges: checked where it comes in, cut and masked
// by whole code points, and serialised so that nothing can throw.
//
// Everything that comes from outside (HTTP bodies, headers, query values,
// file names, a gateway's output) may hold any bytes. nlohmann's dump()
// throws on invalid UTF-8, and a byte-wise substr of Arabic text splits a
// letter into invalid bytes: one such throw on a background thread once
// stopped a node at every restart. So: refuse invalid input at the edge
// (invalid_utf8_offset), cut with utf8_prefix / utf8_chars, make foreign bytes
// safe with utf8_sanitize, and serialise with dump_text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tawasul::node {

// The byte offset of the first byte that does not start a well-formed UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF), or nullopt when all of `text` is well-formed.
std::optional<std::size_t> invalid_utf8_offset(std::string_view text);
inline bool valid_utf8(std::string_view text) {
  return !invalid_utf8_offset(text);
}
// Characters (code points) in valid UTF-8 text.
std::size_t utf8_length(std::string_view text);

// `text` with every ill-formed sequence replaced by U+FFFD.
std::string utf8_sanitize(std::string_view text);

// The code points of `text` (sanitized first), each as its own string.
std::vector<std::string> utf8_code_points(std::string_view text);

// The longest prefix of `text` that is at most `max_bytes` long and ends on
// a code-point boundary (sanitized first, so the result is always valid).
std::string utf8_prefix(std::string_view text, std::size_t max_bytes);

// The first `max_chars` code points of `text` (sanitized), with `ellipsis`
// appended when something was cut.
std::string utf8_chars(std::string_view text, std::size_t max_chars,
                       std::string_view ellipsis = "");

// JSON text that never throws: an invalid byte in a string becomes U+FFFD.
std::string dump_text(const nlohmann::json& value, int indent = -1);

}  // namespace tawasul::node
