// Helpers shared by the HTTP handlers (private to node/src).
#pragma once

#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "node/error.hpp"

namespace tawasul::node {

inline constexpr const char* kJsonContentType = "application/json; charset=utf-8";

inline void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  // Replace, never throw, should a string ever hold invalid UTF-8.
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  kJsonContentType);
}

inline void send_error(httplib::Response& res, const Error& e) {
  send_json(res, e.status, e.to_json());
}

inline bool is_json_content_type(const httplib::Request& req) {
  std::string type = req.get_header_value("Content-Type");
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type == "application/json" || type.starts_with("application/json;");
}

}  // namespace tawasul::node
