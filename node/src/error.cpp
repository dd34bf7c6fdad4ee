#include "node/error.hpp"

#include "node/text.hpp"

namespace tawasul::node {

Error Error::bad_request(std::string code, std::string message, std::string field) {
  return Error{400, std::move(code), std::move(message), std::move(field)};
}
Error Error::not_found(std::string message) {
  return Error{404, "not_found", std::move(message), {}};
}
Error Error::conflict(std::string code, std::string message) {
  return Error{409, std::move(code), std::move(message), {}};
}
Error Error::unavailable(std::string code, std::string message) {
  return Error{503, std::move(code), std::move(message), {}};
}
Error Error::internal(std::string message) {
  return Error{500, "internal", std::move(message), {}};
}

nlohmann::json Error::to_json() const {
  // A refusal may quote the input it refuses, cut or not UTF-8 at all:
  // made valid here, so no serialisation of an error can throw.
  nlohmann::json e{{"code", utf8_sanitize(code)}, {"message", utf8_sanitize(message)}};
  if (!field.empty()) e["field"] = utf8_sanitize(field);
  return nlohmann::json{{"error", e}};
}

}  // namespace tawasul::node
