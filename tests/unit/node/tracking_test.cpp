// Unit tests for tracking numbers and access codes (node/tracking.hpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "crypto/crypto.hpp"
#include "node/tracking.hpp"

namespace {

namespace node = tawasul::node;
namespace crypto = tawasul::crypto;
using node::TrackingError;

struct CryptoInit {
  CryptoInit() {
    if (!crypto::initialize()) throw std::runtime_error("libsodium failed to initialise");
  }
};
const CryptoInit crypto_init;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Parses `text`, returning the error (nullopt when it parsed).
std::optional<TrackingError> parse_error(const std::string& text) {
  TrackingError why = TrackingError::kMalformed;
  auto parsed = node::parse_tracking_number(text, &why);
  if (parsed) return std::nullopt;
  return why;
}

// Indices of the digits after the code: year, sequence and check digit.
std::vector<std::size_t> digit_positions(const std::string& tracking) {
  std::vector<std::size_t> out;
  for (std::size_t i = tracking.find('-') + 1; i < tracking.size(); ++i) {
    if (is_digit(tracking[i])) out.push_back(i);
  }
  return out;
}

const std::vector<std::pair<std::string, std::pair<int, std::uint64_t>>> kSamples = {
    {"KSU", {2026, 42}},       {"KSU", {2026, 1}},      {"MOE", {2027, 9999999}},
    {"A1", {2030, 1234567}},   {"HR2", {2026, 808080}}, {"RIYADH01", {2099, 5550}},
    {"KSU", {2026, 12345678}}, {"ZZ", {2000, 3141592}},
};

}  // namespace

TEST_CASE("make_tracking_number has the form CODE-YY-SEQUENCE-C", "[tracking]") {
  const std::string t = node::make_tracking_number("KSU", 2026, 42);
  CHECK(std::regex_match(t, std::regex(R"(^KSU-26-0000042-\d$)")));
  CHECK(std::regex_match(node::make_tracking_number("MOE", 2031, 1),
                         std::regex(R"(^MOE-31-0000001-\d$)")));
  CHECK(std::regex_match(node::make_tracking_number("KSU", 2100, 7),
                         std::regex(R"(^KSU-00-0000007-\d$)")));
  CHECK(std::regex_match(node::make_tracking_number("KSU", 2009, 7),
                         std::regex(R"(^KSU-09-0000007-\d$)")));
  // Deterministic.
  CHECK(node::make_tracking_number("KSU", 2026, 42) == t);
  // Different codes, years and sequences give different numbers.
  CHECK(node::make_tracking_number("KSV", 2026, 42) != t);
  CHECK(node::make_tracking_number("KSU", 2027, 42) != t);
  CHECK(node::make_tracking_number("KSU", 2026, 43) != t);
}

TEST_CASE("parse_tracking_number round-trips", "[tracking]") {
  for (const auto& [code, ys] : kSamples) {
    const auto [year, seq] = ys;
    const std::string t = node::make_tracking_number(code, year, seq);
    INFO(t);
    TrackingError why = TrackingError::kMalformed;
    auto parsed = node::parse_tracking_number(t, &why);
    REQUIRE(parsed.has_value());
    CHECK(parsed->code == code);
    CHECK(parsed->year2 == year % 100);
    CHECK(parsed->sequence == seq);
  }
}

TEST_CASE("sequences beyond seven digits work", "[tracking]") {
  const std::string t = node::make_tracking_number("KSU", 2026, 12345678);
  CHECK(std::regex_match(t, std::regex(R"(^KSU-26-12345678-\d$)")));
  auto parsed = node::parse_tracking_number(t);
  REQUIRE(parsed.has_value());
  CHECK(parsed->sequence == 12345678);

  const std::string big = node::make_tracking_number("KSU", 2026, 123456789012345ULL);
  CHECK(std::regex_match(big, std::regex(R"(^KSU-26-123456789012345-\d$)")));
  auto parsed_big = node::parse_tracking_number(big);
  REQUIRE(parsed_big.has_value());
  CHECK(parsed_big->sequence == 123456789012345ULL);
}

TEST_CASE("every single-digit substitution is caught by the check digit", "[tracking][damm]") {
  std::size_t tried = 0;
  for (const auto& [code, ys] : kSamples) {
    const std::string t = node::make_tracking_number(code, ys.first, ys.second);
    REQUIRE(node::parse_tracking_number(t).has_value());
    for (std::size_t pos : digit_positions(t)) {
      for (char d = '0'; d <= '9'; ++d) {
        if (d == t[pos]) continue;
        std::string typo = t;
        typo[pos] = d;
        INFO("original " << t << ", typo " << typo);
        CHECK(parse_error(typo) == std::optional<TrackingError>(TrackingError::kCheckDigit));
        ++tried;
      }
    }
  }
  CHECK(tried > 500);
}

TEST_CASE("every adjacent transposition of different digits is caught", "[tracking][damm]") {
  std::size_t tried = 0;
  for (const auto& [code, ys] : kSamples) {
    const std::string t = node::make_tracking_number(code, ys.first, ys.second);
    for (std::size_t i = t.find('-') + 1; i + 1 < t.size(); ++i) {
      if (!is_digit(t[i]) || !is_digit(t[i + 1]) || t[i] == t[i + 1]) continue;
      std::string swapped = t;
      std::swap(swapped[i], swapped[i + 1]);
      INFO("original " << t << ", swapped " << swapped);
      CHECK(parse_error(swapped) == std::optional<TrackingError>(TrackingError::kCheckDigit));
      ++tried;
    }
  }
  CHECK(tried > 20);
}

TEST_CASE("transpositions are caught across every pair of digits exhaustively",
          "[tracking][damm]") {
  // Sequences abcdefg with one adjacent pair (x, y) somewhere: every x != y at every position.
  std::size_t tried = 0;
  for (int x = 0; x <= 9; ++x) {
    for (int y = 0; y <= 9; ++y) {
      if (x == y) continue;
      for (int at = 0; at < 6; ++at) {
        std::string seq = "3141592";
        seq[static_cast<std::size_t>(at)] = static_cast<char>('0' + x);
        seq[static_cast<std::size_t>(at + 1)] = static_cast<char>('0' + y);
        const std::string t = node::make_tracking_number("KSU", 2026, std::stoull(seq));
        std::string swapped = t;
        std::size_t p = 7 + static_cast<std::size_t>(at);  // "KSU-26-" is 7 characters
        REQUIRE(swapped[p] == '0' + x);
        std::swap(swapped[p], swapped[p + 1]);
        INFO(t << " -> " << swapped);
        CHECK(parse_error(swapped) == std::optional<TrackingError>(TrackingError::kCheckDigit));
        ++tried;
      }
    }
  }
  CHECK(tried == 90 * 6);
}

TEST_CASE("malformed tracking numbers are told apart from typos", "[tracking]") {
  const std::string t = node::make_tracking_number("KSU", 2026, 42);
  const char check = t.back();
  const std::string c(1, check);
  auto malformed = std::optional<TrackingError>(TrackingError::kMalformed);

  CHECK(parse_error("") == malformed);
  CHECK(parse_error("KSU") == malformed);
  CHECK(parse_error("KSU-26") == malformed);
  CHECK(parse_error("KSU-26-0000042") == malformed);
  CHECK(parse_error("KSU-26-0000042-") == malformed);
  CHECK(parse_error("-26-0000042-" + c) == malformed);
  CHECK(parse_error("KSU--0000042-" + c) == malformed);
  CHECK(parse_error("KSU-26--" + c) == malformed);
  CHECK(parse_error("ksu-26-0000042-" + c) == malformed);
  CHECK(parse_error("Ksu-26-0000042-" + c) == malformed);
  CHECK(parse_error("KSU-26-00000A2-" + c) == malformed);
  CHECK(parse_error("KSU-26-000042-" + c) == malformed);  // 6-digit sequence
  CHECK(parse_error("KSU-26-0000042-" + c + "-1") == malformed);
  CHECK(parse_error("KSU-26-0000042-" + c + "-") == malformed);
  CHECK(parse_error("KSU-2026-0000042-" + c) == malformed);
  CHECK(parse_error("KSU-6-0000042-" + c) == malformed);
  CHECK(parse_error("KSU-26-0000042-" + c + c) == malformed);
  CHECK(parse_error("KSU-26-0000042-X") == malformed);
  CHECK(parse_error("K-26-0000042-" + c) == malformed);  // code too short
  CHECK(parse_error("KS U-26-0000042-" + c) == malformed);
  CHECK(parse_error(" KSU-26-0000042-" + c) == malformed);
  CHECK(parse_error("KSU-26-0000042-" + c + " ") == malformed);
  CHECK(parse_error("KSU-26-+000042-" + c) == malformed);
  CHECK(parse_error("KSU-26-" + std::string(19, '1') + "-" + c) == malformed);  // absurdly long
  // And the genuine one parses.
  CHECK_FALSE(parse_error(t).has_value());
}

TEST_CASE("the error out-parameter is optional", "[tracking]") {
  CHECK_FALSE(node::parse_tracking_number("nonsense").has_value());
  std::string t = node::make_tracking_number("KSU", 2026, 42);
  t.back() = t.back() == '9' ? '0' : static_cast<char>(t.back() + 1);
  CHECK_FALSE(node::parse_tracking_number(t).has_value());
}

// --------------------------------------------------------------------------
// Access codes
// --------------------------------------------------------------------------

TEST_CASE("generated access codes are XXXXX-XXXXX over the alphabet without look-alikes",
          "[access]") {
  const std::regex form(R"(^[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}$)");
  std::set<char> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string code = node::generate_access_code();
    INFO(code);
    REQUIRE(code.size() == 11);
    REQUIRE(std::regex_match(code, form));
    for (char ch : code) {
      CHECK(ch != '0');
      CHECK(ch != '1');
      CHECK(ch != 'I');
      CHECK(ch != 'O');
      if (ch != '-') seen.insert(ch);
    }
    // What is generated normalises to itself without the dash.
    auto normalized = node::normalize_access_code(code);
    REQUIRE(normalized.has_value());
    CHECK(*normalized == code.substr(0, 5) + code.substr(6));
  }
  // 10 000 characters drawn: every letter of the 32-letter alphabet shows up.
  CHECK(seen.size() == 32);
}

TEST_CASE("1000 generated access codes are distinct", "[access]") {
  std::set<std::string> codes;
  for (int i = 0; i < 1000; ++i) codes.insert(node::generate_access_code());
  CHECK(codes.size() == 1000);
}

TEST_CASE("normalize_access_code accepts lower case and a missing dash", "[access]") {
  using Opt = std::optional<std::string>;
  CHECK(node::normalize_access_code("ABCDE-FGHJK") == Opt("ABCDEFGHJK"));
  CHECK(node::normalize_access_code("abcde-fghjk") == Opt("ABCDEFGHJK"));
  CHECK(node::normalize_access_code("ABCDEFGHJK") == Opt("ABCDEFGHJK"));
  CHECK(node::normalize_access_code("abcdefghjk") == Opt("ABCDEFGHJK"));
  CHECK(node::normalize_access_code("aBcDe fGhJk") == Opt("ABCDEFGHJK"));
  CHECK(node::normalize_access_code("23456-789XY") == Opt("23456789XY"));
}

TEST_CASE("normalize_access_code refuses wrong lengths and look-alike characters", "[access]") {
  CHECK_FALSE(node::normalize_access_code("").has_value());
  CHECK_FALSE(node::normalize_access_code("ABCDE-FGHJ").has_value());
  CHECK_FALSE(node::normalize_access_code("ABCDE-FGHJKL").has_value());
  CHECK_FALSE(node::normalize_access_code("ABCDEFGHJ").has_value());
  CHECK_FALSE(node::normalize_access_code("ABCDE-FGHJ0").has_value());
  CHECK_FALSE(node::normalize_access_code("ABCDE-FGHJ1").has_value());
  CHECK_FALSE(node::normalize_access_code("ABCDE-FGHJI").has_value());
  CHECK_FALSE(node::normalize_access_code("ABCDE-FGHJO").has_value());
  CHECK_FALSE(node::normalize_access_code("abcde-fghji").has_value());
  CHECK_FALSE(node::normalize_access_code("abcde-fghjo").has_value());
  CHECK_FALSE(node::normalize_access_code("ABCDE_FGHJK").has_value());
  CHECK_FALSE(node::normalize_access_code("ABCDE-FGHJ!").has_value());
  CHECK_FALSE(
      node::normalize_access_code("ABCDE-FGHJ\xD9\xA1").has_value());  // Arabic-Indic digit one
  CHECK_FALSE(node::normalize_access_code(std::string(40, '-') + "ABCDEFGHJK").has_value());
}

TEST_CASE("access_code_hash depends on both the tracking number and the code", "[access]") {
  const std::string t1 = node::make_tracking_number("KSU", 2026, 1);
  const std::string t2 = node::make_tracking_number("KSU", 2026, 2);
  const auto h = node::access_code_hash(t1, "ABCDEFGHJK");
  CHECK(node::access_code_hash(t1, "ABCDEFGHJK") == h);
  CHECK(node::access_code_hash(t2, "ABCDEFGHJK") != h);
  CHECK(node::access_code_hash(t1, "ABCDEFGHJL") != h);
  CHECK(node::access_code_hash(t1, "BACDEFGHJK") != h);
  // Not a bare concatenation: moving characters across the boundary changes it.
  CHECK(node::access_code_hash(t1 + "A", "BCDEFGHJK") != h);
  // Not the unkeyed BLAKE2b of the message either.
  const std::string message = t1 + "\nABCDEFGHJK";
  CHECK(crypto::blake2b_256(crypto::as_bytes(message)) != h);
}
