// The national calendar the hub distributes (federation/PROTOCOL.md, "The
// national calendar"): the hub's stored, versioned and signed copy, and a
// node's checks before it stores one and computes due times with it. Real
// LMDB in a TempDir.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "federation/wire.hpp"
#include "node/calendar.hpp"
#include "node/daemon.hpp"
#include "node_test_util.hpp"
#include "test_support.hpp"

namespace {

namespace node = tawasul::node;
namespace federation = tawasul::federation;
namespace storage = tawasul::storage;
using namespace tawasul::node::testing;
using Catch::Matchers::Contains;
using node::CivilDate;
using tawasul::test::TempDir;

// The national defaults and one extra closure: Tuesday 2027-01-12.
std::string national_with_closure() {
  return std::string(node::national_calendar_text()) +
         "close 2027-01-12 \"إجازة بأمر سام\" \"Holiday by decree\"\n";
}

CivilDate date(int y, int m, int d) {
  auto c = CivilDate::make(y, m, d);
  REQUIRE(c);
  return *c;
}

node::Result<federation::SignedCalendar> publish(node::NodeStore& hub, const std::string& text,
                                                 const std::string& source = "national.conf") {
  return in_write<federation::SignedCalendar>(hub, [&](storage::WriteTxn& txn) {
    return hub.publish_national_calendar(txn, text, source);
  });
}

node::Result<std::shared_ptr<const node::WorkingCalendar>> accept(
    node::NodeStore& store, const federation::SignedCalendar& calendar,
    const tawasul::crypto::SignPublicKey& hub_key,
    const std::vector<node::WorkingCalendar::Layer>& own = {}) {
  return in_write<std::shared_ptr<const node::WorkingCalendar>>(store, [&](storage::WriteTxn& txn) {
    return store.accept_national_calendar(txn, calendar, hub_key, own);
  });
}

std::uint64_t held_version(node::NodeStore& store) {
  auto held = store.national_calendar_held();
  REQUIRE(held);
  return *held ? (*held)->version : 0;
}

struct Pair {
  TempDir dir{"natcal"};
  node::Identity hub_id;
  node::Identity node_id;
  std::unique_ptr<node::NodeStore> hub;
  std::unique_ptr<node::NodeStore> ksu;
  Pair() {
    init_crypto();
    hub_id = make_identity(dir / "hub", node::Role::kHub, "MOE");
    node_id = make_identity(dir / "ksu", node::Role::kNode, "KSU");
    hub = open_store(dir / "hub", hub_id);
    ksu = open_store(dir / "ksu", node_id);
  }
  const tawasul::crypto::SignPublicKey& hub_key() const { return hub_id.sign.public_key; }
};

}  // namespace

TEST_CASE("the hub versions and signs its national calendar, bumping only on a change",
          "[calendar][national]") {
  Pair p;
  CHECK(held_version(*p.hub) == 0);
  auto first = publish(*p.hub, national_with_closure());
  REQUIRE(first);
  CHECK(first->version == 1);
  CHECK(first->text == national_with_closure());
  CHECK(federation::verify_calendar(*first, p.hub_key()));

  // The same text at the next start: the same version and signature.
  auto again = publish(*p.hub, national_with_closure());
  REQUIRE(again);
  CHECK(again->version == 1);
  CHECK(again->signature == first->signature);

  // A changed text: the next version.
  auto changed = publish(*p.hub, std::string(node::national_calendar_text()));
  REQUIRE(changed);
  CHECK(changed->version == 2);
  CHECK(federation::verify_calendar(*changed, p.hub_key()));

  // Survives a reopen.
  p.hub.reset();
  p.hub = open_store(p.dir / "hub", p.hub_id);
  auto held = p.hub->national_calendar_held();
  REQUIRE(held);
  REQUIRE(*held);
  CHECK((*held)->version == 2);
  CHECK((*held)->text == node::national_calendar_text());
  CHECK(federation::verify_calendar(**held, p.hub_key()));
}

TEST_CASE("the hub refuses a national calendar that does not load or is too large",
          "[calendar][national]") {
  Pair p;
  REQUIRE(publish(*p.hub, national_with_closure()));
  auto bad = publish(*p.hub, "weekend fri sat\nclose 2027-02-30 \"x\" \"y\"\n", "bad.conf");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == "bad_calendar");
  CHECK_THAT(bad.error().message, Contains("bad.conf line 2"));
  auto big = publish(*p.hub, std::string(federation::kCalendarTextMax + 1, '#'));
  REQUIRE_FALSE(big);
  CHECK(big.error().code == "bad_calendar");
  auto empty = publish(*p.hub, "");
  REQUIRE_FALSE(empty);
  // Nothing changed.
  auto held = p.hub->national_calendar_held();
  REQUIRE(held);
  REQUIRE(*held);
  CHECK((*held)->version == 1);
  CHECK((*held)->text == national_with_closure());
}

TEST_CASE("a node accepts a newer national calendar signed by its hub and keeps it",
          "[calendar][national]") {
  Pair p;
  auto published = publish(*p.hub, national_with_closure());
  REQUIRE(published);
  auto calendar = accept(*p.ksu, *published, p.hub_key());
  REQUIRE(calendar);
  CHECK_FALSE((*calendar)->is_working_day(date(2027, 1, 12)));
  CHECK(node::national_calendar()->is_working_day(date(2027, 1, 12)));
  CHECK(held_version(*p.ksu) == 1);

  // Resent (same version): refused as stale, nothing changes.
  auto resent = accept(*p.ksu, *published, p.hub_key());
  REQUIRE_FALSE(resent);
  CHECK(resent.error().code == "stale");

  // After a restart the node builds its calendar from what it holds.
  p.ksu.reset();
  p.ksu = open_store(p.dir / "ksu", p.node_id);
  auto held = p.ksu->national_calendar_held();
  REQUIRE(held);
  REQUIRE(*held);
  CHECK((*held)->version == 1);
  CHECK(federation::verify_calendar(**held, p.hub_key()));
  auto in_use = node::layered_calendar(*held, "", "");
  CHECK_FALSE(in_use->is_working_day(date(2027, 1, 12)));
  // With no national calendar held: the compiled-in defaults.
  CHECK(node::layered_calendar(std::nullopt, "", "")->is_working_day(date(2027, 1, 12)));
}

TEST_CASE("a node refuses a bad national calendar, stores nothing and keeps its calendar",
          "[calendar][national]") {
  Pair p;
  auto v1 = publish(*p.hub, national_with_closure());
  REQUIRE(v1);
  REQUIRE(accept(*p.ksu, *v1, p.hub_key()));
  auto before = p.ksu->national_calendar_held();
  REQUIRE(before);
  REQUIRE(*before);
  const auto in_use = node::layered_calendar(*before, "", "");
  p.ksu->set_calendar(in_use);
  const auto& hub_secret = p.hub_id.sign.secret_key;

  auto refused = [&](const federation::SignedCalendar& c, const std::string& code,
                     const std::vector<node::WorkingCalendar::Layer>& own = {}) {
    auto r = accept(*p.ksu, c, p.hub_key(), own);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == code);
    auto held = p.ksu->national_calendar_held();
    REQUIRE(held);
    REQUIRE(*held);
    CHECK((*held)->version == 1);
    CHECK((*held)->text == (*before)->text);
    CHECK((*held)->signature == (*before)->signature);
    CHECK(p.ksu->calendar() == in_use);
    return r.error().message;
  };

  SECTION("a bad signature") {
    auto forged = federation::sign_calendar(p.node_id.sign.secret_key, 2, national_with_closure());
    refused(forged, "bad_signature");
    auto altered = federation::sign_calendar(hub_secret, 2, national_with_closure());
    altered.text += "close 2027-01-13 \"x\" \"y\"\n";
    refused(altered, "bad_signature");
  }
  SECTION("an older or the same version") {
    refused(federation::sign_calendar(hub_secret, 1, std::string(node::national_calendar_text())),
            "stale");
    refused(federation::sign_calendar(hub_secret, 0, std::string(node::national_calendar_text())),
            "stale");
  }
  SECTION("oversize or empty") {
    refused(federation::sign_calendar(hub_secret, 2,
                                      std::string(federation::kCalendarTextMax + 1, '#')),
            "bad_calendar");
    refused(federation::sign_calendar(hub_secret, 2, ""), "bad_calendar");
  }
  SECTION("a malformed calendar, validly signed") {
    auto message = refused(federation::sign_calendar(
                               hub_secret, 2, "weekend fri sat\nhijri shawal-01 x \"a\" \"b\"\n"),
                           "bad_calendar");
    CHECK_THAT(message, Contains("national calendar v2 line 2"));
  }
  SECTION("one that conflicts with the node's own layer") {
    const std::string own = "fixed 09-22 +2 local \"محلي\" \"Local\"\n";
    auto message = refused(federation::sign_calendar(hub_secret, 2, national_with_closure()),
                           "bad_calendar", {{own, "ksu.conf"}});
    CHECK_THAT(message, Contains("ksu.conf line 1"));
  }
}

TEST_CASE("a case filed with the hub's national calendar gets a due date that skips its closure",
          "[calendar][national]") {
  Pair p;
  // Sunday 2027-01-10, 10:00 Riyadh: five working days end on Sunday the 17th,
  // or Monday the 18th when Tuesday the 12th is closed.
  const std::int64_t filed_at = utc_ms(2027, 1, 10, 7);
  const auto without = node::national_calendar()->add_working_days(filed_at, 5);
  CHECK(node::riyadh_date(without) == date(2027, 1, 17));

  auto first = file_ok(*p.ksu, sample_request(), filed_at);
  auto published = publish(*p.hub, national_with_closure());
  REQUIRE(published);
  auto calendar = accept(*p.ksu, *published, p.hub_key());
  REQUIRE(calendar);
  p.ksu->set_calendar(*calendar);
  auto second = file_ok(*p.ksu, sample_request(), filed_at);

  auto due = [&](const nlohmann::json& receipt) {
    auto view = p.ksu->staff_case_view(receipt["tracking_number"].get<std::string>());
    REQUIRE(view);
    return (*view)["due_at_ms"].get<std::int64_t>();
  };
  // The case filed before keeps its promise; the new one skips the closure.
  CHECK(due(first) == without);
  CHECK(due(second) == (*calendar)->add_working_days(filed_at, 5));
  CHECK(node::riyadh_date(due(second)) == date(2027, 1, 18));
}
