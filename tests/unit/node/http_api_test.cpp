// Tests of the node's HTTP API (node/http_api.hpp): a real HttpApi on
// 127.0.0.1 (any free port) over a real NodeStore and Writer in a TempDir,
// with a FakeClock, talked to with httplib::Client.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/cases.hpp"
#include "node/clock.hpp"
#include "node/http_api.hpp"
#include "node/identity.hpp"
#include "node/node_store.hpp"
#include "node/time_util.hpp"
#include "node/tracking.hpp"
#include "node/writer.hpp"
#include "node_test_util.hpp"
#include "test_support.hpp"

namespace {

namespace node = tawasul::node;
using namespace tawasul::node::testing;
using nlohmann::json;
using tawasul::test::TempDir;

constexpr const char* kCases = "/api/v1/cases";

struct Snapshot {
  std::uint64_t cases = 0;
  std::uint64_t head = 0;
  bool operator==(const Snapshot&) const = default;
};

// A node (or hub) serving HTTP for one test.
struct Server {
  TempDir dir{"http"};
  node::FakeClock clock{utc_ms(2026, 1, 1, 9, 0, 0)};  // a Thursday
  node::Identity id;
  std::unique_ptr<node::NodeStore> store;
  std::unique_ptr<node::Writer> writer;
  std::unique_ptr<node::HttpApi> api;
  int port = 0;

  explicit Server(node::Role role = node::Role::kNode, const std::string& code = "KSU") {
    init_crypto();
    id = make_identity(dir.path(), role, code);
    store = open_store(dir.path(), id);
    writer = std::make_unique<node::Writer>(store->env());
    writer->start();
    api = std::make_unique<node::HttpApi>(*store, *writer, clock, nullptr);
    node::HttpOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 4;
    auto bound = api->bind(options);
    if (!bound) FAIL("bind failed: " << bound.error().message);
    port = *bound;
    REQUIRE(port > 0);
    api->start();
    const bool up = tawasul::test::wait_until([&] {
      httplib::Client c("127.0.0.1", port);
      auto r = c.Get("/api/v1/health");
      return r && r->status == 200;
    });
    REQUIRE(up);
  }
  ~Server() {
    api->stop();
    writer->stop();
  }

  Snapshot snapshot() {
    auto s = store->stats();
    if (!s) FAIL("stats failed: " << s.error().message);
    auto it = s->streams.find(id.code);
    return Snapshot{s->cases, it == s->streams.end() ? 0 : it->second};
  }
};

json body_of(const httplib::Result& r) {
  REQUIRE(r);
  INFO("body: " << r->body);
  CHECK_THAT(r->get_header_value("Content-Type"), Catch::StartsWith("application/json"));
  json j = json::parse(r->body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

// Expects the error shape {"error": {"code", "message", "field"?}}.
void require_error(const httplib::Result& r, int status, const std::string& code,
                   const std::string& field = "") {
  REQUIRE(r);
  INFO("status " << r->status << ", body: " << r->body);
  CHECK(r->status == status);
  json j = body_of(r);
  REQUIRE(j.is_object());
  REQUIRE(j.contains("error"));
  CHECK(j["error"]["code"] == code);
  CHECK(j["error"]["message"].is_string());
  CHECK_FALSE(j["error"]["message"].get<std::string>().empty());
  if (field.empty()) {
    CHECK_FALSE(j["error"].contains("field"));
  } else {
    CHECK(j["error"]["field"] == field);
  }
}

httplib::Result post_json(httplib::Client& c, const std::string& body) {
  return c.Post(kCases, body, "application/json");
}

std::string case_path(const std::string& tracking) {
  return std::string(kCases) + "/" + tracking;
}

}  // namespace

TEST_CASE("GET /api/v1/health answers with the node's code and role", "[concurrency][http]") {
  Server server;
  httplib::Client c("127.0.0.1", server.port);
  auto r = c.Get("/api/v1/health");
  REQUIRE(r);
  CHECK(r->status == 200);
  json j = body_of(r);
  CHECK(j["status"] == "ok");
  CHECK(j["code"] == "KSU");
  CHECK(j["role"] == "node");
  CHECK(j["cases"] == 0);
  CHECK(j["streams"] == json::object());
  CHECK(j["now"] == "2026-01-01T09:00:00Z");
  CHECK_FALSE(j.contains("federation"));

  server.clock.advance(3'600'000);
  auto later = c.Get("/api/v1/health");
  CHECK(body_of(later)["now"] == "2026-01-01T10:00:00Z");
}

TEST_CASE("GET /api/v1/health counts the notifications waiting and failed",
          "[concurrency][http][outbox]") {
  Server server;
  httplib::Client c("127.0.0.1", server.port);
  CHECK(body_of(c.Get("/api/v1/health"))["notifications"] == json{{"pending", 0}, {"failed", 0}});
  auto filed = c.Post(kCases, sample_request_json().dump(), "application/json");
  REQUIRE(filed);
  REQUIRE(filed->status == 201);
  CHECK(body_of(c.Get("/api/v1/health"))["notifications"] == json{{"pending", 1}, {"failed", 0}});
  // The hub notifies no one and says nothing of notifications.
  Server hub(node::Role::kHub, "MOE");
  httplib::Client h("127.0.0.1", hub.port);
  CHECK_FALSE(body_of(h.Get("/api/v1/health")).contains("notifications"));
}

TEST_CASE("POST /api/v1/cases files a case and GET shows it with the access code",
          "[concurrency][http]") {
  Server server;
  httplib::Client c("127.0.0.1", server.port);
  auto r = post_json(c, sample_request_json().dump());
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 201);
  json receipt = body_of(r);
  const std::string tracking = receipt["tracking_number"];
  const std::string code = receipt["access_code"];
  CHECK(tracking == node::make_tracking_number("KSU", 2026, 1));
  CHECK(std::regex_match(code, std::regex(R"(^[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}$)")));
  CHECK(receipt["status"] == "submitted");
  CHECK(receipt["submitted_at"] == "2026-01-01T09:00:00Z");
  CHECK(receipt["due_at"] == "2026-01-08T12:00:00Z");  // the close of the fifth working day
  CHECK(receipt["due_at_hijri"]["text"]["ar"] == "19 رجب 1447هـ");
  CHECK(r->get_header_value("Location") == case_path(tracking));
  // Answered after the commit: the case is there.
  CHECK(server.snapshot() == Snapshot{1, 1});

  SECTION("with the X-Access-Code header") {
    auto g = c.Get(case_path(tracking), httplib::Headers{{"X-Access-Code", code}});
    REQUIRE(g);
    CHECK(g->status == 200);
    CHECK(g->get_header_value("Cache-Control") == "no-store");
    json view = body_of(g);
    CHECK(view["tracking_number"] == tracking);
    CHECK(view["status"] == "submitted");
    CHECK(view["subject"] == "تأخر صرف المكافأة الشهرية");
    CHECK(view["beneficiary"] == json{{"name", "محمد بن عبدالله العتيبي"}});
    CHECK(g->body.find("access_hash") == std::string::npos);
    CHECK(g->body.find("_sealed") == std::string::npos);
    CHECK(g->body.find("+966501234567") == std::string::npos);
  }
  SECTION("never with ?access_code= (a URL ends up in logs and Referer headers)") {
    auto g = c.Get(case_path(tracking) + "?access_code=" + code);
    REQUIRE(g);
    CHECK(g->status == 400);
    CHECK(body_of(g)["error"]["code"] == "access_code_in_query");
    CHECK(body_of(g)["error"]["field"] == "access_code");
  }
  SECTION("a lower-case tracking number and code still open it") {
    std::string lower_tracking = tracking, lower_code = code;
    for (auto& ch : lower_tracking)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (auto& ch : lower_code)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto g = c.Get(case_path(lower_tracking), httplib::Headers{{"X-Access-Code", lower_code}});
    REQUIRE(g);
    CHECK(g->status == 200);
  }
  SECTION("a wrong code is a 404 JSON error") {
    std::string wrong = node::generate_access_code();
    while (wrong == code) wrong = node::generate_access_code();
    auto g = c.Get(case_path(tracking), httplib::Headers{{"X-Access-Code", wrong}});
    require_error(g, 404, "not_found");
    auto none = c.Get(case_path(tracking));
    require_error(none, 404, "not_found");
    // The same answer as for a case that does not exist.
    auto missing = c.Get(case_path(node::make_tracking_number("KSU", 2026, 77)),
                         httplib::Headers{{"X-Access-Code", code}});
    require_error(missing, 404, "not_found");
    CHECK(json::parse(missing->body) == json::parse(g->body));
  }
  SECTION("a check-digit typo is a 400 check_digit_mismatch") {
    std::string typo = tracking;
    typo.back() = typo.back() == '9' ? '0' : static_cast<char>(typo.back() + 1);
    auto g = c.Get(case_path(typo), httplib::Headers{{"X-Access-Code", code}});
    require_error(g, 400, "check_digit_mismatch", "tracking_number");
    std::string swapped = tracking;  // KSU-26-0000001-d: swap the "01"
    std::swap(swapped[12], swapped[13]);
    auto g2 = c.Get(case_path(swapped), httplib::Headers{{"X-Access-Code", code}});
    require_error(g2, 400, "check_digit_mismatch", "tracking_number");
  }
  SECTION("a malformed tracking number is a 400 invalid_tracking_number") {
    auto g = c.Get(case_path("not-a-number"), httplib::Headers{{"X-Access-Code", code}});
    require_error(g, 400, "invalid_tracking_number", "tracking_number");
  }
  SECTION("a second case gets the next sequence") {
    auto r2 = post_json(c, sample_request_json("طلب تعديل بيانات الطالب").dump());
    REQUIRE(r2);
    REQUIRE(r2->status == 201);
    CHECK(body_of(r2)["tracking_number"] == node::make_tracking_number("KSU", 2026, 2));
    CHECK(server.snapshot() == Snapshot{2, 2});
    auto health = c.Get("/api/v1/health");
    json h = body_of(health);
    CHECK(h["cases"] == 2);
    CHECK(h["streams"] == json{{"KSU", 2}});
  }
}

TEST_CASE("refused POSTs write nothing", "[concurrency][http]") {
  Server server;
  httplib::Client c("127.0.0.1", server.port);
  // One good case first, so "unchanged" is not just "empty".
  auto first = post_json(c, sample_request_json().dump());
  REQUIRE(first);
  REQUIRE(first->status == 201);
  const Snapshot before = server.snapshot();
  REQUIRE(before == Snapshot{1, 1});

  SECTION("malformed JSON") {
    require_error(post_json(c, R"({"type": "complaint", "subject": )"), 400, "malformed_json");
  }
  SECTION("not an object") {
    require_error(post_json(c, "[]"), 400, "malformed_json");
  }
  SECTION("empty body") {
    require_error(post_json(c, ""), 400, "malformed_json");
  }
  SECTION("missing field") {
    auto j = sample_request_json();
    j.erase("subject");
    require_error(post_json(c, j.dump()), 400, "missing_field", "subject");
  }
  SECTION("missing beneficiary name") {
    auto j = sample_request_json();
    j["beneficiary"].erase("name");
    require_error(post_json(c, j.dump()), 400, "missing_field", "beneficiary.name");
  }
  SECTION("unknown field") {
    auto j = sample_request_json();
    j["status"] = "closed";
    require_error(post_json(c, j.dump()), 400, "unknown_field", "status");
  }
  SECTION("invalid phone") {
    auto j = sample_request_json();
    j["beneficiary"]["phone"] = "0501234567";
    require_error(post_json(c, j.dump()), 400, "invalid_phone", "beneficiary.phone");
  }
  SECTION("invalid UTF-8 in the subject") {
    std::string body = sample_request_json().dump();
    body.insert(body.find("تأخر"), "\xC0\xAF");
    require_error(post_json(c, body), 400, "invalid_utf8", "subject");
  }
  SECTION("wrong Content-Type") {
    require_error(c.Post(kCases, sample_request_json().dump(), "text/plain"), 415,
                  "unsupported_media_type");
    require_error(c.Post(kCases, sample_request_json().dump(), "application/x-www-form-urlencoded"),
                  415, "unsupported_media_type");
  }
  SECTION("body over 64 KiB") {
    auto j = sample_request_json();
    j["description"] = std::string(node::kRequestBodyMax, 'x');
    const std::string body = j.dump();
    REQUIRE(body.size() > 64 * 1024);
    require_error(post_json(c, body), 413, "body_too_large");
  }
  SECTION("on the wrong method or path") {
    // A path served by another method is 405 (the router names the allowed ones).
    require_error(c.Put(kCases, sample_request_json().dump(), "application/json"), 405,
                  "method_not_allowed");
    require_error(c.Post("/api/v1/case", sample_request_json().dump(), "application/json"), 404,
                  "not_found");
  }
  CHECK(server.snapshot() == before);
  CHECK(server.snapshot().cases == 1);
}

TEST_CASE("a JSON Content-Type with parameters is accepted", "[concurrency][http]") {
  Server server;
  httplib::Client c("127.0.0.1", server.port);
  auto r = c.Post(kCases, sample_request_json().dump(), "application/json; charset=utf-8");
  REQUIRE(r);
  CHECK(r->status == 201);
  auto r2 = c.Post(kCases, sample_request_json().dump(), "Application/JSON");
  REQUIRE(r2);
  CHECK(r2->status == 201);
  CHECK(server.snapshot() == Snapshot{2, 2});
}

TEST_CASE("unknown paths get a 404 JSON error", "[concurrency][http]") {
  Server server;
  httplib::Client c("127.0.0.1", server.port);
  require_error(c.Get("/api/v1/nothing"), 404, "not_found");
  require_error(c.Get("/"), 404, "not_found");
  require_error(c.Get("/api/v1/cases"), 405, "method_not_allowed");  // POST only
  require_error(c.Get("/api/v1/cases/KSU-26-0000001-1/extra"), 404, "not_found");
}

TEST_CASE("concurrent POSTs each get their own case", "[concurrency][http]") {
  Server server;
  // A few clients at once (bursts of new connections: http_server_test.cpp).
  constexpr int kClients = 6;
  std::vector<std::optional<std::string>> tracking(kClients);
  std::vector<int> statuses(kClients, 0);
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", server.port);
      auto r = c.Post(kCases, sample_request_json("Parallel case " + std::to_string(i)).dump(),
                      "application/json");
      if (!r) {
        failures[static_cast<std::size_t>(i)] = httplib::to_string(r.error());
        return;
      }
      statuses[static_cast<std::size_t>(i)] = r->status;
      json j = json::parse(r->body, nullptr, false);
      if (!j.is_discarded() && j.contains("tracking_number")) {
        tracking[static_cast<std::size_t>(i)] = j["tracking_number"].get<std::string>();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> distinct;
  for (int i = 0; i < kClients; ++i) {
    INFO("client " << i << ": " << failures[static_cast<std::size_t>(i)]);
    CHECK(statuses[static_cast<std::size_t>(i)] == 201);
    REQUIRE(tracking[static_cast<std::size_t>(i)].has_value());
    distinct.insert(*tracking[static_cast<std::size_t>(i)]);
  }
  CHECK(distinct.size() == kClients);
  CHECK(server.snapshot() == Snapshot{kClients, kClients});
  CHECK(server.store->verify().has_value());
}

TEST_CASE("a hub refuses POST /api/v1/cases with 405", "[concurrency][http][hub]") {
  Server hub(node::Role::kHub, "MOE");
  httplib::Client c("127.0.0.1", hub.port);
  auto health = c.Get("/api/v1/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  json h = body_of(health);
  CHECK(h["code"] == "MOE");
  CHECK(h["role"] == "hub");

  require_error(post_json(c, sample_request_json().dump()), 405, "not_a_sector_node");
  CHECK(hub.snapshot() == Snapshot{0, 0});
  auto stats = hub.store->stats();
  REQUIRE(stats.has_value());
  CHECK(stats->streams.empty());
}

TEST_CASE("the call-centre channel takes a call-centre agent's session", "[concurrency][http]") {
  Server server;
  httplib::Client c("127.0.0.1", server.port);
  json body = sample_request_json();
  body["channel"] = "call_centre";
  auto r = post_json(c, body.dump());
  require_error(r, 403, "call_centre_agents_only", "channel");
  CHECK(server.snapshot() == Snapshot{0, 0});  // nothing written
  body["channel"] = "walk_in";
  r = post_json(c, body.dump());
  REQUIRE(r);
  CHECK(r->status == 201);
}
