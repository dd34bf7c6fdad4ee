// Unit tests for tawasul::crypto primitives: hashing, signatures, sealing, hex.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.hpp"

namespace {

namespace crypto = tawasul::crypto;

void init() {
  REQUIRE(crypto::initialize());
}

crypto::Bytes bytes_of(std::string_view s) {
  auto v = crypto::as_bytes(s);
  return crypto::Bytes(v.begin(), v.end());
}

template <std::size_t N>
std::array<std::uint8_t, N> filled(std::uint8_t start) {
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::uint8_t>(start + i);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// BLAKE2b

TEST_CASE("blake2b_256 matches the published BLAKE2b-256 vectors", "[crypto][hash]") {
  init();
  CHECK(crypto::to_hex(crypto::blake2b_256(crypto::as_bytes(""))) ==
        "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  CHECK(crypto::to_hex(crypto::blake2b_256(crypto::as_bytes("abc"))) ==
        "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST_CASE("blake2b_256 is deterministic and depends on every input byte", "[crypto][hash]") {
  init();
  std::string data = "the quick brown fox";
  auto h = crypto::blake2b_256(crypto::as_bytes(data));
  CHECK(crypto::blake2b_256(crypto::as_bytes(data)) == h);
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::string changed = data;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    CHECK(crypto::blake2b_256(crypto::as_bytes(changed)) != h);
  }
}

TEST_CASE("keyed blake2b_256 differs from unkeyed and differs by key", "[crypto][hash]") {
  init();
  auto data = crypto::as_bytes("abc");
  auto key_a = filled<32>(0);
  auto key_b = key_a;
  key_b[31] ^= 0x01;

  auto unkeyed = crypto::blake2b_256(data);
  auto keyed_a = crypto::blake2b_256_keyed(key_a, data);
  auto keyed_b = crypto::blake2b_256_keyed(key_b, data);

  CHECK(keyed_a != unkeyed);
  CHECK(keyed_b != unkeyed);
  CHECK(keyed_a != keyed_b);
  // Same key and data give the same MAC.
  CHECK(crypto::blake2b_256_keyed(key_a, data) == keyed_a);
  // Same key, different data give a different MAC.
  CHECK(crypto::blake2b_256_keyed(key_a, crypto::as_bytes("abd")) != keyed_a);
}

TEST_CASE("keyed blake2b_256 accepts keys of 16 and 64 bytes", "[crypto][hash]") {
  init();
  auto data = crypto::as_bytes("abc");
  auto key16 = filled<16>(1);
  auto key64 = filled<64>(1);
  auto h16 = crypto::blake2b_256_keyed(key16, data);
  auto h64 = crypto::blake2b_256_keyed(key64, data);
  CHECK(h16 != h64);
  CHECK(h16 != crypto::blake2b_256(data));
  CHECK(h64 != crypto::blake2b_256(data));
}

// ---------------------------------------------------------------------------
// Signatures

TEST_CASE("a signature verifies under the signer's public key", "[crypto][sign]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto message = crypto::as_bytes("case.filed {\"id\":1}");
  auto sig = crypto::sign(kp.secret_key, message);
  CHECK(crypto::verify(kp.public_key, message, sig));
  // Ed25519 is deterministic.
  CHECK(crypto::sign(kp.secret_key, message) == sig);
}

TEST_CASE("a signature over the empty message verifies", "[crypto][sign]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto sig = crypto::sign(kp.secret_key, crypto::as_bytes(""));
  CHECK(crypto::verify(kp.public_key, crypto::as_bytes(""), sig));
  CHECK_FALSE(crypto::verify(kp.public_key, crypto::as_bytes("x"), sig));
}

TEST_CASE("a signature does not verify when any message byte is flipped", "[crypto][sign]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  std::string message = "a message of a few dozen bytes to be signed";
  auto sig = crypto::sign(kp.secret_key, crypto::as_bytes(message));
  REQUIRE(crypto::verify(kp.public_key, crypto::as_bytes(message), sig));
  std::vector<std::size_t> accepted;
  for (std::size_t i = 0; i < message.size(); ++i) {
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      std::string changed = message;
      changed[i] = static_cast<char>(static_cast<std::uint8_t>(changed[i]) ^ mask);
      if (crypto::verify(kp.public_key, crypto::as_bytes(changed), sig)) accepted.push_back(i);
    }
  }
  CHECK(accepted.empty());
}

TEST_CASE("a signature does not verify when any signature byte is flipped", "[crypto][sign]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto message = crypto::as_bytes("signed words");
  auto sig = crypto::sign(kp.secret_key, message);
  std::vector<std::size_t> accepted;
  for (std::size_t i = 0; i < sig.size(); ++i) {
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      auto changed = sig;
      changed[i] ^= mask;
      if (crypto::verify(kp.public_key, message, changed)) accepted.push_back(i);
    }
  }
  CHECK(accepted.empty());
}

TEST_CASE("a signature does not verify under another key", "[crypto][sign]") {
  init();
  auto signer = crypto::SigningKeyPair::generate();
  auto other = crypto::SigningKeyPair::generate();
  REQUIRE(signer.public_key != other.public_key);
  auto message = crypto::as_bytes("signed words");
  auto sig = crypto::sign(signer.secret_key, message);
  CHECK_FALSE(crypto::verify(other.public_key, message, sig));
}

TEST_CASE("SigningKeyPair::from_secret derives the same public key as generate", "[crypto][keys]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto derived = crypto::SigningKeyPair::from_secret(kp.secret_key);
  CHECK(derived.public_key == kp.public_key);
  CHECK(derived.secret_key == kp.secret_key);
  // And the derived pair signs verifiably.
  auto sig = crypto::sign(derived.secret_key, crypto::as_bytes("m"));
  CHECK(crypto::verify(kp.public_key, crypto::as_bytes("m"), sig));
}

TEST_CASE("CurveKeyPair::from_secret derives the same public key as generate", "[crypto][keys]") {
  init();
  auto kp = crypto::CurveKeyPair::generate();
  auto derived = crypto::CurveKeyPair::from_secret(kp.secret_key);
  CHECK(derived.public_key == kp.public_key);
  CHECK(derived.secret_key == kp.secret_key);
}

TEST_CASE("generated key pairs are distinct", "[crypto][keys]") {
  init();
  CHECK(crypto::SigningKeyPair::generate().public_key !=
        crypto::SigningKeyPair::generate().public_key);
  CHECK(crypto::CurveKeyPair::generate().public_key != crypto::CurveKeyPair::generate().public_key);
  CHECK(crypto::generate_seal_key() != crypto::generate_seal_key());
}

TEST_CASE("random_bytes fills the buffer with fresh bytes", "[crypto][random]") {
  init();
  std::array<std::uint8_t, 32> a{};
  std::array<std::uint8_t, 32> b{};
  crypto::random_bytes(a);
  crypto::random_bytes(b);
  CHECK(a != b);
  CHECK(a != std::array<std::uint8_t, 32>{});
}

// ---------------------------------------------------------------------------
// Sealing

TEST_CASE("a sealed value opens with the same key and context", "[crypto][seal]") {
  init();
  auto key = crypto::generate_seal_key();
  std::string plaintext = "Fatima Al-Hassan, +961 70 000 000";
  auto sealed = crypto::seal(key, crypto::as_bytes(plaintext), crypto::as_bytes("case:7/name"));
  // nonce (24) || ciphertext || tag (16)
  CHECK(sealed.size() == 24 + plaintext.size() + 16);
  auto opened = crypto::open_sealed(key, sealed, crypto::as_bytes("case:7/name"));
  REQUIRE(opened);
  CHECK(*opened == bytes_of(plaintext));
}

TEST_CASE("sealing the same plaintext twice gives different values (fresh nonce)",
          "[crypto][seal]") {
  init();
  auto key = crypto::generate_seal_key();
  auto a = crypto::seal(key, crypto::as_bytes("same"), crypto::as_bytes("ctx"));
  auto b = crypto::seal(key, crypto::as_bytes("same"), crypto::as_bytes("ctx"));
  CHECK(a != b);
  auto oa = crypto::open_sealed(key, a, crypto::as_bytes("ctx"));
  auto ob = crypto::open_sealed(key, b, crypto::as_bytes("ctx"));
  REQUIRE(oa);
  REQUIRE(ob);
  CHECK(*oa == *ob);
}

TEST_CASE("an empty plaintext with an empty context seals and opens", "[crypto][seal]") {
  init();
  auto key = crypto::generate_seal_key();
  auto sealed = crypto::seal(key, crypto::as_bytes(""), crypto::as_bytes(""));
  CHECK(sealed.size() == 24 + 16);
  auto opened = crypto::open_sealed(key, sealed, crypto::as_bytes(""));
  REQUIRE(opened);
  CHECK(opened->empty());
}

TEST_CASE("opening fails with a different context", "[crypto][seal]") {
  init();
  auto key = crypto::generate_seal_key();
  auto sealed = crypto::seal(key, crypto::as_bytes("secret"), crypto::as_bytes("case:7/name"));
  for (std::string_view other : {"case:8/name", "case:7/phone", "", "case:7/name "}) {
    INFO("context " << other);
    auto opened = crypto::open_sealed(key, sealed, crypto::as_bytes(other));
    REQUIRE_FALSE(opened);
    CHECK(opened.error().code == crypto::ErrorCode::kAuthentication);
  }
}

TEST_CASE("opening fails when any byte of the sealed value is flipped", "[crypto][seal]") {
  init();
  auto key = crypto::generate_seal_key();
  auto sealed = crypto::seal(key, crypto::as_bytes("secret value"), crypto::as_bytes("ctx"));
  std::vector<std::size_t> accepted;
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto changed = sealed;
    changed[i] ^= 0x01;
    auto opened = crypto::open_sealed(key, changed, crypto::as_bytes("ctx"));
    if (opened || opened.error().code != crypto::ErrorCode::kAuthentication) accepted.push_back(i);
  }
  CHECK(accepted.empty());
}

TEST_CASE("opening fails with a different key", "[crypto][seal]") {
  init();
  auto key = crypto::generate_seal_key();
  auto other = crypto::generate_seal_key();
  auto sealed = crypto::seal(key, crypto::as_bytes("secret"), crypto::as_bytes("ctx"));
  auto opened = crypto::open_sealed(other, sealed, crypto::as_bytes("ctx"));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == crypto::ErrorCode::kAuthentication);
}

TEST_CASE("opening refuses a value shorter than nonce plus tag", "[crypto][seal]") {
  init();
  auto key = crypto::generate_seal_key();
  auto sealed = crypto::seal(key, crypto::as_bytes("secret"), crypto::as_bytes("ctx"));
  for (std::size_t len = 0; len < 24 + 16; ++len) {
    INFO("length " << len);
    crypto::ByteView truncated(sealed.data(), len);
    auto opened = crypto::open_sealed(key, truncated, crypto::as_bytes("ctx"));
    REQUIRE_FALSE(opened);
    CHECK(opened.error().code == crypto::ErrorCode::kFormat);
  }
  // Long enough but cut: no longer authenticates.
  crypto::ByteView cut(sealed.data(), sealed.size() - 1);
  auto opened = crypto::open_sealed(key, cut, crypto::as_bytes("ctx"));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == crypto::ErrorCode::kAuthentication);
}

// ---------------------------------------------------------------------------
// Hex

TEST_CASE("hex round-trips every byte value", "[crypto][hex]") {
  init();
  crypto::Bytes all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  auto hex = crypto::to_hex(all);
  CHECK(hex.size() == 512);
  CHECK(hex.substr(0, 8) == "00010203");
  CHECK(hex.substr(hex.size() - 4) == "feff");
  auto back = crypto::from_hex(hex);
  REQUIRE(back);
  CHECK(*back == all);
}

TEST_CASE("to_hex writes lowercase and from_hex accepts both cases", "[crypto][hex]") {
  init();
  crypto::Bytes b{0xAB, 0xCD, 0xEF, 0x09};
  CHECK(crypto::to_hex(b) == "abcdef09");
  auto upper = crypto::from_hex("ABCDEF09");
  REQUIRE(upper);
  CHECK(*upper == b);
  auto empty = crypto::from_hex("");
  REQUIRE(empty);
  CHECK(empty->empty());
  CHECK(crypto::to_hex(crypto::Bytes{}).empty());
}

TEST_CASE("from_hex refuses an odd number of digits", "[crypto][hex]") {
  init();
  for (std::string_view bad : {"0", "abc", "00112"}) {
    INFO("hex " << bad);
    auto r = crypto::from_hex(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == crypto::ErrorCode::kFormat);
  }
}

TEST_CASE("from_hex refuses non-hex characters", "[crypto][hex]") {
  init();
  for (std::string_view bad : {"0g", "g0", "zz", "0x12", " 012", "01 2", "ab-c", "é"}) {
    INFO("hex " << bad);
    auto r = crypto::from_hex(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == crypto::ErrorCode::kFormat);
  }
}

TEST_CASE("array_from_hex requires exactly N bytes", "[crypto][hex]") {
  init();
  auto ok = crypto::array_from_hex<4>("00ff10aa");
  REQUIRE(ok);
  CHECK(*ok == std::array<std::uint8_t, 4>{0x00, 0xFF, 0x10, 0xAA});
  auto short_ = crypto::array_from_hex<4>("00ff10");
  REQUIRE_FALSE(short_);
  CHECK(short_.error().code == crypto::ErrorCode::kFormat);
  auto long_ = crypto::array_from_hex<4>("00ff10aa00");
  REQUIRE_FALSE(long_);
  CHECK(long_.error().code == crypto::ErrorCode::kFormat);
  CHECK_FALSE(crypto::array_from_hex<4>("00ff10ag"));
}

// ---------------------------------------------------------------------------
// Constant-time comparison

TEST_CASE("equal_constant_time compares contents and lengths", "[crypto][compare]") {
  init();
  crypto::Bytes a{1, 2, 3, 4};
  crypto::Bytes same{1, 2, 3, 4};
  crypto::Bytes last_differs{1, 2, 3, 5};
  crypto::Bytes first_differs{0, 2, 3, 4};
  crypto::Bytes shorter{1, 2, 3};
  crypto::Bytes longer{1, 2, 3, 4, 5};
  CHECK(crypto::equal_constant_time(a, same));
  CHECK_FALSE(crypto::equal_constant_time(a, last_differs));
  CHECK_FALSE(crypto::equal_constant_time(a, first_differs));
  CHECK_FALSE(crypto::equal_constant_time(a, shorter));
  CHECK_FALSE(crypto::equal_constant_time(a, longer));
  CHECK(crypto::equal_constant_time(crypto::Bytes{}, crypto::Bytes{}));
  CHECK_FALSE(crypto::equal_constant_time(crypto::Bytes{}, a));
}

TEST_CASE("an Argon2id password hash verifies the password and nothing else",
          "[crypto][password]") {
  REQUIRE(tawasul::crypto::initialize());
  using tawasul::crypto::PasswordCost;
  auto hash = tawasul::crypto::hash_password("كلمة-سر-طويلة 2026", PasswordCost::minimal());
  REQUIRE(hash.has_value());
  CHECK(hash->starts_with("$argon2id$"));
  CHECK(tawasul::crypto::verify_password(*hash, "كلمة-سر-طويلة 2026"));
  CHECK_FALSE(tawasul::crypto::verify_password(*hash, "كلمة-سر-طويلة 2025"));
  CHECK_FALSE(tawasul::crypto::verify_password(*hash, ""));
  CHECK_FALSE(tawasul::crypto::verify_password("not a hash", "x"));
  auto again = tawasul::crypto::hash_password("كلمة-سر-طويلة 2026", PasswordCost::minimal());
  REQUIRE(again.has_value());
  CHECK(*again != *hash);  // a fresh salt each time
}

TEST_CASE("random tokens are 64 hex digits and do not repeat", "[crypto][token]") {
  REQUIRE(tawasul::crypto::initialize());
  auto a = tawasul::crypto::random_token();
  auto b = tawasul::crypto::random_token();
  CHECK(a.size() == 64);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}
