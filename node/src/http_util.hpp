// Helpers shared by the HTTP handlers (private to node/src).
#pragma once

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "crypto/crypto.hpp"
#include "node/error.hpp"
#include "node/http/message.hpp"
#include "node/tracking.hpp"

namespace tawasul::node {

inline constexpr const char* kJsonContentType = "application/json; charset=utf-8";

inline void send_json(http::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  // Replace, never throw, should a string ever hold invalid UTF-8.
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  kJsonContentType);
}

inline void send_error(http::Response& res, const Error& e) {
  // Every refusal that passes tells the client when to come back
  // (DESIGN.md invariant 8): a busy or storage-bound node soon, a full disk
  // later. A handler that knows better sets its own first.
  if ((e.status == 503 || e.status == 507) && !res.has_header("Retry-After"))
    res.set_header("Retry-After", e.status == 507 ? "60" : "5");
  send_json(res, e.status, e.to_json());
}

// The answer when the Argon2id gate is full (HttpApi::password_gate).
inline void send_busy(http::Response& res) {
  res.set_header("Retry-After", "1");
  send_error(res, Error{503, "busy", "too many sign-ins at once; try again in a second", ""});
}

inline bool is_json_content_type(const http::Request& req) {
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

inline constexpr const char* kSessionCookie = "tawasul_session";

inline Error unauthorized() {
  return Error{401, "unauthorized", "sign in first: send Authorization: Bearer <token>", ""};
}
inline Error forbidden() {
  return Error{403, "forbidden", "your role or unit does not allow this", ""};
}

// The session token of a request: a Bearer token (the API), or the HttpOnly
// cookie (the web pages).
inline std::string bearer_token(const http::Request& req) {
  std::string auth = req.get_header_value("Authorization");
  if (auth.starts_with("Bearer ")) return auth.substr(7);
  std::string cookies = req.get_header_value("Cookie");
  const std::string key = std::string(kSessionCookie) + "=";
  for (std::size_t at = cookies.find(key); at != std::string::npos;
       at = cookies.find(key, at + 1)) {
    if (at == 0 || cookies[at - 1] == ' ' || cookies[at - 1] == ';') {
      auto end = cookies.find(';', at);
      return cookies.substr(at + key.size(),
                            end == std::string::npos ? std::string::npos : end - at - key.size());
    }
  }
  return {};
}

// Parses a JSON object body; an empty body is an empty object.
inline Result<nlohmann::json> object_body(const http::Request& req) {
  if (req.body.empty()) return nlohmann::json::object();
  if (!is_json_content_type(req)) {
    return std::unexpected(
        Error{415, "unsupported_media_type", "send JSON (Content-Type: application/json)", ""});
  }
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded())
    return std::unexpected(Error::bad_request("malformed_json", "the body is not valid JSON"));
  if (!j.is_object())
    return std::unexpected(Error::bad_request("malformed_json", "the body must be a JSON object"));
  return j;
}

// The Set-Cookie value that opens (or, with an empty token, ends) a web session.
inline std::string session_cookie(const std::string& token, std::int64_t max_age_s) {
  return std::string(kSessionCookie) + "=" + token +
         "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + std::to_string(max_age_s);
}

// A dummy Argon2id hash, so that an unknown account costs as much to refuse
// as a wrong password (no timing hint which one was wrong).
inline const std::string& dummy_hash() {
  static const std::string hash =
      crypto::hash_password("no such account", crypto::PasswordCost::interactive()).value_or("");
  return hash;
}

// The access code a beneficiary sends (the X-Access-Code header only).
inline std::string access_code_of(const http::Request& req) {
  return req.get_header_value("X-Access-Code");
}

// Access codes travel only in the X-Access-Code header: a URL ends up in
// logs, browser history and Referer headers. One in the query is refused.
inline std::optional<Error> access_code_in_query(const http::Request& req) {
  if (!req.has_param("access_code")) return std::nullopt;
  return Error::bad_request("access_code_in_query",
                            "send the access code in the X-Access-Code header, not in the URL",
                            "access_code");
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
