#include "node/tracking.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "crypto/envelope.hpp"

namespace tawasul::node {
namespace {

constexpr int kDamm[10][10] = {{0, 3, 1, 7, 5, 9, 8, 6, 4, 2}, {7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
                               {4, 2, 0, 6, 8, 7, 1, 3, 5, 9}, {1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
                               {6, 1, 2, 3, 0, 4, 5, 9, 7, 8}, {3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
                               {5, 8, 6, 9, 7, 2, 0, 1, 3, 4}, {8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
                               {9, 4, 3, 8, 6, 1, 7, 2, 0, 5}, {2, 5, 8, 1, 4, 3, 6, 7, 9, 0}};

int damm_digits(int interim, std::string_view digits) {
  for (char c : digits) interim = kDamm[interim][c - '0'];
  return interim;
}

// The code's characters as decimal digits: 0-9 as themselves, A=10 … Z=35.
std::string code_digits(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c >= '0' && c <= '9') {
      out.push_back(c);
    } else {
      out += std::to_string(c - 'A' + 10);
    }
  }
  return out;
}

int check_digit(std::string_view code, std::string_view year2, std::string_view sequence) {
  int interim = damm_digits(0, code_digits(code));
  interim = damm_digits(interim, year2);
  return damm_digits(interim, sequence);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

constexpr std::string_view kAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
constexpr std::size_t kAccessCodeLength = 10;

}  // namespace

std::string make_tracking_number(std::string_view code, int year, std::uint64_t sequence) {
  char year2[4];
  std::snprintf(year2, sizeof year2, "%02d", ((year % 100) + 100) % 100);
  char seq[24];
  std::snprintf(seq, sizeof seq, "%07llu", static_cast<unsigned long long>(sequence));
  int check = check_digit(code, year2, seq);
  return std::string(code) + "-" + year2 + "-" + seq + "-" + static_cast<char>('0' + check);
}

std::optional<TrackingNumber> parse_tracking_number(std::string_view text, TrackingError* error) {
  auto fail = [&](TrackingError e) -> std::optional<TrackingNumber> {
    if (error != nullptr) *error = e;
    return std::nullopt;
  };
  if (text.size() > 48) return fail(TrackingError::kMalformed);
  auto d1 = text.find('-');
  if (d1 == std::string_view::npos) return fail(TrackingError::kMalformed);
  auto d2 = text.find('-', d1 + 1);
  if (d2 == std::string_view::npos) return fail(TrackingError::kMalformed);
  auto d3 = text.find('-', d2 + 1);
  if (d3 == std::string_view::npos || text.find('-', d3 + 1) != std::string_view::npos) {
    return fail(TrackingError::kMalformed);
  }
  auto code = text.substr(0, d1);
  auto year2 = text.substr(d1 + 1, d2 - d1 - 1);
  auto seq = text.substr(d2 + 1, d3 - d2 - 1);
  auto check = text.substr(d3 + 1);
  if (!crypto::valid_origin(code) || year2.size() != 2 || !all_digits(year2) || seq.size() < 7 ||
      seq.size() > 18 || !all_digits(seq) || check.size() != 1 || !all_digits(check)) {
    return fail(TrackingError::kMalformed);
  }
  if (check_digit(code, year2, seq) != check[0] - '0') return fail(TrackingError::kCheckDigit);
  return TrackingNumber{std::string(code), std::stoi(std::string(year2)),
                        std::stoull(std::string(seq))};
}

std::string generate_access_code() {
  std::array<std::uint8_t, kAccessCodeLength> random{};
  crypto::random_bytes(random);
  std::string code;
  for (std::size_t i = 0; i < kAccessCodeLength; ++i) {
    if (i == kAccessCodeLength / 2) code.push_back('-');
    code.push_back(kAlphabet[random[i] % kAlphabet.size()]);  // 256 % 32 == 0: no bias
  }
  return code;
}

std::optional<std::string> normalize_access_code(std::string_view text) {
  if (text.size() > 32) return std::nullopt;
  std::string out;
  for (char c : text) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (kAlphabet.find(c) == std::string_view::npos) return std::nullopt;
    out.push_back(c);
  }
  if (out.size() != kAccessCodeLength) return std::nullopt;
  return out;
}

crypto::Hash256 access_code_hash(std::string_view tracking_number,
                                 std::string_view normalized_code) {
  static constexpr std::string_view kKey = "tawasul/access-code/v1";
  std::string message = std::string(tracking_number) + "\n" + std::string(normalized_code);
  return crypto::blake2b_256_keyed(crypto::as_bytes(kKey), crypto::as_bytes(message));
}

crypto::PasswordCost access_code_cost() {
  return crypto::PasswordCost{2, 8u * 1024 * 1024};
}

AccessSecret new_access_secret() {
  AccessSecret secret;
  secret.code = generate_access_code();
  // Only fails when the memory cannot be had: the filing then fails (500).
  secret.hash = crypto::hash_password(*normalize_access_code(secret.code), access_code_cost())
                    .value_or(std::string());
  return secret;
}

bool access_code_matches(std::string_view stored, std::string_view tracking_number,
                         std::string_view code) {
  auto normalized = normalize_access_code(code);
  if (!normalized || stored.empty()) return false;
  if (stored.starts_with("$argon2id$")) return crypto::verify_password(stored, *normalized);
  auto v1 = crypto::from_hex(stored);
  return v1 && crypto::equal_constant_time(*v1, access_code_hash(tracking_number, *normalized));
}

}  // namespace tawasul::node
