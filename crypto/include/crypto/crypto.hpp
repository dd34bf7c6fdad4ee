// tawasul::crypto — thin, typed wrappers over libsodium.
//
// What it owns: key types and their generation, Ed25519 signatures, BLAKE2b
// hashing, authenticated sealing of small secrets (personal data at rest),
// random bytes, hex, and secret files on disk with mode 0600.
// It knows nothing of cases, nodes or the wire.
//
// Thread rules: every function is safe to call from any thread once
// `initialize()` has returned true (libsodium's own rule).
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tawasul::crypto {

enum class ErrorCode { kSodium, kIo, kPermissions, kFormat, kAuthentication };

struct Error {
  ErrorCode code;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline constexpr std::size_t kHashBytes = 32;
using Hash256 = std::array<std::uint8_t, kHashBytes>;
using SignPublicKey = std::array<std::uint8_t, 32>;
using SignSecretKey = std::array<std::uint8_t, 64>;
using Signature = std::array<std::uint8_t, 64>;
using CurvePublicKey = std::array<std::uint8_t, 32>;
using CurveSecretKey = std::array<std::uint8_t, 32>;
using SealKey = std::array<std::uint8_t, 32>;

// Must be called once before anything else; returns false if libsodium cannot start.
bool initialize();

ByteView as_bytes(std::string_view s);

// BLAKE2b with a 256-bit digest.
Hash256 blake2b_256(ByteView data);
// Keyed BLAKE2b-256 (a MAC / blind index); key must be 16..64 bytes.
Hash256 blake2b_256_keyed(ByteView key, ByteView data);

// An Ed25519 key pair; the secret key embeds the public key.
struct SigningKeyPair {
  SignPublicKey public_key{};
  SignSecretKey secret_key{};
  static SigningKeyPair generate();
  static SigningKeyPair from_secret(const SignSecretKey& secret);
};

// An X25519 key pair, which is exactly what CurveZMQ uses.
struct CurveKeyPair {
  CurvePublicKey public_key{};
  CurveSecretKey secret_key{};
  static CurveKeyPair generate();
  static CurveKeyPair from_secret(const CurveSecretKey& secret);
};

Signature sign(const SignSecretKey& secret, ByteView message);
bool verify(const SignPublicKey& public_key, ByteView message, const Signature& signature);

void random_bytes(std::span<std::uint8_t> out);
SealKey generate_seal_key();

// XChaCha20-Poly1305: returns nonce (24 bytes) || ciphertext || tag.
// `context` is authenticated but not stored (bind a sealed value to its owner and field).
Bytes seal(const SealKey& key, ByteView plaintext, ByteView context);
// Fails with kAuthentication if the value was altered or the context differs.
Result<Bytes> open_sealed(const SealKey& key, ByteView sealed, ByteView context);

// Argon2id work factors. `interactive` is libsodium's interactive level (about
// 64 MiB and a tenth of a second); `minimal` is for tests only.
struct PasswordCost {
  unsigned long long opslimit;
  std::size_t memlimit;
  static PasswordCost interactive();
  static PasswordCost minimal();
};
// An Argon2id hash in libsodium's self-describing string form (salt included).
Result<std::string> hash_password(std::string_view password,
                                  PasswordCost cost = PasswordCost::interactive());
// True when `password` matches `hash` (constant time in the hash comparison).
bool verify_password(std::string_view hash, std::string_view password);

// 32 random bytes as 64 hex digits: a bearer token or a session id.
std::string random_token();

std::string to_hex(ByteView bytes);
Result<Bytes> from_hex(std::string_view hex);
// Parses exactly N bytes of hex into an array.
template <std::size_t N>
Result<std::array<std::uint8_t, N>> array_from_hex(std::string_view hex) {
  auto bytes = from_hex(hex);
  if (!bytes) return std::unexpected(bytes.error());
  if (bytes->size() != N) {
    return std::unexpected(Error{
        ErrorCode::kFormat,
        "expected " + std::to_string(N) + " bytes of hex, got " + std::to_string(bytes->size())});
  }
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

bool equal_constant_time(ByteView a, ByteView b);

}  // namespace tawasul::crypto
