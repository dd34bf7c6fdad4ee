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
// Access-code hashes, as a case.filed event stores them (storage/FORMAT.md).
// v2 (since issue 9): Argon2id in libsodium's string form, with its own
// random salt, at kAccessCodeCost — so a copy of a store or a backup, which
// holds these hashes, gives no practical way to recover a code: a guess
// costs ~10 ms and 8 MiB, and a code has 50 bits. Verified at the node and
// at the hub alike, with no key to share.
// v1 (64 hex digits): keyed BLAKE2b under a public constant — a stolen store
// lets anyone search the code space offline. No longer written; still
// verified for cases filed before, whose signed events cannot change.
crypto::PasswordCost access_code_cost();
struct AccessSecret {
  std::string code;  // shown once, in the receipt
  std::string hash;  // v2, stored in case.filed
};
// A new access code and its v2 hash (the slow part: run it before the writer).
AccessSecret new_access_secret();
// v1, kept for stored cases and tests.
crypto::Hash256 access_code_hash(std::string_view tracking_number,
                                 std::string_view normalized_code);
// Whether `code` (as typed) opens a case whose stored hash is `stored` (v1 or v2).
bool access_code_matches(std::string_view stored, std::string_view tracking_number,
                         std::string_view code);

}  // namespace tawasul::node
