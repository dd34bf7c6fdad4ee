#include "node/failpoint.hpp"

#include <csignal>
#include <cstdlib>

namespace tawasul::node {

namespace {

constexpr const char* kKnown = "known: sweeper.before_commit:kill";

Error bad(const std::string& message) {
  return Error::bad_request("bad_failpoint",
                            std::string(kFailpointEnv) + ": " + message + " (" + kKnown + ")");
}

}  // namespace

std::string Failpoints::describe() const {
  return sweeper_before_commit_kill ? "sweeper.before_commit:kill" : "";
}

Result<Failpoints> parse_failpoints(std::string_view text) {
  Failpoints points;
  if (text.empty()) return points;
  for (bool more = true; more;) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    more = comma != std::string_view::npos;
    if (more) text = text.substr(comma + 1);
    const auto colon = item.find(':');
    if (colon == std::string_view::npos)
      return std::unexpected(bad("'" + std::string(item) + "' is not NAME:ACTION"));
    const std::string name(item.substr(0, colon));
    const std::string action(item.substr(colon + 1));
    if (name != "sweeper.before_commit")
      return std::unexpected(bad("unknown failpoint '" + name + "'"));
    if (action != "kill")
      return std::unexpected(bad("unknown action '" + action + "' for " + name));
    points.sweeper_before_commit_kill = true;
  }
  return points;
}

Result<Failpoints> failpoints_from_env() {
  const char* value = std::getenv(kFailpointEnv);
  return parse_failpoints(value == nullptr ? std::string_view{} : std::string_view(value));
}

std::function<Result<void>(std::string_view)> sweeper_before_commit(const Failpoints& points) {
  if (!points.sweeper_before_commit_kill) return {};
  return [](std::string_view) -> Result<void> {
    // Dies here, the write transaction open and nothing committed.
    std::raise(SIGKILL);
    return {};
  };
}

}  // namespace tawasul::node
