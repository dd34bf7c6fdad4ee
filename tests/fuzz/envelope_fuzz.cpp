// The signed event envelope decoder (crypto/include/crypto/envelope.hpp),
// which the hub runs on every event an enrolled node sends: decode_envelope.
// Contract: nothing throws; a refusal carries a message; an accepted
// envelope has a valid origin and kind, and sealing the decoded event again
// gives the same bytes up to the signature (nothing was skipped or added);
// a signature made by another key never verifies.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>

#include "crypto/crypto.hpp"
#include "crypto/envelope.hpp"
#include "fuzz_util.hpp"

namespace crypto = tawasul::crypto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = crypto::initialize();
  FUZZ_CHECK(ready);
  static const crypto::SigningKeyPair key = crypto::SigningKeyPair::generate();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto event = crypto::decode_envelope(bytes);
  if (!event) {
    FUZZ_CHECK(!event.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(crypto::valid_origin(event->origin) && crypto::valid_kind(event->kind));
  FUZZ_CHECK(event->seq > 0 && event->payload.size() <= crypto::kPayloadMax);
  auto sealed = crypto::seal_envelope(*event, key.secret_key);
  FUZZ_CHECK(sealed.has_value());
  FUZZ_CHECK(sealed->size() == bytes.size());
  const std::size_t unsigned_size = bytes.size() - std::tuple_size_v<crypto::Signature>;
  FUZZ_CHECK(sealed->compare(0, unsigned_size, bytes.substr(0, unsigned_size)) == 0);
  FUZZ_CHECK(crypto::verify_envelope(*sealed, key.public_key));
  if (*sealed != bytes) FUZZ_CHECK(!crypto::verify_envelope(bytes, key.public_key));
  return 0;
}
