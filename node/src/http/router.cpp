#include "node/http/router.hpp"

#include <exception>
#include <iostream>

namespace tawasul::node::http {

Response error_response(const Error& e) {
  Response res;
  res.status = e.status;
  // Replace, never throw, should a message ever hold invalid UTF-8.
  res.set_content(e.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json; charset=utf-8");
  return res;
}

void Router::add(std::string method, const std::string& pattern, Handler handler) {
  routes_.push_back(Route{std::move(method), std::regex(pattern), std::move(handler)});
}

std::optional<Response> Router::check_head(const Request& req, bool expect_continue) const {
  if (!head_check_) return std::nullopt;
  try {
    return head_check_(req, expect_continue);
  } catch (const std::exception& e) {
    std::cerr << "http: the check of " << req.method << " " << req.path << " threw: " << e.what()
              << "\n";
    return error_response(Error::internal("internal error"));
  }
}

Response Router::handle(Request& req) const {
  if (req.path.size() > kPathMax) {
    return error_response(
        Error{414, "uri_too_long", "the path is over " + std::to_string(kPathMax) + " bytes", ""});
  }
  std::string allowed;
  for (const auto& route : routes_) {
    std::smatch m;
    if (!std::regex_match(req.path, m, route.pattern)) continue;
    if (route.method != req.method) {
      allowed += (allowed.empty() ? "" : ", ") + route.method;
      continue;
    }
    req.matches = std::move(m);
    Response res;
    try {
      route.handler(req, res);
    } catch (const std::exception& e) {
      // One failed request is answered and logged; the server goes on.
      std::cerr << "http: " << req.method << " " << req.path << " threw: " << e.what() << "\n";
      res = error_response(Error::internal("internal error"));
    } catch (...) {
      std::cerr << "http: " << req.method << " " << req.path << " threw\n";
      res = error_response(Error::internal("internal error"));
    }
    return res;
  }
  if (allowed.empty()) return error_response(Error::not_found("no such endpoint"));
  Response res = error_response(
      Error{405, "method_not_allowed", req.method + " is not allowed here: use " + allowed, ""});
  res.set_header("Allow", allowed);
  return res;
}

}  // namespace tawasul::node::http
