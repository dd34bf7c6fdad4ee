// Helpers shared by the HTTP handlers (private to node/src).
#pragma once

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

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

// Tracking numbers and codes are case-insensitive for people; ASCII only.
inline std::string to_upper_ascii(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace tawasul::node
