// Chain rules: what a batch of events does to the stored chain of its origin.
// A pure function, so the sink can run it inside its own transaction and the
// rules can be tested without sockets or storage.
#pragma once

#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "crypto/crypto.hpp"
#include "federation/interfaces.hpp"

namespace tawasul::federation {

struct ChainHead {
  std::uint64_t seq = 0;
  crypto::Hash256 hash{};  // envelope_hash of event `seq`; zeros when seq == 0
};

struct BatchPlan {
  // Index in the batch of the first event to append; batch.size() when every
  // event is a duplicate of one already stored.
  std::size_t first_new = 0;
};

// REQUIRES: every envelope in `batch` decodes (the router checked it).
// `stored(seq)` returns the stored envelope of the origin at `seq` (seq <= head.seq).
// Refusals come back as a StoreOutcome with status kGap or kFork and the
// cursor left at head.seq.
std::expected<BatchPlan, StoreOutcome> plan_batch(
    const ChainHead& head, std::span<const std::string> batch,
    const std::function<std::optional<std::string_view>(std::uint64_t)>& stored);

}  // namespace tawasul::federation
