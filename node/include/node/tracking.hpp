// Tracking numbers and access codes.
//
// A tracking number is CODE-YY-SEQUENCE-C, e.g. KSU-26-0000042-7: the owning
// node's code, the filing year in Asia/Riyadh, the node's sequence for that
// year (at least 7 digits) and a Damm check digit. The check digit runs over
// the code's characters as numbers (0-9 as themselves, A=10 … Z=35, as in
// IBAN), then the year and the sequence; Damm catches every single-digit
// error and every swap of adjacent digits, so a mistyped number is told apart
// from a missing case. Unique across the federation because codes are.
//
// An access code is 10 characters from a 32-letter alphabet without look-alikes
// (no 0, 1, I, O), shown as XXXXX-XXXXX: 50 random bits. Only a keyed BLAKE2b
// hash of (tracking number, code) is stored and replicated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/crypto.hpp"

namespace tawasul::node {

std::string make_tracking_number(std::string_view code, int year, std::uint64_t sequence);

struct TrackingNumber {
  std::string code;
  int year2 = 0;  // 0..99
  std::uint64_t sequence = 0;
};
enum class TrackingError { kMalformed, kCheckDigit };
// Parses and checks a tracking number (upper-case expected; callers may upper-case first).
std::optional<TrackingNumber> parse_tracking_number(std::string_view text,
                                                    TrackingError* error = nullptr);

std::string generate_access_code();
// Upper-cases and removes separators; nullopt unless 10 characters of the alphabet remain.
std::optional<std::string> normalize_access_code(std::string_view text);
crypto::Hash256 access_code_hash(std::string_view tracking_number,
                                 std::string_view normalized_code);

}  // namespace tawasul::node
