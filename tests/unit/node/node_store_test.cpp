// Unit tests for the node's store (node/node_store.hpp), its identity files
// (node/identity.hpp), dates (node/time_util.hpp, node/clock.hpp) and the
// single writer (node/writer.hpp). Every test works in its own TempDir.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "crypto/envelope.hpp"
#include "federation/interfaces.hpp"
#include "node/cases.hpp"
#include "node/clock.hpp"
#include "node/identity.hpp"
#include "node/node_store.hpp"
#include "node/time_util.hpp"
#include "node/tracking.hpp"
#include "node/writer.hpp"
#include "node_test_util.hpp"
#include "test_support.hpp"

namespace {

namespace node = tawasul::node;
namespace crypto = tawasul::crypto;
namespace storage = tawasul::storage;
namespace federation = tawasul::federation;
namespace fs = std::filesystem;
using namespace tawasul::node::testing;
using nlohmann::json;
using tawasul::test::TempDir;

const std::int64_t kMarch15 = utc_ms(2026, 3, 15, 9, 0, 0);  // a Sunday, 12:00 in Riyadh

federation::EnrolledNode enrolled_of(const node::Identity& id) {
  return federation::EnrolledNode{id.code, id.curve.public_key, id.sign.public_key};
}

// A node store KSU in its own directory.
struct NodeSite {
  TempDir dir{"node"};
  node::Identity id;
  std::unique_ptr<node::NodeStore> store;
  explicit NodeSite(const std::string& code = "KSU") {
    init_crypto();
    id = make_identity(dir.path(), node::Role::kNode, code);
    store = open_store(dir.path(), id);
  }
  std::vector<std::string> events(std::uint64_t from = 1) {
    auto e = store->read_events(id.code, from, 10000, std::size_t{1} << 30);
    if (!e) FAIL("read_events failed: " << e.error().message);
    return *e;
  }
};

// The hub MOE in its own directory.
struct HubSite {
  TempDir dir{"hub"};
  node::Identity id;
  std::unique_ptr<node::NodeStore> store;
  HubSite() {
    init_crypto();
    id = make_identity(dir.path(), node::Role::kHub, "MOE");
    store = open_store(dir.path(), id);
  }
  node::Result<std::uint64_t> store_remote(const std::string& origin,
                                           const std::vector<std::string>& batch) {
    return in_write<std::uint64_t>(*store, [&](storage::WriteTxn& txn) {
      return store->store_remote(txn, origin, std::span<const std::string>(batch));
    });
  }
  std::uint64_t head(const std::string& origin) {
    auto h = store->head(origin);
    if (!h) FAIL("head failed: " << h.error().message);
    return *h;
  }
  std::uint64_t cases() {
    auto s = store->stats();
    if (!s) FAIL("stats failed: " << s.error().message);
    return s->cases;
  }
};

}  // namespace

// --------------------------------------------------------------------------
// Filing and looking up
// --------------------------------------------------------------------------

TEST_CASE("file_case returns a receipt and numbers cases in sequence", "[store]") {
  NodeSite site;
  json first = file_ok(*site.store, sample_request(), kMarch15);
  INFO(first.dump());
  CHECK(std::regex_match(first["tracking_number"].get<std::string>(),
                         std::regex(R"(^KSU-26-0000001-\d$)")));
  CHECK(first["tracking_number"] == node::make_tracking_number("KSU", 2026, 1));
  const std::string code = first["access_code"];
  CHECK(code.size() == 11);
  CHECK(std::regex_match(code, std::regex(R"(^[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}$)")));
  CHECK(first["status"] == "submitted");
  CHECK(first["submitted_at"] == "2026-03-15T09:00:00Z");
  CHECK(first["due_at"] == node::iso8601_utc(node::national_calendar()->add_working_days(
                               kMarch15, node::kAnswerWorkingDays)));

  json second = file_ok(*site.store, sample_request("طلب تعديل بيانات الطالب"), kMarch15 + 1000);
  CHECK(second["tracking_number"] == node::make_tracking_number("KSU", 2026, 2));
  CHECK(std::regex_match(second["tracking_number"].get<std::string>(),
                         std::regex(R"(^KSU-26-0000002-\d$)")));
  CHECK(second["access_code"] != first["access_code"]);

  auto numbers = site.store->tracking_numbers();
  REQUIRE(numbers.has_value());
  CHECK(*numbers == std::vector<std::string>{first["tracking_number"].get<std::string>(),
                                             second["tracking_number"].get<std::string>()});
}

TEST_CASE("lookup_case opens a case only with its access code", "[store]") {
  NodeSite site;
  const auto request = sample_request();
  json a = file_ok(*site.store, request, kMarch15);
  json b = file_ok(*site.store, sample_request("طلب تعديل بيانات الطالب"), kMarch15 + 60'000);
  const std::string ta = a["tracking_number"], ca = a["access_code"];
  const std::string tb = b["tracking_number"], cb = b["access_code"];

  SECTION("the right code shows the public view") {
    auto view = site.store->lookup_case(ta, ca);
    REQUIRE(view.has_value());
    CHECK((*view)["tracking_number"] == ta);
    CHECK((*view)["owner"] == "KSU");
    CHECK((*view)["status"] == "submitted");
    CHECK((*view)["subject"] == request.subject);
    CHECK((*view)["description"] == request.description);
    CHECK((*view)["type"] == "complaint");
    CHECK((*view)["channel"] == "portal");
    CHECK((*view)["submitted_at"] == "2026-03-15T09:00:00Z");
    CHECK((*view)["beneficiary"] == json{{"name", request.beneficiary.name}});
    CHECK((*view)["history"].size() == 1);
    const std::string dumped = view->dump();
    CHECK(dumped.find("access_hash") == std::string::npos);
    CHECK(dumped.find("_sealed") == std::string::npos);
    CHECK(dumped.find("+966501234567") == std::string::npos);
    CHECK(dumped.find("m.alotaibi@example.sa") == std::string::npos);
    CHECK(dumped.find("1012345678") == std::string::npos);
  }
  SECTION("the code may be typed in lower case without the dash") {
    std::string typed;
    for (char ch : ca) {
      if (ch != '-')
        typed.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
    auto view = site.store->lookup_case(ta, typed);
    REQUIRE(view.has_value());
    CHECK((*view)["tracking_number"] == ta);
  }
  SECTION("everything else is the same not_found") {
    auto wrong_code = site.store->lookup_case(ta, node::generate_access_code());
    auto missing_code = site.store->lookup_case(ta, "");
    auto garbage_code = site.store->lookup_case(ta, "0000-IIII");
    auto other_case_code = site.store->lookup_case(ta, cb);
    auto unknown_tracking =
        site.store->lookup_case(node::make_tracking_number("KSU", 2026, 99), ca);
    auto other_node = site.store->lookup_case(node::make_tracking_number("RUH", 2026, 1), ca);
    for (const auto* r : {&wrong_code, &missing_code, &garbage_code, &other_case_code,
                          &unknown_tracking, &other_node}) {
      REQUIRE_FALSE(r->has_value());
      CHECK(r->error().status == 404);
      CHECK(r->error().code == "not_found");
      CHECK(r->error().message == wrong_code.error().message);
      CHECK(r->error().field.empty());
    }
    // b still opens with its own code.
    CHECK(site.store->lookup_case(tb, cb).has_value());
  }
}

TEST_CASE("a copy of the store gives no cheap way to an access code", "[store][security]") {
  NodeSite site;
  json a = file_ok(*site.store, sample_request(), kMarch15);
  const std::string ta = a["tracking_number"], ca = a["access_code"];
  // What a stolen copy holds: the case's stored hash.
  auto dbi = site.store->env().dbi("cases");
  REQUIRE(dbi);
  auto txn = site.store->env().begin_read();
  REQUIRE(txn);
  auto raw = txn->find(*dbi, ta);
  REQUIRE(raw);
  const std::string stored = json::parse(*raw)["access_hash"];
  // Argon2id with a salt of its own (v2): each guess costs 8 MiB and two
  // passes, not one keyed BLAKE2b under a public constant (v1).
  CHECK(stored.starts_with("$argon2id$v=19$m=8192,t=2,p=1$"));
  const auto normalized = node::normalize_access_code(ca);
  REQUIRE(normalized);
  CHECK(stored.find(tawasul::crypto::to_hex(node::access_code_hash(ta, *normalized))) ==
        std::string::npos);
  CHECK(node::access_code_matches(stored, ta, ca));
  CHECK_FALSE(node::access_code_matches(stored, ta, node::generate_access_code()));
  // Two cases' hashes of one code differ (the salt), so no table serves both.
  const auto one = node::new_access_secret();
  const auto two = node::new_access_secret();
  CHECK(node::access_code_matches(one.hash, "", one.code));
  CHECK(node::access_code_matches(two.hash, "", two.code));
  CHECK_FALSE(node::access_code_matches(one.hash, "", two.code));
  const auto again = tawasul::crypto::hash_password(*node::normalize_access_code(one.code),
                                                    node::access_code_cost());
  REQUIRE(again);
  CHECK(*again != one.hash);
}

TEST_CASE("personal data is sealed at rest", "[store][invariant]") {
  NodeSite site;
  const std::string subject = "Scholarship payment delayed SUBJ-5d1e9a";
  auto request = sample_request(subject);
  request.beneficiary.phone = "+966551239876";
  request.beneficiary.email = "noura.q@sealed-test.example";
  request.beneficiary.national_id = "2098765431";
  json receipt = file_ok(*site.store, request, kMarch15);
  file_ok(*site.store, sample_request("Second case ok"), kMarch15 + 1);

  // The event payload itself.
  auto events = site.events();
  REQUIRE(events.size() == 2);
  auto event = crypto::decode_envelope(events[0]);
  REQUIRE(event.has_value());
  CHECK(event->kind == node::kCaseFiled);
  CHECK(event->payload.find("+966551239876") == std::string::npos);
  CHECK(event->payload.find("noura.q@sealed-test.example") == std::string::npos);
  CHECK(event->payload.find("2098765431") == std::string::npos);
  CHECK(event->payload.find(receipt["access_code"].get<std::string>()) == std::string::npos);
  CHECK(event->payload.find(subject) != std::string::npos);

  // The sealed phone opens with the node's seal key, bound to the case.
  json payload = json::parse(event->payload);
  auto sealed = crypto::from_hex(payload["beneficiary"]["phone_sealed"].get<std::string>());
  REQUIRE(sealed.has_value());
  auto opened = crypto::open_sealed(
      site.id.seal_key, *sealed,
      crypto::as_bytes(receipt["tracking_number"].get<std::string>() + "/phone"));
  REQUIRE(opened.has_value());
  CHECK(std::string(opened->begin(), opened->end()) == "+966551239876");

  // And the bytes on disk.
  site.store.reset();
  const std::string raw = read_bytes(site.dir.path() / "store" / "data.mdb");
  CHECK(raw.find(subject) != std::string::npos);
  CHECK(raw.find("+966551239876") == std::string::npos);
  CHECK(raw.find("966551239876") == std::string::npos);
  CHECK(raw.find("noura.q@sealed-test.example") == std::string::npos);
  CHECK(raw.find("noura.q") == std::string::npos);
  CHECK(raw.find("2098765431") == std::string::npos);
  const std::string code = receipt["access_code"];
  CHECK(raw.find(code) == std::string::npos);
  CHECK(raw.find(code.substr(0, 5) + code.substr(6)) == std::string::npos);
}

TEST_CASE("stats and verify on a node", "[store][verify]") {
  NodeSite site;
  auto empty = site.store->stats();
  REQUIRE(empty.has_value());
  CHECK(empty->cases == 0);
  CHECK(empty->streams.empty());
  CHECK(empty->hub_acked == 0);
  auto empty_report = site.store->verify();
  REQUIRE(empty_report.has_value());
  CHECK(empty_report->cases == 0);

  for (int i = 0; i < 3; ++i)
    file_ok(*site.store, sample_request("Case number " + std::to_string(i)), kMarch15 + i);
  REQUIRE(in_write<bool>(*site.store, [&](storage::WriteTxn& txn) -> node::Result<bool> {
            auto r = site.store->set_hub_acked(txn, 2);
            if (!r) return std::unexpected(r.error());
            return true;
          }).has_value());

  auto stats = site.store->stats();
  REQUIRE(stats.has_value());
  CHECK(stats->cases == 3);
  CHECK(stats->streams == std::map<std::string, std::uint64_t>{{"KSU", 3}});
  CHECK(stats->hub_acked == 2);
  auto head = site.store->head("KSU");
  REQUIRE(head.has_value());
  CHECK(*head == 3);
  auto none = site.store->head("RUH");
  REQUIRE(none.has_value());
  CHECK(*none == 0);

  auto report = site.store->verify();
  REQUIRE(report.has_value());
  CHECK(report->cases == 3);
  CHECK(report->streams == std::map<std::string, std::uint64_t>{{"KSU", 3}});
}

TEST_CASE("read_events respects its limits", "[store]") {
  NodeSite site;
  for (int i = 0; i < 5; ++i)
    file_ok(*site.store, sample_request("Case number " + std::to_string(i)), kMarch15 + i);
  auto all = site.store->read_events("KSU", 1, 100, 1 << 20);
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 5);
  for (std::size_t i = 0; i < all->size(); ++i) {
    auto e = crypto::decode_envelope((*all)[i]);
    REQUIRE(e.has_value());
    CHECK(e->seq == i + 1);
    CHECK(e->origin == "KSU");
    CHECK(crypto::verify_envelope((*all)[i], site.id.sign.public_key));
  }
  auto two = site.store->read_events("KSU", 2, 2, 1 << 20);
  REQUIRE(two.has_value());
  REQUIRE(two->size() == 2);
  CHECK((*two)[0] == (*all)[1]);
  CHECK((*two)[1] == (*all)[2]);
  // At least one event even when it alone exceeds max_bytes.
  auto tiny = site.store->read_events("KSU", 1, 100, 1);
  REQUIRE(tiny.has_value());
  CHECK(tiny->size() == 1);
  auto past = site.store->read_events("KSU", 6, 100, 1 << 20);
  REQUIRE(past.has_value());
  CHECK(past->empty());
}

TEST_CASE("a hub cannot file cases", "[store][hub]") {
  HubSite hub;
  auto r = file(*hub.store, sample_request(), kMarch15);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().status == 405);
  CHECK(hub.cases() == 0);
}

// --------------------------------------------------------------------------
// The hub: enrolment
// --------------------------------------------------------------------------

TEST_CASE("the hub enrols node keys and finds them by CURVE key and code", "[store][hub][enroll]") {
  HubSite hub;
  NodeSite ksu("KSU");
  NodeSite ruh("RUH");

  REQUIRE(hub.store->enroll(enrolled_of(ksu.id), false, kMarch15).has_value());
  REQUIRE(hub.store->enroll(enrolled_of(ruh.id), false, kMarch15).has_value());

  auto by_key = hub.store->by_curve_key(ksu.id.curve.public_key);
  REQUIRE(by_key.has_value());
  CHECK(by_key->code == "KSU");
  CHECK(by_key->sign_public == ksu.id.sign.public_key);
  CHECK(by_key->curve_public == ksu.id.curve.public_key);
  auto by_code = hub.store->by_code("RUH");
  REQUIRE(by_code.has_value());
  CHECK(by_code->curve_public == ruh.id.curve.public_key);
  CHECK(by_code->sign_public == ruh.id.sign.public_key);

  CHECK_FALSE(hub.store->by_code("JED").has_value());
  CHECK_FALSE(hub.store->by_curve_key(crypto::CurveKeyPair::generate().public_key).has_value());

  SECTION("re-enrolling the same keys is harmless") {
    CHECK(hub.store->enroll(enrolled_of(ksu.id), false, kMarch15 + 1).has_value());
    CHECK(hub.store->by_curve_key(ksu.id.curve.public_key)->code == "KSU");
  }
  SECTION("another code with the same CURVE key is refused") {
    federation::EnrolledNode twin{"JED", ksu.id.curve.public_key,
                                  crypto::SigningKeyPair::generate().public_key};
    auto r = hub.store->enroll(twin, false, kMarch15);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().status == 409);
    CHECK(r.error().code == "key_in_use");
    auto r2 = hub.store->enroll(twin, true, kMarch15);  // not even with replace
    REQUIRE_FALSE(r2.has_value());
    CHECK(r2.error().code == "key_in_use");
    CHECK_FALSE(hub.store->by_code("JED").has_value());
    CHECK(hub.store->by_curve_key(ksu.id.curve.public_key)->code == "KSU");
  }
  SECTION("the same code with other keys is refused unless replace") {
    federation::EnrolledNode rotated{"KSU", crypto::CurveKeyPair::generate().public_key,
                                     crypto::SigningKeyPair::generate().public_key};
    auto r = hub.store->enroll(rotated, false, kMarch15);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().status == 409);
    CHECK(r.error().code == "already_enrolled");
    CHECK(hub.store->by_code("KSU")->sign_public == ksu.id.sign.public_key);
    CHECK(hub.store->by_curve_key(ksu.id.curve.public_key).has_value());

    // Only the signing key differs: still refused.
    federation::EnrolledNode new_sign{"KSU", ksu.id.curve.public_key,
                                      crypto::SigningKeyPair::generate().public_key};
    auto r_sign = hub.store->enroll(new_sign, false, kMarch15);
    REQUIRE_FALSE(r_sign.has_value());
    CHECK(r_sign.error().code == "already_enrolled");

    REQUIRE(hub.store->enroll(rotated, true, kMarch15).has_value());
    auto now = hub.store->by_code("KSU");
    REQUIRE(now.has_value());
    CHECK(now->curve_public == rotated.curve_public);
    CHECK(now->sign_public == rotated.sign_public);
    CHECK(hub.store->by_curve_key(rotated.curve_public)->code == "KSU");
    // The old CURVE key no longer opens the door.
    CHECK_FALSE(hub.store->by_curve_key(ksu.id.curve.public_key).has_value());
  }
  SECTION("invalid codes and the hub's own code are refused") {
    federation::EnrolledNode lower{"ksu2", crypto::CurveKeyPair::generate().public_key,
                                   crypto::SigningKeyPair::generate().public_key};
    auto r = hub.store->enroll(lower, false, kMarch15);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == "invalid_code");
    federation::EnrolledNode own{"MOE", crypto::CurveKeyPair::generate().public_key,
                                 crypto::SigningKeyPair::generate().public_key};
    auto r2 = hub.store->enroll(own, false, kMarch15);
    REQUIRE_FALSE(r2.has_value());
    CHECK(r2.error().code == "own_code");
  }
}

// --------------------------------------------------------------------------
// The hub: replication
// --------------------------------------------------------------------------

TEST_CASE("the hub stores a node's events and folds them into the same cases",
          "[store][hub][replication]") {
  NodeSite ksu;
  HubSite hub;
  REQUIRE(hub.store->enroll(enrolled_of(ksu.id), false, kMarch15).has_value());

  json r1 = file_ok(*ksu.store, sample_request("First case for replication"), kMarch15);
  json r2 = file_ok(*ksu.store, sample_request("Second case for replication"), kMarch15 + 1000);
  auto events = ksu.events();
  REQUIRE(events.size() == 2);

  auto stored = hub.store_remote("KSU", events);
  REQUIRE(stored.has_value());
  CHECK(*stored == 2);
  CHECK(hub.head("KSU") == 2);
  CHECK(hub.cases() == 2);

  // The same access codes open the same views at the hub.
  for (const json* r : {&r1, &r2}) {
    auto at_hub = hub.store->lookup_case((*r)["tracking_number"].get<std::string>(),
                                         (*r)["access_code"].get<std::string>());
    auto at_node = ksu.store->lookup_case((*r)["tracking_number"].get<std::string>(),
                                          (*r)["access_code"].get<std::string>());
    REQUIRE(at_hub.has_value());
    REQUIRE(at_node.has_value());
    CHECK(*at_hub == *at_node);
    CHECK((*at_hub)["owner"] == "KSU");
  }
  CHECK_FALSE(hub.store
                  ->lookup_case(r1["tracking_number"].get<std::string>(),
                                r2["access_code"].get<std::string>())
                  .has_value());

  SECTION("replaying is idempotent") {
    auto again = hub.store_remote("KSU", events);
    REQUIRE(again.has_value());
    CHECK(*again == 2);
    CHECK(hub.head("KSU") == 2);
    CHECK(hub.cases() == 2);
    auto first_only = hub.store_remote("KSU", {events[0]});
    REQUIRE(first_only.has_value());
    CHECK(*first_only == 2);
    CHECK(hub.cases() == 2);
  }
  SECTION("an overlapping batch appends only the new events") {
    file_ok(*ksu.store, sample_request("Third case for replication"), kMarch15 + 2000);
    auto all = ksu.events();
    REQUIRE(all.size() == 3);
    auto overlap = hub.store_remote("KSU", {all[1], all[2]});
    REQUIRE(overlap.has_value());
    CHECK(*overlap == 3);
    CHECK(hub.cases() == 3);
  }
  SECTION("a gap is refused and changes nothing") {
    file_ok(*ksu.store, sample_request("Third case for replication"), kMarch15 + 2000);
    file_ok(*ksu.store, sample_request("Fourth case for replication"), kMarch15 + 3000);
    auto all = ksu.events();
    REQUIRE(all.size() == 4);
    auto gap = hub.store_remote("KSU", {all[3]});
    REQUIRE_FALSE(gap.has_value());
    CHECK(gap.error().code == "gap");
    CHECK(gap.error().status == 409);
    CHECK(hub.head("KSU") == 2);
    CHECK(hub.cases() == 2);
    // A batch with a hole in the middle is refused whole.
    auto holed = hub.store_remote("KSU", {all[2], all[3], all[3]});
    REQUIRE_FALSE(holed.has_value());
    CHECK(hub.head("KSU") == 2);
    auto ok = hub.store_remote("KSU", {all[2], all[3]});
    REQUIRE(ok.has_value());
    CHECK(*ok == 4);
    CHECK(hub.cases() == 4);
  }
  SECTION("another history of the same origin is a fork") {
    NodeSite impostor("KSU");
    file_ok(*impostor.store, sample_request("Not the real first case"), kMarch15);
    auto other = impostor.events();
    auto fork = hub.store_remote("KSU", other);
    REQUIRE_FALSE(fork.has_value());
    CHECK(fork.error().code == "fork");
    CHECK(hub.head("KSU") == 2);
    CHECK(hub.cases() == 2);
  }
  SECTION("events cannot be stored under the hub's own code") {
    auto own = hub.store_remote("MOE", events);
    REQUIRE_FALSE(own.has_value());
    CHECK(own.error().code == "wrong_origin");
  }
  SECTION("verify on the hub checks the node's chain with its enrolled key") {
    auto report = hub.store->verify();
    REQUIRE(report.has_value());
    CHECK(report->cases == 2);
    CHECK(report->streams == std::map<std::string, std::uint64_t>{{"KSU", 2}});
    auto stats = hub.store->stats();
    REQUIRE(stats.has_value());
    CHECK(stats->streams == std::map<std::string, std::uint64_t>{{"KSU", 2}});
  }
}

TEST_CASE("a node cannot file a case under another node's tracking number at the hub",
          "[store][hub][replication]") {
  // Tracking numbers are unique across the federation because codes are: the
  // code in a case's tracking number must be its owner's. Otherwise one
  // enrolled node could take another's tracking numbers at the hub and block
  // that node's genuine events for good ("case filed twice").
  NodeSite ksu("KSU");
  NodeSite ruh("RUH");
  HubSite hub;
  REQUIRE(hub.store->enroll(enrolled_of(ksu.id), false, kMarch15).has_value());
  REQUIRE(hub.store->enroll(enrolled_of(ruh.id), false, kMarch15).has_value());

  json genuine = file_ok(*ruh.store, sample_request("Genuine RUH case"), kMarch15);
  const std::string victim = genuine["tracking_number"];
  REQUIRE(victim.starts_with("RUH-"));

  const std::string forged_code = node::generate_access_code();
  const auto normalized = node::normalize_access_code(forged_code);
  REQUIRE(normalized.has_value());
  json forged = node::case_filed_payload(
      sample_request("Squatted case"), victim,
      tawasul::crypto::to_hex(node::access_code_hash(victim, *normalized)), kMarch15,
      node::national_calendar()->add_working_days(kMarch15, node::kAnswerWorkingDays),
      ksu.id.seal_key);

  // KSU's own store refuses to file under RUH's number...
  auto local = in_write<std::uint64_t>(*ksu.store, [&](storage::WriteTxn& txn) {
    return ksu.store->append_local(txn, node::kCaseFiled, forged, kMarch15);
  });
  CHECK_FALSE(local.has_value());
  // ...so a rogue KSU signs the event by hand, as the first of its chain.
  crypto::Event event;
  event.origin = "KSU";
  event.seq = 1;
  event.time_ms = static_cast<std::uint64_t>(kMarch15);
  event.kind = node::kCaseFiled;
  event.payload = forged.dump();
  auto envelope = crypto::seal_envelope(event, ksu.id.sign.secret_key);
  REQUIRE(envelope.has_value());
  auto squat = hub.store_remote("KSU", {*envelope});
  CHECK_FALSE(squat.has_value());  // refused: KSU does not own RUH's numbers

  // Whatever became of KSU's event, RUH's genuine case replicates and is RUH's.
  auto stored = hub.store_remote("RUH", ruh.events());
  INFO((stored ? std::string("stored") : stored.error().code + ": " + stored.error().message));
  REQUIRE(stored.has_value());
  CHECK(*stored == 1);
  auto view = hub.store->lookup_case(victim, genuine["access_code"].get<std::string>());
  REQUIRE(view.has_value());
  CHECK((*view)["owner"] == "RUH");
  CHECK((*view)["subject"] == "Genuine RUH case");
  CHECK_FALSE(hub.store->lookup_case(victim, forged_code).has_value());
}

TEST_CASE("a flipped byte inside a stored event fails verify, naming stream and event",
          "[store][verify]") {
  init_crypto();
  TempDir dir("tamper");
  const std::string subject = "Unique tamper marker subject QX7Z";
  {
    auto id = make_identity(dir.path(), node::Role::kNode, "KSU");
    auto store = open_store(dir.path(), id);
    file_ok(*store, sample_request(subject), kMarch15);
    auto report = store->verify();
    REQUIRE(report.has_value());
    CHECK(report->cases == 1);
  }  // closed

  const fs::path data = dir.path() / "store" / "data.mdb";
  std::string raw = read_bytes(data);
  // The subject is held twice: in the event (inside the signed envelope, after
  // its kind "case.filed") and in the case view (which has a "history"). Flip
  // a byte only in the event's copy.
  std::size_t flipped = 0;
  for (auto at = raw.find(subject); at != std::string::npos; at = raw.find(subject, at + 1)) {
    auto kind = raw.rfind("case.filed", at);
    if (kind == std::string::npos) continue;
    if (raw.substr(kind, at - kind).find("\"history\"") != std::string::npos) continue;  // the view
    raw[at + 8] = static_cast<char>(raw[at + 8] ^ 0x01);  // "tamper" -> "tam`er"-like change
    ++flipped;
  }
  REQUIRE(flipped >= 1);
  write_bytes(data, raw);

  auto id = node::load_identity(dir.path());
  REQUIRE(id.has_value());
  auto store = open_store(dir.path(), *id);
  auto report = store->verify();
  REQUIRE_FALSE(report.has_value());
  INFO(report.error().message);
  CHECK_THAT(report.error().message, Catch::Contains("stream KSU") && Catch::Contains("event 1"));
  CHECK_THAT(report.error().message, Catch::Contains("signature"));
}

// --------------------------------------------------------------------------
// Identity files
// --------------------------------------------------------------------------

TEST_CASE("identity files: created 0600, loaded, never replaced", "[identity]") {
  init_crypto();
  TempDir dir("identity");
  const fs::path data = dir.path() / "data";
  auto created = node::create_identity(data, node::Role::kNode, "KSU");
  REQUIRE(created.has_value());
  CHECK(fs::exists(data / node::kIdentityPubFile));
  struct stat st {};
  REQUIRE(::stat((data / node::kIdentityKeyFile).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto loaded = node::load_identity(data);
  REQUIRE(loaded.has_value());
  CHECK(loaded->code == "KSU");
  CHECK(loaded->role == node::Role::kNode);
  CHECK(loaded->sign.public_key == created->sign.public_key);
  CHECK(loaded->sign.secret_key == created->sign.secret_key);
  CHECK(loaded->curve.public_key == created->curve.public_key);
  CHECK(loaded->seal_key == created->seal_key);

  auto pub = json::parse(read_bytes(data / node::kIdentityPubFile));
  CHECK(pub == node::public_identity(*created));
  CHECK(pub["code"] == "KSU");
  CHECK(pub["role"] == "node");
  CHECK(pub["sign_public"] == crypto::to_hex(created->sign.public_key));
  const std::string key_text = read_bytes(data / node::kIdentityKeyFile);
  CHECK(read_bytes(data / node::kIdentityPubFile).find(crypto::to_hex(created->seal_key)) ==
        std::string::npos);
  CHECK(key_text.find(crypto::to_hex(created->seal_key)) != std::string::npos);

  SECTION("create_identity refuses to overwrite") {
    auto again = node::create_identity(data, node::Role::kNode, "KSU");
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().status == 409);
    CHECK(again.error().code == "exists");
    auto other_role = node::create_identity(data, node::Role::kHub, "MOE");
    REQUIRE_FALSE(other_role.has_value());
    CHECK(read_bytes(data / node::kIdentityKeyFile) == key_text);
    auto still = node::load_identity(data);
    REQUIRE(still.has_value());
    CHECK(still->sign.public_key == created->sign.public_key);
  }
  SECTION("load_identity refuses a key file others can read") {
    fs::permissions(data / node::kIdentityKeyFile, fs::perms(0644), fs::perm_options::replace);
    auto refused = node::load_identity(data);
    REQUIRE_FALSE(refused.has_value());
    CHECK_FALSE(refused.error().message.empty());
    fs::permissions(data / node::kIdentityKeyFile, fs::perms(0640), fs::perm_options::replace);
    CHECK_FALSE(node::load_identity(data).has_value());
    fs::permissions(data / node::kIdentityKeyFile, fs::perms(0600), fs::perm_options::replace);
    CHECK(node::load_identity(data).has_value());
  }
  SECTION("a hub identity round-trips its role") {
    auto hub = node::create_identity(dir.path() / "hub", node::Role::kHub, "MOE");
    REQUIRE(hub.has_value());
    auto hub_loaded = node::load_identity(dir.path() / "hub");
    REQUIRE(hub_loaded.has_value());
    CHECK(hub_loaded->role == node::Role::kHub);
    CHECK(node::role_name(hub_loaded->role) == "hub");
  }
  SECTION("invalid codes and missing directories are refused") {
    auto bad = node::create_identity(dir.path() / "bad", node::Role::kNode, "ksu");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == "invalid_code");
    CHECK_FALSE(node::create_identity(dir.path() / "bad2", node::Role::kNode, "K").has_value());
    CHECK_FALSE(node::create_identity(dir.path() / "bad3", node::Role::kNode, "KSU-1").has_value());
    CHECK_FALSE(node::load_identity(dir.path() / "nothing-here").has_value());
  }
}

// --------------------------------------------------------------------------
// Time: the Riyadh year and working days
// --------------------------------------------------------------------------

TEST_CASE("the tracking number's year is the year in Riyadh", "[store][time]") {
  NodeSite site;
  node::FakeClock clock(utc_ms(2026, 12, 31, 20, 59, 59));  // 23:59:59 on 31 December in Riyadh
  CHECK(node::riyadh_year(clock.now_ms()) == 2026);
  json last_of_2026 = file_ok(*site.store, sample_request(), clock.now_ms());
  CHECK(last_of_2026["tracking_number"] == node::make_tracking_number("KSU", 2026, 1));

  clock.set(utc_ms(2026, 12, 31, 22, 0, 0));  // 01:00 on 1 January 2027 in Riyadh
  CHECK(node::riyadh_year(clock.now_ms()) == 2027);
  json first_of_2027 = file_ok(*site.store, sample_request(), clock.now_ms());
  CHECK(std::regex_match(first_of_2027["tracking_number"].get<std::string>(),
                         std::regex(R"(^KSU-27-0000001-\d$)")));
  CHECK(first_of_2027["submitted_at"] == "2026-12-31T22:00:00Z");

  clock.advance(60'000);
  json second_of_2027 = file_ok(*site.store, sample_request(), clock.now_ms());
  CHECK(second_of_2027["tracking_number"] == node::make_tracking_number("KSU", 2027, 2));

  // Both years' cases open.
  CHECK(site.store
            ->lookup_case(last_of_2026["tracking_number"].get<std::string>(),
                          last_of_2026["access_code"].get<std::string>())
            .has_value());
  CHECK(site.store
            ->lookup_case(first_of_2027["tracking_number"].get<std::string>(),
                          first_of_2027["access_code"].get<std::string>())
            .has_value());
}

TEST_CASE("riyadh_year and iso8601_utc", "[time]") {
  CHECK(node::riyadh_year(utc_ms(2026, 12, 31, 20, 59, 59)) == 2026);
  CHECK(node::riyadh_year(utc_ms(2026, 12, 31, 21, 0, 0)) == 2027);
  CHECK(node::riyadh_year(utc_ms(2026, 6, 1)) == 2026);
  CHECK(node::iso8601_utc(utc_ms(2026, 11, 28, 11, 42, 58)) == "2026-11-28T11:42:58Z");
  CHECK(node::iso8601_utc(utc_ms(2026, 11, 28, 11, 42, 58) + 999) == "2026-11-28T11:42:58Z");
  CHECK(node::iso8601_utc(0) == "1970-01-01T00:00:00Z");
}

TEST_CASE("a case is due at the close of the fifth working day after filing, in both calendars",
          "[store][time][calendar]") {
  NodeSite site;
  // Thursday 1 January 2026, 12:00 in Riyadh: Sun 4 … Thu 8 are the five days,
  // due at the close of work (15:00 Riyadh) on Thursday 8 January.
  json receipt = file_ok(*site.store, sample_request(), utc_ms(2026, 1, 1, 9, 0, 0));
  CHECK(receipt["submitted_at"] == "2026-01-01T09:00:00Z");
  CHECK(receipt["due_at"] == "2026-01-08T12:00:00Z");
  CHECK(receipt["due_at_hijri"]["date"] == "1447-07-19");
  auto view = site.store->lookup_case(receipt["tracking_number"].get<std::string>(),
                                      receipt["access_code"].get<std::string>());
  REQUIRE(view.has_value());
  CHECK((*view)["due_at"] == "2026-01-08T12:00:00Z");
  CHECK((*view)["due_at_hijri"]["date"] == "1447-07-19");
  CHECK((*view)["submitted_at_hijri"]["date"] == "1447-07-12");
  CHECK((*view)["history"][0].contains("at_hijri"));

  // Filed the Sunday before Eid al-Fitr 1448 (29 Ramadan = Monday 8 March 2027,
  // a seven-day holiday): the five days start on Monday 15 March.
  json eid = file_ok(*site.store, sample_request(), utc_ms(2027, 3, 7, 7, 0, 0));
  CHECK(eid["due_at"] == "2027-03-21T12:00:00Z");

  // The SLA promised at filing is in the event, so a later calendar never
  // moves it: close two extra days at this node and file again.
  auto layered = node::WorkingCalendar::load(
      {{node::national_calendar_text(), "national"},
       {"close 2026-01-04 2026-01-05 \"إغلاق\" \"Closure\"\n", "node"}});
  REQUIRE(layered);
  site.store->set_calendar(*layered);
  json later = file_ok(*site.store, sample_request(), utc_ms(2026, 1, 1, 9, 0, 0));
  CHECK(later["due_at"] == "2026-01-12T12:00:00Z");  // Tue 6 … Sun 11, Mon 12
  auto first_again = site.store->lookup_case(receipt["tracking_number"].get<std::string>(),
                                             receipt["access_code"].get<std::string>());
  CHECK((*first_again)["due_at"] == "2026-01-08T12:00:00Z");
}

TEST_CASE("asking the beneficiary stops the SLA clock — their reply restarts it with what was left",
          "[store][time][calendar]") {
  NodeSite site;
  // Filed Thursday 1 January 2026, 12:00 Riyadh: due Thursday 8 January, 15:00.
  json receipt = file_ok(*site.store, sample_request(), utc_ms(2026, 1, 1, 9, 0, 0));
  const std::string tn = receipt["tracking_number"];
  auto act = [&](node::CaseAction a, const json& fields, std::int64_t at,
                 const std::string& by = "emp") {
    return in_write<json>(*site.store, [&](storage::WriteTxn& txn) {
      return site.store->act_on_case(txn, tn, a, by, fields, at);
    });
  };
  REQUIRE(act(node::CaseAction::kAssign, json{{"unit", "KSU.SA"}}, utc_ms(2026, 1, 1, 9)));
  REQUIRE(act(node::CaseAction::kStart, json{{"assignee", "emp"}}, utc_ms(2026, 1, 1, 9)));

  // A field no action carries is refused and writes nothing.
  const auto head = site.store->head("KSU").value();
  auto smuggled = act(node::CaseAction::kRequestInfo, json{{"question", "؟"}, {"due_at_ms", 1}},
                      utc_ms(2026, 1, 4, 7));
  REQUIRE_FALSE(smuggled);
  CHECK(smuggled.error().code == "unknown_field");
  CHECK(smuggled.error().field == "due_at_ms");
  CHECK(site.store->head("KSU").value() == head);

  // Sunday 4 January, 10:00: 33 working hours are left (5 + 7 + 7 + 7 + 7).
  auto asked = act(node::CaseAction::kRequestInfo, json{{"question", "ما رقمك الجامعي؟"}},
                   utc_ms(2026, 1, 4, 7));
  REQUIRE(asked);
  REQUIRE((*asked).contains("sla_paused"));
  CHECK((*asked)["sla_paused"]["since"] == "2026-01-04T07:00:00Z");
  CHECK((*asked)["sla_paused"]["reason_label"]["ar"].get<std::string>().find("بانتظار ردك") !=
        std::string::npos);
  auto staff = site.store->staff_case_view(tn);
  CHECK((*staff)["sla_paused"]["remaining_ms"] == 33LL * 3600 * 1000);

  // The reply comes a week later, Sunday 11 January 09:00: the 33 hours run
  // from then — 6 on Sunday, 7 on Monday to Wednesday, 6 on Thursday.
  auto replied = in_write<json>(*site.store, [&](storage::WriteTxn& txn) {
    return site.store->act_on_case(txn, tn, node::CaseAction::kProvideInfo, "beneficiary",
                                   json{{"reply", "441234567"}}, utc_ms(2026, 1, 11, 6));
  });
  REQUIRE(replied);
  CHECK_FALSE((*replied).contains("sla_paused"));
  CHECK((*replied)["due_at"] == "2026-01-15T11:00:00Z");

  // The hub folds the same due time from the events alone.
  HubSite hub;
  REQUIRE(hub.store->enroll(enrolled_of(site.id), false, kMarch15));
  auto stored = in_write<std::uint64_t>(*hub.store, [&](storage::WriteTxn& txn) {
    return hub.store->store_remote(txn, "KSU", site.events());
  });
  REQUIRE(stored);
  CHECK((*hub.store->staff_case_view(tn))["due_at"] == "2026-01-15T11:00:00Z");
}

// --------------------------------------------------------------------------
// The writer
// --------------------------------------------------------------------------

TEST_CASE("the writer commits commands from many threads in groups", "[concurrency][writer]") {
  NodeSite site;
  node::Writer writer(site.store->env());
  writer.start();

  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  constexpr int kTotal = kThreads * kPerThread;
  std::mutex mutex;
  std::vector<std::optional<node::Result<json>>> results(kTotal);
  std::atomic<int> answered{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int slot = t * kPerThread + i;
        const auto request = sample_request("Concurrent case " + std::to_string(slot));
        writer.submit(
            [&site, request](storage::WriteTxn& txn) {
              return site.store->file_case(txn, request, kMarch15);
            },
            [&, slot](node::Result<json> r) {
              std::lock_guard lock(mutex);
              results[static_cast<std::size_t>(slot)] = std::move(r);
              answered.fetch_add(1);
            });
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(tawasul::test::wait_until([&] { return answered.load() == kTotal; },
                                    std::chrono::seconds(60)));

  std::set<std::string> tracking;
  {
    std::lock_guard lock(mutex);
    for (int i = 0; i < kTotal; ++i) {
      const auto& r = results[static_cast<std::size_t>(i)];
      REQUIRE(r.has_value());
      REQUIRE(r->has_value());
      tracking.insert((**r)["tracking_number"].get<std::string>());
      auto view = site.store->lookup_case((**r)["tracking_number"].get<std::string>(),
                                          (**r)["access_code"].get<std::string>());
      REQUIRE(view.has_value());
      CHECK((*view)["subject"] == "Concurrent case " + std::to_string(i));
    }
  }
  CHECK(tracking.size() == kTotal);
  const auto batches = writer.batches_committed();
  CHECK(batches >= 1);
  CHECK(batches <= kTotal);

  auto stats = site.store->stats();
  REQUIRE(stats.has_value());
  CHECK(stats->cases == kTotal);
  CHECK(stats->streams.at("KSU") == kTotal);
  auto numbers = site.store->tracking_numbers();
  REQUIRE(numbers.has_value());
  CHECK(numbers->size() == kTotal);
  CHECK(std::set<std::string>(numbers->begin(), numbers->end()) == tracking);
  // Sequences 1..200 were each handed out once.
  for (int seq = 1; seq <= kTotal; ++seq) {
    CHECK(tracking.count(
              node::make_tracking_number("KSU", 2026, static_cast<std::uint64_t>(seq))) == 1);
  }
  writer.stop();
  CHECK(site.store->verify().has_value());
}

TEST_CASE("a failing command rolls back alone and the rest of its batch commits",
          "[concurrency][writer]") {
  NodeSite site;
  auto dbi = site.store->env().dbi("writer_test");
  REQUIRE(dbi.has_value());
  node::Writer writer(site.store->env());
  writer.start();

  // Hold the writer inside a first command so the next three queue up and
  // are taken together as one batch.
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<node::Result<json>> blocker_done;
  writer.submit(
      [&](storage::WriteTxn&) -> node::Result<json> {
        started.set_value();
        released.wait();
        return json("blocker");
      },
      [&](node::Result<json> r) { blocker_done.set_value(std::move(r)); });
  started.get_future().wait();
  const auto batches_before = writer.batches_committed();

  auto put_command = [&](std::string key, bool fail) {
    return [&, key, fail](storage::WriteTxn& txn) -> node::Result<json> {
      if (auto r = txn.put(*dbi, key, "value of " + key); !r)
        return std::unexpected(node::from_storage(r.error()));
      if (fail)
        return std::unexpected(
            node::Error::bad_request("refused_on_purpose", "this command fails"));
      return json(key);
    };
  };
  std::promise<node::Result<json>> good1, bad, good2;
  writer.submit(put_command("good-1", false),
                [&](node::Result<json> r) { good1.set_value(std::move(r)); });
  writer.submit(put_command("bad", true),
                [&](node::Result<json> r) { bad.set_value(std::move(r)); });
  writer.submit(put_command("good-2", false),
                [&](node::Result<json> r) { good2.set_value(std::move(r)); });
  release.set_value();

  auto blocker_result = blocker_done.get_future().get();
  auto good1_result = good1.get_future().get();
  auto bad_result = bad.get_future().get();
  auto good2_result = good2.get_future().get();

  REQUIRE(blocker_result.has_value());
  REQUIRE(good1_result.has_value());
  CHECK(*good1_result == "good-1");
  REQUIRE(good2_result.has_value());
  CHECK(*good2_result == "good-2");
  REQUIRE_FALSE(bad_result.has_value());
  CHECK(bad_result.error().status == 400);
  CHECK(bad_result.error().code == "refused_on_purpose");
  // The blocker's batch, then one batch of the three.
  CHECK(writer.batches_committed() == batches_before + 2);

  auto txn = site.store->env().begin_read();
  REQUIRE(txn.has_value());
  CHECK(txn->find(*dbi, "good-1") == std::optional<std::string_view>("value of good-1"));
  CHECK(txn->find(*dbi, "good-2") == std::optional<std::string_view>("value of good-2"));
  CHECK_FALSE(txn->find(*dbi, "bad").has_value());
}

TEST_CASE("a failing file_case in a batch leaves no trace", "[concurrency][writer]") {
  NodeSite site;
  node::Writer writer(site.store->env());
  writer.start();
  auto ok = writer.execute([&](storage::WriteTxn& txn) {
    return site.store->file_case(txn, sample_request(), kMarch15);
  });
  REQUIRE(ok.has_value());
  // Files a case, then fails: the case, its sequence number and its event roll back.
  auto failed = writer.execute([&](storage::WriteTxn& txn) -> node::Result<json> {
    auto r = site.store->file_case(txn, sample_request("Rolled back case"), kMarch15);
    if (!r) return r;
    return std::unexpected(node::Error::conflict("changed_mind", "after filing"));
  });
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().code == "changed_mind");
  auto next = writer.execute([&](storage::WriteTxn& txn) {
    return site.store->file_case(txn, sample_request(), kMarch15);
  });
  REQUIRE(next.has_value());
  CHECK((*next)["tracking_number"] == node::make_tracking_number("KSU", 2026, 2));
  writer.stop();
  auto stats = site.store->stats();
  REQUIRE(stats.has_value());
  CHECK(stats->cases == 2);
  CHECK(stats->streams.at("KSU") == 2);
  CHECK(site.store->verify().has_value());
}

TEST_CASE("stop() finishes queued commands, then submit answers 503 at once",
          "[concurrency][writer]") {
  NodeSite site;
  node::Writer writer(site.store->env());
  writer.start();

  constexpr int kQueued = 50;
  std::atomic<int> succeeded{0};
  std::atomic<int> answered{0};
  for (int i = 0; i < kQueued; ++i) {
    writer.submit(
        [&site, i](storage::WriteTxn& txn) {
          return site.store->file_case(
              txn, sample_request("Queued before stop " + std::to_string(i)), kMarch15);
        },
        [&](node::Result<json> r) {
          if (r) succeeded.fetch_add(1);
          answered.fetch_add(1);
        });
  }
  writer.stop();
  CHECK(answered.load() == kQueued);
  CHECK(succeeded.load() == kQueued);

  bool called = false;
  std::optional<node::Result<json>> outcome;
  bool ran = false;
  writer.submit(
      [&](storage::WriteTxn&) -> node::Result<json> {
        ran = true;
        return json(nullptr);
      },
      [&](node::Result<json> r) {
        called = true;
        outcome = std::move(r);
      });
  // Answered before submit returned, on this thread.
  REQUIRE(called);
  REQUIRE(outcome.has_value());
  REQUIRE_FALSE(outcome->has_value());
  CHECK(outcome->error().status == 503);
  CHECK(outcome->error().code == "overloaded");
  CHECK_FALSE(ran);

  auto executed = writer.execute([](storage::WriteTxn&) -> node::Result<json> { return json(1); });
  REQUIRE_FALSE(executed.has_value());
  CHECK(executed.error().status == 503);

  auto stats = site.store->stats();
  REQUIRE(stats.has_value());
  CHECK(stats->cases == kQueued);
}

TEST_CASE("a writer that was never started refuses at once", "[concurrency][writer]") {
  NodeSite site;
  node::Writer writer(site.store->env());
  auto r = writer.execute([](storage::WriteTxn&) -> node::Result<json> { return json(1); });
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().status == 503);
  CHECK(writer.batches_committed() == 0);
}

TEST_CASE("a full queue answers 503 overloaded", "[concurrency][writer]") {
  NodeSite site;
  node::Writer writer(site.store->env(), 1024, 2);
  writer.start();
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> answered{0};
  writer.submit(
      [&](storage::WriteTxn&) -> node::Result<json> {
        started.set_value();
        released.wait();
        return json(0);
      },
      [&](node::Result<json>) { answered.fetch_add(1); });
  started.get_future().wait();  // the blocker left the queue
  int accepted_ok = 0;
  for (int i = 0; i < 2; ++i) {
    writer.submit([](storage::WriteTxn&) -> node::Result<json> { return json(1); },
                  [&](node::Result<json> r) {
                    if (r) ++accepted_ok;  // writer thread, read after stop()
                    answered.fetch_add(1);
                  });
  }
  std::optional<node::Result<json>> third;
  writer.submit([](storage::WriteTxn&) -> node::Result<json> { return json(1); },
                [&](node::Result<json> r) { third = std::move(r); });
  REQUIRE(third.has_value());
  REQUIRE_FALSE(third->has_value());
  CHECK(third->error().status == 503);
  CHECK(third->error().code == "overloaded");
  release.set_value();
  writer.stop();
  CHECK(answered.load() == 3);
  CHECK(accepted_ok == 2);
}

TEST_CASE("after a node's signing key is rotated at the hub, its earlier events still verify",
          "[store][hub][enroll]") {
  NodeSite ksu("KSU");
  HubSite hub;
  REQUIRE(hub.store->enroll(enrolled_of(ksu.id), false, kMarch15).has_value());
  file_ok(*ksu.store, sample_request("Before the rotation"), kMarch15);
  file_ok(*ksu.store, sample_request("Also before the rotation"), kMarch15 + 1000);
  REQUIRE(hub.store_remote("KSU", ksu.events()).has_value());
  REQUIRE(hub.store->verify().has_value());

  federation::EnrolledNode rotated = enrolled_of(ksu.id);
  rotated.sign_public = crypto::SigningKeyPair::generate().public_key;
  rotated.curve_public = crypto::CurveKeyPair::generate().public_key;
  CHECK_FALSE(hub.store->enroll(rotated, false, kMarch15).has_value());  // not without --replace
  REQUIRE(hub.store->enroll(rotated, true, kMarch15).has_value());
  auto report = hub.store->verify();
  INFO((report ? std::string("ok") : report.error().message));
  REQUIRE(report.has_value());
  CHECK(report->streams.at("KSU") == 2);
  CHECK(hub.store->by_code("KSU")->sign_public == rotated.sign_public);
}

// --------------------------------------------------------------------------
// What the hub's fold refuses (storage/FORMAT.md, "Event kinds")
// --------------------------------------------------------------------------

namespace {

// KSU's first event, of `kind` with `payload`, signed by hand by its key: what
// a rogue or newer node could send.
std::string signed_first_event(const NodeSite& site, const std::string& kind, const json& payload) {
  crypto::Event event;
  event.origin = site.id.code;
  event.seq = 1;
  event.time_ms = static_cast<std::uint64_t>(kMarch15);
  event.kind = kind;
  event.payload = payload.dump();
  auto envelope = crypto::seal_envelope(event, site.id.sign.secret_key);
  REQUIRE(envelope.has_value());
  return *envelope;
}

}  // namespace

TEST_CASE("the hub checks a replicated filing by the API's rules and refuses a bad one whole",
          "[store][hub][replication]") {
  NodeSite ksu("KSU");
  HubSite hub;
  REQUIRE(hub.store->enroll(enrolled_of(ksu.id), false, kMarch15).has_value());
  json genuine = file_ok(*ksu.store, sample_request("A genuine case"), kMarch15);
  auto filed = crypto::decode_envelope(ksu.events()[0]);
  REQUIRE(filed.has_value());
  json payload = json::parse(filed->payload);

  SECTION("a string where the API takes true or false") {
    payload["confidential"] = "yes";
  }
  SECTION("a subject the API would refuse as too short") {
    payload["subject"] = "x";
  }
  SECTION("an unknown contact preference") {
    payload["contact_preference"] = 7;
  }
  SECTION("a beneficiary name that is no text") {
    payload["beneficiary"]["name"] = json::array({1, 2});
  }
  auto refused = hub.store_remote("KSU", {signed_first_event(ksu, node::kCaseFiled, payload)});
  REQUIRE_FALSE(refused.has_value());
  INFO(refused.error().message);
  CHECK(refused.error().code == "refused");
  CHECK(refused.error().message.find("malformed_event") != std::string::npos);
  CHECK(hub.head("KSU") == 0);
  CHECK(hub.cases() == 0);
  // The genuine event is then taken as ever.
  REQUIRE(hub.store_remote("KSU", ksu.events()).has_value());
  CHECK(hub.cases() == 1);
}

TEST_CASE("an event of a kind the hub does not know is refused as unsupported, nothing stored",
          "[store][hub][replication]") {
  NodeSite ksu("KSU");
  HubSite hub;
  REQUIRE(hub.store->enroll(enrolled_of(ksu.id), false, kMarch15).has_value());
  const std::string kind = GENERATE(std::string("case.reopened"), std::string("node.started"));
  INFO("kind " << kind);
  auto refused = hub.store_remote(
      "KSU", {signed_first_event(ksu, kind, json{{"tracking_number", "KSU-26-0000001-0"}})});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == "unsupported");
  CHECK(hub.head("KSU") == 0);
  REQUIRE(hub.store->verify().has_value());
}

TEST_CASE("after rotate_signing_key the backlog signed by the old key and the new events verify",
          "[store][hub][enroll][rotation]") {
  // KSU signs events 1..2 with key A; the hub has none of them yet.
  auto ksu = std::make_unique<NodeSite>("KSU");
  HubSite hub;
  REQUIRE(hub.store->enroll(enrolled_of(ksu->id), false, kMarch15).has_value());
  file_ok(*ksu->store, sample_request("Signed with key A"), kMarch15);
  file_ok(*ksu->store, sample_request("Also signed with A"), kMarch15 + 1000);
  const auto key_a = ksu->id.sign.public_key;

  // Stopped, rotated to key B (as `tawasul rotate-key` does), restarted.
  ksu->store.reset();
  auto rotated = node::rotate_signing_key(ksu->dir.path(), ksu->id, 2);
  REQUIRE(rotated.has_value());
  CHECK(rotated->sign.public_key != key_a);
  REQUIRE(rotated->retired_sign.size() == 1);
  CHECK(rotated->retired_sign[0].last_seq == 2);
  auto reloaded = node::load_identity(ksu->dir.path());
  REQUIRE(reloaded.has_value());
  CHECK(reloaded->sign.public_key == rotated->sign.public_key);
  REQUIRE(reloaded->retired_sign.size() == 1);
  CHECK(reloaded->retired_sign[0].sign_public == key_a);
  ksu->id = *reloaded;
  ksu->store = open_store(ksu->dir.path(), ksu->id);
  file_ok(*ksu->store, sample_request("Signed with key B"), kMarch15 + 2000);
  REQUIRE(ksu->store->verify().has_value());  // the node's own chain, both keys

  // The hub re-enrols KSU from its identity.pub, then gets 1..3.
  auto pub = node::public_identity(ksu->id);
  auto history = node::parse_retired_keys(pub["retired_sign_keys"]);
  REQUIRE(history.has_value());
  federation::EnrolledNode enrolled = enrolled_of(ksu->id);
  enrolled.retired = *history;
  REQUIRE(hub.store->enroll(enrolled, true, kMarch15).has_value());
  auto directory_entry = hub.store->by_code("KSU");
  REQUIRE(directory_entry.has_value());
  const auto events = ksu->events();
  REQUIRE(events.size() == 3);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    INFO("event " << seq);
    CHECK(crypto::verify_envelope(events[seq - 1],
                                  federation::signing_key_for(*directory_entry, seq)));
  }
  REQUIRE(hub.store_remote("KSU", events).has_value());
  auto report = hub.store->verify();
  INFO((report ? std::string("ok") : report.error().message));
  REQUIRE(report.has_value());
  CHECK(report->streams.at("KSU") == 3);
}

TEST_CASE("expired sessions are removed when sessions are opened", "[store][sessions]") {
  NodeSite site;
  auto sessions = site.store->env().dbi("sessions");
  REQUIRE(sessions);
  auto count = [&] {
    std::size_t n = 0;
    auto txn = site.store->env().begin_read();
    REQUIRE(txn);
    REQUIRE(txn->scan(*sessions, "", [&](std::string_view, std::string_view) {
      ++n;
      return true;
    }));
    return n;
  };
  auto open = [&](const std::string& token, std::int64_t now) {
    auto r = in_write<json>(*site.store, [&](storage::WriteTxn& txn) -> node::Result<json> {
      if (auto o = site.store->staff().open_session(txn, "staff-7", token, now); !o)
        return std::unexpected(o.error());
      return json{};
    });
    REQUIRE(r);
  };
  for (int i = 0; i < 10; ++i) open("old-" + std::to_string(i), kMarch15);
  CHECK(count() == 10);
  // Within their lifetime they stay; once expired, the next opening removes them.
  open("fresh-1", kMarch15 + node::kSessionLifetimeMs - 1);
  CHECK(count() == 11);
  open("fresh-2", kMarch15 + node::kSessionLifetimeMs + 1);
  CHECK(count() == 2);  // fresh-1 and fresh-2
}
