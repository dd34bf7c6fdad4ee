// Unit tests for the chain rules (federation/chain.hpp): plan_batch, in memory,
// over a real chain of signed envelopes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.hpp"
#include "crypto/envelope.hpp"
#include "federation/chain.hpp"
#include "federation_test_util.hpp"

namespace {

namespace crypto = tawasul::crypto;
namespace federation = tawasul::federation;
namespace fed = tawasul::test::fed;
using Status = federation::StoreOutcome::Status;

// What the hub holds of one origin: the first `head` events of `chain`.
struct Stored {
  Stored(const std::vector<std::string>& c, std::uint64_t h) : chain(c), head(h) {}
  const std::vector<std::string>& chain;
  std::uint64_t head = 0;
  mutable std::vector<std::uint64_t> asked;  // every seq plan_batch looked up

  federation::ChainHead chain_head() const {
    federation::ChainHead h;
    h.seq = head;
    if (head > 0) h.hash = crypto::envelope_hash(chain[head - 1]);
    return h;
  }

  std::function<std::optional<std::string_view>(std::uint64_t)> lookup() const {
    return [this](std::uint64_t seq) -> std::optional<std::string_view> {
      asked.push_back(seq);
      if (seq == 0 || seq > head) return std::nullopt;
      return std::string_view(chain[seq - 1]);
    };
  }

  auto plan(const std::vector<std::string>& batch) const {
    return federation::plan_batch(chain_head(), batch, lookup());
  }
};

struct Fixture {
  crypto::SigningKeyPair key;
  std::vector<std::string> chain;
  Fixture() {
    fed::init_crypto();
    key = crypto::SigningKeyPair::generate();
    chain = fed::build_chain("KSU", key.secret_key, 8);
  }
};

}  // namespace

TEST_CASE("plan_batch: an empty head accepts events 1..k, all of them new", "[chain]") {
  Fixture f;
  Stored stored{f.chain, 0};
  for (std::uint64_t k : {1u, 3u, 8u}) {
    auto batch = fed::slice(f.chain, 1, k);
    auto plan = stored.plan(batch);
    REQUIRE(plan);
    CHECK(plan->first_new == 0);
  }
  CHECK(stored.asked.empty());  // nothing at or below head 0 to compare
}

TEST_CASE("plan_batch: a head at 3 accepts the batch 4..6", "[chain]") {
  Fixture f;
  Stored stored{f.chain, 3};
  auto plan = stored.plan(fed::slice(f.chain, 4, 6));
  REQUIRE(plan);
  CHECK(plan->first_new == 0);
  CHECK(stored.asked.empty());
}

TEST_CASE("plan_batch: a batch of identical duplicates plans nothing new", "[chain]") {
  Fixture f;
  Stored stored{f.chain, 3};
  SECTION("the whole stored chain") {
    auto batch = fed::slice(f.chain, 1, 3);
    auto plan = stored.plan(batch);
    REQUIRE(plan);
    CHECK(plan->first_new == batch.size());
    CHECK(stored.asked == std::vector<std::uint64_t>{1, 2, 3});
  }
  SECTION("a part of it") {
    auto batch = fed::slice(f.chain, 2, 3);
    auto plan = stored.plan(batch);
    REQUIRE(plan);
    CHECK(plan->first_new == batch.size());
  }
}

TEST_CASE("plan_batch: an overlapping batch 2..5 over head 3 starts appending at seq 4",
          "[chain]") {
  Fixture f;
  Stored stored{f.chain, 3};
  auto batch = fed::slice(f.chain, 2, 5);
  auto plan = stored.plan(batch);
  REQUIRE(plan);
  REQUIRE(plan->first_new == 2);
  auto event = crypto::decode_envelope(batch[plan->first_new]);
  REQUIRE(event);
  CHECK(event->seq == 4);
  CHECK(stored.asked == std::vector<std::uint64_t>{2, 3});
}

TEST_CASE("plan_batch: a duplicate whose bytes differ from the stored event is a fork", "[chain]") {
  Fixture f;
  Stored stored{f.chain, 3};

  SECTION("same seq and prev_hash, another payload") {
    auto other2 = fed::make_event("KSU", 2, crypto::envelope_hash(f.chain[0]), f.key.secret_key,
                                  R"({"other":"history"})");
    REQUIRE(other2 != f.chain[1]);
    std::vector<std::string> batch{f.chain[0], other2, f.chain[2], f.chain[3]};
    auto plan = stored.plan(batch);
    REQUIRE_FALSE(plan);
    CHECK(plan.error().status == Status::kFork);
    CHECK(plan.error().cursor == 3);
    CHECK_FALSE(plan.error().message.empty());
  }
  SECTION("the very same fields signed by another key") {
    auto other_key = crypto::SigningKeyPair::generate();
    auto decoded = crypto::decode_envelope(f.chain[2]);
    REQUIRE(decoded);
    auto resigned = crypto::seal_envelope(*decoded, other_key.secret_key);
    REQUIRE(resigned);
    REQUIRE(*resigned != f.chain[2]);
    auto plan = stored.plan({*resigned});
    REQUIRE_FALSE(plan);
    CHECK(plan.error().status == Status::kFork);
    CHECK(plan.error().cursor == 3);
  }
  SECTION("a stored event that cannot be read is not taken as identical") {
    Stored amnesiac{f.chain, 3};
    auto forgetful = [&](std::uint64_t) -> std::optional<std::string_view> { return std::nullopt; };
    auto plan = federation::plan_batch(amnesiac.chain_head(), fed::slice(f.chain, 3, 4), forgetful);
    REQUIRE_FALSE(plan);
    CHECK(plan.error().status == Status::kFork);
  }
}

TEST_CASE("plan_batch: a batch starting at head + 2 is a gap, cursor at the head", "[chain]") {
  Fixture f;
  SECTION("head 3, batch 5..6") {
    Stored stored{f.chain, 3};
    auto plan = stored.plan(fed::slice(f.chain, 5, 6));
    REQUIRE_FALSE(plan);
    CHECK(plan.error().status == Status::kGap);
    CHECK(plan.error().cursor == 3);
    CHECK_FALSE(plan.error().message.empty());
  }
  SECTION("empty head, batch 2..3") {
    Stored stored{f.chain, 0};
    auto plan = stored.plan(fed::slice(f.chain, 2, 3));
    REQUIRE_FALSE(plan);
    CHECK(plan.error().status == Status::kGap);
    CHECK(plan.error().cursor == 0);
  }
  SECTION("duplicates followed by a jump past the head") {
    Stored stored{f.chain, 3};
    std::vector<std::string> batch{f.chain[1], f.chain[2], f.chain[4]};  // 2, 3, 5
    auto plan = stored.plan(batch);
    REQUIRE_FALSE(plan);
    CHECK(plan.error().status == Status::kGap);
    CHECK(plan.error().cursor == 3);
  }
}

TEST_CASE("plan_batch: the right seq with the wrong prev_hash is a fork", "[chain]") {
  Fixture f;
  Stored stored{f.chain, 3};
  SECTION("the first new event does not chain to the stored head") {
    crypto::Hash256 wrong = crypto::envelope_hash(f.chain[1]);  // the hash of 2, not of 3
    auto bad4 = fed::make_event("KSU", 4, wrong, f.key.secret_key);
    auto plan = stored.plan({bad4});
    REQUIRE_FALSE(plan);
    CHECK(plan.error().status == Status::kFork);
    CHECK(plan.error().cursor == 3);
  }
  SECTION("a later event of the batch does not chain to the one before it") {
    auto bad5 = fed::make_event("KSU", 5, crypto::Hash256{}, f.key.secret_key);
    auto plan = stored.plan({f.chain[3], bad5});
    REQUIRE_FALSE(plan);
    CHECK(plan.error().status == Status::kFork);
    CHECK(plan.error().cursor == 3);
  }
  SECTION("a first event with a non-zero prev_hash") {
    Stored empty{f.chain, 0};
    auto bad1 = fed::make_event("KSU", 1, crypto::envelope_hash(f.chain[0]), f.key.secret_key);
    auto plan = empty.plan({bad1});
    REQUIRE_FALSE(plan);
    CHECK(plan.error().status == Status::kFork);
    CHECK(plan.error().cursor == 0);
  }
  SECTION("a new event of another history chained to its own predecessor") {
    // 4' chains to a 3' of another history, not to the stored 3.
    auto other3 = fed::make_event("KSU", 3, crypto::envelope_hash(f.chain[1]), f.key.secret_key,
                                  R"({"fork":3})");
    auto other4 = fed::make_event("KSU", 4, crypto::envelope_hash(other3), f.key.secret_key);
    auto plan = stored.plan({other4});
    REQUIRE_FALSE(plan);
    CHECK(plan.error().status == Status::kFork);
  }
}

TEST_CASE("plan_batch: a batch with a hole in the middle is a gap", "[chain]") {
  Fixture f;
  Stored stored{f.chain, 3};
  std::vector<std::string> batch{f.chain[3], f.chain[5]};  // 4, 6
  auto plan = stored.plan(batch);
  REQUIRE_FALSE(plan);
  CHECK(plan.error().status == Status::kGap);
  CHECK(plan.error().cursor == 3);
}

TEST_CASE("plan_batch: an event repeated inside a new batch is refused", "[chain]") {
  Fixture f;
  Stored stored{f.chain, 3};
  std::vector<std::string> batch{f.chain[3], f.chain[3]};  // 4, 4
  auto plan = stored.plan(batch);
  REQUIRE_FALSE(plan);
  CHECK(plan.error().status == Status::kGap);
  CHECK(plan.error().cursor == 3);
}
