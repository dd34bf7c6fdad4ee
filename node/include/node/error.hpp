// The node's error value: what went wrong, for a person and for an HTTP client.
#pragma once

#include <expected>
#include <string>

#include <nlohmann/json.hpp>

namespace tawasul::node {

struct Error {
  int status = 500;     // the HTTP status this error maps to
  std::string code;     // stable machine code, e.g. "missing_field"
  std::string message;  // for a person, in English
  std::string field;    // the offending field's path, when there is one

  static Error bad_request(std::string code, std::string message, std::string field = {});
  static Error not_found(std::string message);
  static Error conflict(std::string code, std::string message);
  static Error unavailable(std::string code, std::string message);
  static Error internal(std::string message);
  // {"error": {"code", "message", "field"?}}
  nlohmann::json to_json() const;
};

template <class T>
using Result = std::expected<T, Error>;

}  // namespace tawasul::node
