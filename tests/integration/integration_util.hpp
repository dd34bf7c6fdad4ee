// Helpers shared by the integration tests that drive real processes over
// HTTP and the `tawasul` command: one client, one way to sign staff in, and
// the checks every such test makes.
#pragma once

#include <httplib.h>
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "launcher.hpp"

namespace tawasul::test {

// A `tawasul` command that must succeed (its output shown when it does not).
inline void ok(const CommandResult& r) {
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A node's or hub's HTTP API on 127.0.0.1:`port`.
struct Http {
  int port;
  HttpReply call(const std::string& method, const std::string& path, const nlohmann::json& body,
                 const httplib::Headers& headers) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    auto r = method == "GET" ? c.Get(path.c_str(), headers)
                             : c.Post(path.c_str(), headers, body.is_null() ? "" : body.dump(),
                                      "application/json");
    if (!r) FAIL("no answer from " << method << " " << path);
    return HttpReply{r->status, nlohmann::json::parse(r->body, nullptr, false)};
  }
  // Signs a staff member in (the tests' shared password) and returns the token.
  std::string login(const std::string& id) {
    auto r = call("POST", "/api/v1/auth/login",
                  nlohmann::json{{"id", id}, {"password", "correct horse battery"}}, {});
    INFO(r.body.dump());
    REQUIRE(r.status == 200);
    return r.body["token"];
  }
};

inline httplib::Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

}  // namespace tawasul::test
