#include "crypto/crypto.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

namespace tawasul::crypto {

bool initialize() {
  return sodium_init() >= 0;
}

ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Hash256 blake2b_256(ByteView data) {
  Hash256 out{};
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

Hash256 blake2b_256_keyed(ByteView key, ByteView data) {
  // Key lengths outside libsodium's range are a programming error, not input.
  if (key.size() < crypto_generichash_KEYBYTES_MIN ||
      key.size() > crypto_generichash_KEYBYTES_MAX) {
    std::abort();
  }
  Hash256 out{};
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), key.data(), key.size());
  return out;
}

SigningKeyPair SigningKeyPair::generate() {
  SigningKeyPair kp;
  crypto_sign_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

SigningKeyPair SigningKeyPair::from_secret(const SignSecretKey& secret) {
  SigningKeyPair kp;
  kp.secret_key = secret;
  crypto_sign_ed25519_sk_to_pk(kp.public_key.data(), secret.data());
  return kp;
}

CurveKeyPair CurveKeyPair::generate() {
  CurveKeyPair kp;
  crypto_box_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

CurveKeyPair CurveKeyPair::from_secret(const CurveSecretKey& secret) {
  CurveKeyPair kp;
  kp.secret_key = secret;
  crypto_scalarmult_base(kp.public_key.data(), secret.data());
  return kp;
}

Signature sign(const SignSecretKey& secret, ByteView message) {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret.data());
  return sig;
}

bool verify(const SignPublicKey& public_key, ByteView message, const Signature& signature) {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

void random_bytes(std::span<std::uint8_t> out) {
  randombytes_buf(out.data(), out.size());
}

SealKey generate_seal_key() {
  SealKey key{};
  crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
  return key;
}

Bytes seal(const SealKey& key, ByteView plaintext, ByteView context) {
  constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  Bytes out(kNonce + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  randombytes_buf(out.data(), kNonce);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kNonce, &written, plaintext.data(),
                                             plaintext.size(), context.data(), context.size(),
                                             nullptr, out.data(), key.data());
  out.resize(kNonce + written);
  return out;
}

Result<Bytes> open_sealed(const SealKey& key, ByteView sealed, ByteView context) {
  constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < kNonce + kTag) {
    return std::unexpected(Error{ErrorCode::kFormat, "sealed value too short"});
  }
  Bytes out(sealed.size() - kNonce - kTag);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.data(), &written, nullptr, sealed.data() + kNonce, sealed.size() - kNonce,
          context.data(), context.size(), sealed.data(), key.data()) != 0) {
    return std::unexpected(Error{ErrorCode::kAuthentication, "sealed value does not authenticate"});
  }
  out.resize(written);
  return out;
}

PasswordCost PasswordCost::interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

PasswordCost PasswordCost::minimal() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

Result<std::string> hash_password(std::string_view password, PasswordCost cost) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), cost.opslimit, cost.memlimit) != 0) {
    return std::unexpected(Error{ErrorCode::kSodium, "cannot hash the password (out of memory?)"});
  }
  return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string terminated(hash);  // libsodium reads a C string
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

std::string random_token() {
  std::array<std::uint8_t, 32> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  return to_hex(bytes);
}

std::string to_hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

Result<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return std::unexpected(Error{ErrorCode::kFormat, "hex has an odd number of digits"});
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::unexpected(Error{ErrorCode::kFormat, "not a hex digit at " + std::to_string(i)});
    }
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

bool equal_constant_time(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tawasul::crypto
