// Routes of the HTTP API: a method and a regular expression over the decoded
// path lead to a handler. The router also owns the answers every route
// shares: the JSON error shape for 404/405 and for a handler that throws, and
// the check of a request's head before its body is read (body limits).
//
// Thread rules: add routes before the server starts; handle() and
// check_head() are then called from many threads at once (read-only).
#pragma once

#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "node/error.hpp"
#include "node/http/message.hpp"

namespace tawasul::node::http {

using Handler = std::function<void(const Request&, Response&)>;
// Judges a request from its head alone (no body yet). `expect_continue`: the
// client waits for "100 Continue" before it sends the body. An answer refuses
// the request; nullopt lets its body be read.
using HeadCheck = std::function<std::optional<Response>(const Request&, bool expect_continue)>;

// Longest decoded path a route is matched against: std::regex matches
// recursively, so its input is kept short (longer paths get 414).
inline constexpr std::size_t kPathMax = 2048;

// The JSON error answer {"error": {...}} with `e.status`.
Response error_response(const Error& e);

class Router {
 public:
  void Get(const std::string& pattern, Handler handler) { add("GET", pattern, std::move(handler)); }
  void Post(const std::string& pattern, Handler handler) {
    add("POST", pattern, std::move(handler));
  }
  void Put(const std::string& pattern, Handler handler) { add("PUT", pattern, std::move(handler)); }
  void Patch(const std::string& pattern, Handler handler) {
    add("PATCH", pattern, std::move(handler));
  }
  void Delete(const std::string& pattern, Handler handler) {
    add("DELETE", pattern, std::move(handler));
  }
  void set_head_check(HeadCheck check) { head_check_ = std::move(check); }

  // The answer to `req`: its route's, or 404 (no route has the path), 405
  // (another method has it), 414 (path over kPathMax), 500 (the handler threw).
  Response handle(Request& req) const;
  std::optional<Response> check_head(const Request& req, bool expect_continue) const;

 private:
  struct Route {
    std::string method;
    std::regex pattern;
    Handler handler;
  };
  void add(std::string method, const std::string& pattern, Handler handler);
  std::vector<Route> routes_;
  HeadCheck head_check_;
};

}  // namespace tawasul::node::http
