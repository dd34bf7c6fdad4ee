// Helpers shared by the HTTP handlers (private to node/src).
#pragma once

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "node/error.hpp"
#include "node/tracking.hpp"

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

// The access code a beneficiary sends: X-Access-Code, or ?access_code=.
inline std::string access_code_of(const httplib::Request& req) {
  std::string code = req.get_header_value("X-Access-Code");
  if (code.empty()) code = req.get_param_value("access_code");
  return code;
}

// Why `tracking` (upper-cased) is not a tracking number, if it is not: a
// check-digit typo is told apart from a malformed number.
inline std::optional<Error> tracking_number_error(const std::string& tracking) {
  TrackingError why{};
  if (parse_tracking_number(tracking, &why)) return std::nullopt;
  if (why == TrackingError::kCheckDigit) {
    return Error::bad_request(
        "check_digit_mismatch",
        "the tracking number's check digit does not match: please check it for a typo",
        "tracking_number");
  }
  return Error::bad_request("invalid_tracking_number",
                            "a tracking number looks like KSU-26-0000042-7", "tracking_number");
}

}  // namespace tawasul::node
