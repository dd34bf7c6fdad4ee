#include "federation/chain.hpp"

#include <cstdlib>

#include "crypto/envelope.hpp"

namespace tawasul::federation {

const crypto::SignPublicKey& signing_key_for(const EnrolledNode& node, std::uint64_t seq) {
  for (const auto& key : node.retired) {
    if (seq <= key.last_seq) return key.sign_public;
  }
  return node.sign_public;
}

std::expected<BatchPlan, StoreOutcome> plan_batch(
    const ChainHead& head, std::span<const std::string> batch,
    const std::function<std::optional<std::string_view>(std::uint64_t)>& stored) {
  using Status = StoreOutcome::Status;
  auto refuse = [&](Status status, std::string message) {
    return std::unexpected(StoreOutcome{status, head.seq, std::move(message)});
  };
  BatchPlan plan{batch.size()};
  ChainHead tip = head;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto event = crypto::decode_envelope(batch[i]);
    if (!event) std::abort();  // REQUIRES: the router decoded every envelope
    const std::uint64_t seq = event->seq;
    if (plan.first_new == batch.size()) {
      if (seq <= head.seq) {
        // A duplicate: harmless only if it is the very event already stored.
        auto existing = stored(seq);
        if (!existing || *existing != batch[i]) {
          return refuse(Status::kFork, "event " + std::to_string(seq) +
                                           " differs from the stored one: two histories");
        }
        continue;
      }
      plan.first_new = i;
    }
    if (seq != tip.seq + 1) {
      return refuse(Status::kGap, "expected event " + std::to_string(tip.seq + 1) + ", got " +
                                      std::to_string(seq));
    }
    if (event->prev_hash != tip.hash) {
      return refuse(Status::kFork,
                    "event " + std::to_string(seq) + " does not chain to the previous event");
    }
    tip.seq = seq;
    tip.hash = crypto::envelope_hash(batch[i]);
  }
  return plan;
}

}  // namespace tawasul::federation
