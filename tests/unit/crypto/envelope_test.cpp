// Unit tests for the signed event envelope (crypto/envelope.hpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/crypto.hpp"
#include "crypto/envelope.hpp"

namespace {

namespace crypto = tawasul::crypto;

void init() {
  REQUIRE(crypto::initialize());
}

crypto::Hash256 sample_hash() {
  crypto::Hash256 h{};
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>(0xA0 + i);
  return h;
}

crypto::Event sample_event() {
  crypto::Event e;
  e.origin = "BEY01";
  e.seq = 0x0102030405060708ULL;
  e.time_ms = 1'717'000'000'123ULL;
  e.prev_hash = sample_hash();
  e.kind = "case.filed";
  e.payload = R"({"case":"BEY01-7","note":"مرحبا"})";
  return e;
}

std::string flip(std::string s, std::size_t i, std::uint8_t mask) {
  s[i] = static_cast<char>(static_cast<std::uint8_t>(s[i]) ^ mask);
  return s;
}

std::string seal_ok(const crypto::Event& e, const crypto::SignSecretKey& secret) {
  auto sealed = crypto::seal_envelope(e, secret);
  REQUIRE(sealed);
  return *sealed;
}

}  // namespace

TEST_CASE("seal_envelope then decode_envelope returns every field", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto e = sample_event();
  auto bytes = seal_ok(e, kp.secret_key);

  auto d = crypto::decode_envelope(bytes);
  REQUIRE(d);
  CHECK(d->origin == e.origin);
  CHECK(d->seq == e.seq);
  CHECK(d->time_ms == e.time_ms);
  CHECK(d->prev_hash == e.prev_hash);
  CHECK(d->kind == e.kind);
  CHECK(d->payload == e.payload);
  // The decoded signature is the trailing 64 bytes and signs everything before it.
  std::string tail = bytes.substr(bytes.size() - 64);
  CHECK(std::equal(tail.begin(), tail.end(), d->signature.begin(),
                   [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; }));
  CHECK(crypto::verify(kp.public_key,
                       crypto::as_bytes(std::string_view(bytes).substr(0, bytes.size() - 64)),
                       d->signature));
}

TEST_CASE("the envelope follows the documented byte layout", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto e = sample_event();
  auto bytes = seal_ok(e, kp.secret_key);
  const std::size_t n = e.origin.size();
  const std::size_t k = e.kind.size();
  const std::size_t p = e.payload.size();
  REQUIRE(bytes.size() == 55 + n + k + p + 64);
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
  CHECK(byte(0) == crypto::kEnvelopeVersion);
  CHECK(byte(1) == n);
  CHECK(bytes.substr(2, n) == e.origin);
  // seq, big-endian
  for (std::size_t i = 0; i < 8; ++i) CHECK(byte(2 + n + i) == i + 1);
  CHECK(byte(50 + n) == k);
  CHECK(bytes.substr(51 + n, k) == e.kind);
  std::uint32_t payload_len = 0;
  for (std::size_t i = 0; i < 4; ++i) payload_len = payload_len << 8 | byte(51 + n + k + i);
  CHECK(payload_len == p);
  CHECK(bytes.substr(55 + n + k, p) == e.payload);
}

TEST_CASE("the signature field of the input event is ignored by seal_envelope", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto e = sample_event();
  auto a = seal_ok(e, kp.secret_key);
  e.signature.fill(0x55);
  auto b = seal_ok(e, kp.secret_key);
  CHECK(a == b);
}

TEST_CASE("an empty payload and boundary-length origin and kind round-trip", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  for (std::string origin :
       {std::string("AB"), std::string(16, 'Z'), std::string("0123456789ABCDEF")}) {
    for (std::string kind : {std::string("a"), std::string(64, 'x'), std::string("a.b_c.9")}) {
      INFO("origin " << origin << " kind " << kind);
      crypto::Event e;
      e.origin = origin;
      e.seq = 1;
      e.kind = kind;
      auto bytes = seal_ok(e, kp.secret_key);
      auto d = crypto::decode_envelope(bytes);
      REQUIRE(d);
      CHECK(d->origin == origin);
      CHECK(d->kind == kind);
      CHECK(d->payload.empty());
      CHECK(d->prev_hash == crypto::Hash256{});
      CHECK(crypto::verify_envelope(bytes, kp.public_key));
    }
  }
}

TEST_CASE("a payload of exactly kPayloadMax bytes seals and decodes", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto e = sample_event();
  e.payload = std::string(crypto::kPayloadMax, 'p');
  auto bytes = seal_ok(e, kp.secret_key);
  auto d = crypto::decode_envelope(bytes);
  REQUIRE(d);
  CHECK(d->payload.size() == crypto::kPayloadMax);
  CHECK(crypto::verify_envelope(bytes, kp.public_key));
}

TEST_CASE("verify_envelope accepts the signer's key and refuses another key", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto other = crypto::SigningKeyPair::generate();
  auto bytes = seal_ok(sample_event(), kp.secret_key);
  CHECK(crypto::verify_envelope(bytes, kp.public_key));
  CHECK_FALSE(crypto::verify_envelope(bytes, other.public_key));
}

TEST_CASE("verify_envelope refuses inputs no longer than a signature", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  CHECK_FALSE(crypto::verify_envelope("", kp.public_key));
  CHECK_FALSE(crypto::verify_envelope(std::string(64, '\0'), kp.public_key));
}

TEST_CASE("every single-byte flip makes decoding or verification fail", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto bytes = seal_ok(sample_event(), kp.secret_key);
  REQUIRE(crypto::decode_envelope(bytes));
  REQUIRE(crypto::verify_envelope(bytes, kp.public_key));

  std::vector<std::size_t> accepted;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
      auto changed = flip(bytes, i, mask);
      bool decodes = crypto::decode_envelope(changed).has_value();
      bool verifies = crypto::verify_envelope(changed, kp.public_key);
      if (decodes && verifies) accepted.push_back(i);
    }
  }
  INFO("positions accepted after a flip: " << accepted.size());
  CHECK(accepted.empty());
}

TEST_CASE("decoding fails on every truncation", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto bytes = seal_ok(sample_event(), kp.secret_key);
  std::vector<std::size_t> accepted;
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    auto d = crypto::decode_envelope(std::string_view(bytes).substr(0, len));
    if (d)
      accepted.push_back(len);
    else if (d.error().code != crypto::ErrorCode::kFormat)
      accepted.push_back(len);
  }
  CHECK(accepted.empty());
}

TEST_CASE("decoding refuses trailing bytes after the signature", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto bytes = seal_ok(sample_event(), kp.secret_key);
  for (std::string extra : {std::string(1, '\0'), std::string("x"), std::string(64, 'y')}) {
    auto d = crypto::decode_envelope(bytes + extra);
    REQUIRE_FALSE(d);
    CHECK(d.error().code == crypto::ErrorCode::kFormat);
    CHECK_FALSE(crypto::verify_envelope(bytes + extra, kp.public_key));
  }
}

TEST_CASE("decoding refuses an unknown version", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto bytes = seal_ok(sample_event(), kp.secret_key);
  for (char v : {'\0', '\x02', '\xFF'}) {
    auto changed = bytes;
    changed[0] = v;
    auto d = crypto::decode_envelope(changed);
    REQUIRE_FALSE(d);
    CHECK(d.error().code == crypto::ErrorCode::kFormat);
  }
}

TEST_CASE("seal_envelope refuses an invalid origin", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  for (std::string origin : {std::string("k"), std::string("K"), std::string("bey01"),
                             std::string("Bey01"), std::string(17, 'A'), std::string(""),
                             std::string("BE-01"), std::string("BE 01"), std::string("BE\0", 3)}) {
    INFO("origin '" << origin << "'");
    CHECK_FALSE(crypto::valid_origin(origin));
    auto e = sample_event();
    e.origin = origin;
    auto r = crypto::seal_envelope(e, kp.secret_key);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == crypto::ErrorCode::kFormat);
  }
}

TEST_CASE("seal_envelope refuses an invalid kind", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  for (std::string kind :
       {std::string(""), std::string(65, 'a'), std::string("Case.filed"), std::string("case-filed"),
        std::string("case filed"), std::string("case/filed")}) {
    INFO("kind '" << kind << "'");
    CHECK_FALSE(crypto::valid_kind(kind));
    auto e = sample_event();
    e.kind = kind;
    auto r = crypto::seal_envelope(e, kp.secret_key);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == crypto::ErrorCode::kFormat);
  }
}

TEST_CASE("seal_envelope refuses sequence number 0", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto e = sample_event();
  e.seq = 0;
  auto r = crypto::seal_envelope(e, kp.secret_key);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == crypto::ErrorCode::kFormat);
}

TEST_CASE("seal_envelope refuses a payload over kPayloadMax", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto e = sample_event();
  e.payload = std::string(crypto::kPayloadMax + 1, 'p');
  auto r = crypto::seal_envelope(e, kp.secret_key);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == crypto::ErrorCode::kFormat);
}

TEST_CASE("envelope_hash is BLAKE2b-256 of the whole envelope", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto bytes = seal_ok(sample_event(), kp.secret_key);
  CHECK(crypto::envelope_hash(bytes) == crypto::blake2b_256(crypto::as_bytes(bytes)));
}

TEST_CASE("envelope_hash changes when any byte changes", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  auto bytes = seal_ok(sample_event(), kp.secret_key);
  auto h = crypto::envelope_hash(bytes);
  std::vector<std::size_t> same;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (crypto::envelope_hash(flip(bytes, i, 0x01)) == h) same.push_back(i);
  }
  CHECK(same.empty());
  // Including the signature: a different key gives a different hash of the same event.
  auto other = crypto::SigningKeyPair::generate();
  CHECK(crypto::envelope_hash(seal_ok(sample_event(), other.secret_key)) != h);
}

TEST_CASE("a chained event carries the previous envelope's hash", "[envelope]") {
  init();
  auto kp = crypto::SigningKeyPair::generate();
  crypto::Event first;
  first.origin = "TYR";
  first.seq = 1;
  first.time_ms = 1;
  first.kind = "node.started";
  auto first_bytes = seal_ok(first, kp.secret_key);

  crypto::Event second = first;
  second.seq = 2;
  second.prev_hash = crypto::envelope_hash(first_bytes);
  auto second_bytes = seal_ok(second, kp.secret_key);

  auto d = crypto::decode_envelope(second_bytes);
  REQUIRE(d);
  CHECK(d->seq == 2);
  CHECK(d->prev_hash == crypto::envelope_hash(first_bytes));
}
