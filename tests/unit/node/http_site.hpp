// A node with its HTTP API on a free port, for tests that talk to it over
// real sockets: a real LMDB store in a temporary directory, the single writer,
// an injected clock, staff accounts with a cheap Argon2id cost.
#pragma once

#include <httplib.h>
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node/http_api.hpp"
#include "node/workflow.hpp"
#include "node/writer.hpp"
#include "node_test_util.hpp"
#include "test_support.hpp"

namespace tawasul::node::testing {

inline constexpr std::int64_t kSiteStart = 1'773'568'800'000;  // 2026-03-15T10:00:00Z
inline constexpr const char* kStaffPassword = "correct horse battery";

struct Site {
  tawasul::test::TempDir dir{"site"};
  FakeClock clock{kSiteStart};
  Identity id;
  std::unique_ptr<NodeStore> store;
  std::unique_ptr<Writer> writer;
  std::unique_ptr<HttpApi> api;
  int port = 0;
  std::map<std::string, std::string> tokens;  // staff id (or a beneficiary's name) -> token

  Site() {
    init_crypto();
    id = make_identity(dir.path(), Role::kNode, "KSU");
    store = open_store(dir.path(), id);
    writer = std::make_unique<Writer>(store->env());
    writer->start();
    api = std::make_unique<HttpApi>(*store, *writer, clock, nullptr);
    api->set_password_cost(crypto::PasswordCost::minimal());
    auto bound = api->bind(HttpOptions{"127.0.0.1", 0, 4});
    REQUIRE(bound);
    port = *bound;
    api->start();
    REQUIRE(tawasul::test::wait_until([&] { return get("/api/v1/health").status == 200; }));
  }
  ~Site() {
    api->stop();
    writer->stop();
  }

  struct Reply {
    int status = 0;
    nlohmann::json body;
    httplib::Headers headers;
  };
  Reply request(const std::string& method, const std::string& path,
                const nlohmann::json& body = nullptr, const httplib::Headers& headers = {}) {
    httplib::Client c("127.0.0.1", port);
    const std::string text = body.is_null() ? "" : body.dump();
    httplib::Result r = method == "GET"   ? c.Get(path.c_str(), headers)
                        : method == "PUT" ? c.Put(path.c_str(), headers, text, "application/json")
                        : method == "PATCH"
                            ? c.Patch(path.c_str(), headers, text, "application/json")
                            : c.Post(path.c_str(), headers, text, "application/json");
    if (!r) FAIL("no HTTP answer for " << method << " " << path);
    return Reply{r->status, nlohmann::json::parse(r->body, nullptr, false), r->headers};
  }
  Reply get(const std::string& path, const httplib::Headers& headers = {}) {
    return request("GET", path, nullptr, headers);
  }

  // Creates a staff member directly in the store and signs them in.
  void add_staff(const std::string& staff_id, const std::string& unit,
                 std::vector<std::string> roles, bool confidential = false) {
    auto member = parse_staff_member(nlohmann::json{{"id", staff_id},
                                                    {"name", "موظف " + staff_id},
                                                    {"unit", unit},
                                                    {"roles", roles},
                                                    {"confidential", confidential}});
    REQUIRE(member);
    auto hash = crypto::hash_password(kStaffPassword, crypto::PasswordCost::minimal());
    REQUIRE(hash);
    auto added =
        in_write<nlohmann::json>(*store, [&](storage::WriteTxn& txn) -> Result<nlohmann::json> {
          if (auto r = store->staff().add(txn, *member, *hash, kSiteStart); !r)
            return std::unexpected(r.error());
          return nlohmann::json{};
        });
    REQUIRE(added);
    login(staff_id);
  }
  void login(const std::string& staff_id) {
    auto r = request("POST", "/api/v1/auth/login",
                     nlohmann::json{{"id", staff_id}, {"password", kStaffPassword}});
    REQUIRE(r.status == 200);
    tokens[staff_id] = r.body["token"];
  }
  httplib::Headers as(const std::string& who) {
    return {{"Authorization", "Bearer " + tokens.at(who)}};
  }

  // A case filed and moved (as the system, without a session) through `steps`.
  nlohmann::json case_after(const std::vector<CaseAction>& steps) {
    nlohmann::json receipt = file_ok(*store, sample_request(), clock.now_ms());
    for (CaseAction a : steps) {
      nlohmann::json fields = a == CaseAction::kAssign ? nlohmann::json{{"unit", "KSU.SA"}}
                                                       : nlohmann::json{{"assignee", "emp"}};
      auto r = in_write<nlohmann::json>(*store, [&](storage::WriteTxn& txn) {
        return store->act_on_case(txn, receipt["tracking_number"].get<std::string>(), a, "system",
                                  fields, clock.now_ms());
      });
      REQUIRE(r);
    }
    return receipt;
  }
  // The audit log, once the writer has committed everything queued before.
  std::vector<nlohmann::json> audit() {
    writer->execute([](storage::WriteTxn&) -> Result<nlohmann::json> { return nlohmann::json{}; });
    return store->staff().audit_log(10000).value();
  }
};

}  // namespace tawasul::node::testing
