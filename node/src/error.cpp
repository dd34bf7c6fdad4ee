#include "node/error.hpp"

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
  nlohmann::json e{{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return nlohmann::json{{"error", e}};
}

}  // namespace tawasul::node
