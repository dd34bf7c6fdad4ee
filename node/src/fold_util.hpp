// Checks shared by the folds of case events (private to node/src).
#pragma once

#include <nlohmann/json.hpp>

#include "crypto/envelope.hpp"
#include "node/error.hpp"

namespace tawasul::node {

// A follow-up event of a case must find the case filed, and come from the
// node that owns it: 409 unknown_case or wrong_owner otherwise.
inline Result<void> check_case_event_origin(const nlohmann::json& state,
                                            const crypto::Event& event) {
  if (state.is_null()) {
    return std::unexpected(Error::conflict("unknown_case", event.kind + " for a case never filed"));
  }
  if (state["owner"] != event.origin) {
    return std::unexpected(Error::conflict("wrong_owner", event.kind + " from " + event.origin +
                                                              " for a case owned by " +
                                                              state["owner"].get<std::string>()));
  }
  return {};
}

}  // namespace tawasul::node
