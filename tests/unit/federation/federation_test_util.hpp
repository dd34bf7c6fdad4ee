// Helpers shared by the federation unit tests: real signed event chains built
// with crypto::seal_envelope, in memory.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/crypto.hpp"
#include "crypto/envelope.hpp"

namespace tawasul::test::fed {

namespace crypto = tawasul::crypto;

inline void init_crypto() {
  REQUIRE(crypto::initialize());
}

// One envelope of `origin` at `seq` chained to `prev_hash`, signed by `secret`.
inline std::string make_event(const std::string& origin, std::uint64_t seq,
                              const crypto::Hash256& prev_hash, const crypto::SignSecretKey& secret,
                              const std::string& payload = "") {
  crypto::Event e;
  e.origin = origin;
  e.seq = seq;
  e.time_ms = 1'717'000'000'000ULL + seq;
  e.prev_hash = prev_hash;
  e.kind = "case.filed";
  e.payload = payload.empty() ? R"({"n":)" + std::to_string(seq) + "}" : payload;
  auto sealed = crypto::seal_envelope(e, secret);
  REQUIRE(sealed);
  return *sealed;
}

// Appends `count` events to `chain` (seq = chain.size() + 1 ...), each chained
// to the one before it (prev_hash = envelope_hash of the previous envelope).
inline void extend_chain(std::vector<std::string>& chain, const std::string& origin,
                         const crypto::SignSecretKey& secret, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    crypto::Hash256 prev{};
    if (!chain.empty()) prev = crypto::envelope_hash(chain.back());
    chain.push_back(make_event(origin, chain.size() + 1, prev, secret));
  }
}

inline std::vector<std::string> build_chain(const std::string& origin,
                                            const crypto::SignSecretKey& secret,
                                            std::size_t count) {
  std::vector<std::string> chain;
  extend_chain(chain, origin, secret, count);
  return chain;
}

// Envelopes [from_seq, to_seq] (1-based, inclusive) of a chain.
inline std::vector<std::string> slice(const std::vector<std::string>& chain, std::uint64_t from_seq,
                                      std::uint64_t to_seq) {
  return {chain.begin() + static_cast<std::ptrdiff_t>(from_seq - 1),
          chain.begin() + static_cast<std::ptrdiff_t>(to_seq)};
}

}  // namespace tawasul::test::fed
