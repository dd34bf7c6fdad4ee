// Fault injection for crash tests and drills: TAWASUL_FAILPOINT.
//
// `TAWASUL_FAILPOINT=NAME:ACTION[,NAME:ACTION…]` arms named points in the
// program. Known today:
//
//   sweeper.before_commit:kill   the sweeper's command, inside its write
//                                transaction, after the escalation event is
//                                appended and before the commit, raises
//                                SIGKILL: the process dies with the LMDB write
//                                transaction open, as at a power cut.
//
// Read once, when a command that uses it starts (`tawasul run`, `tawasul
// sweep`); an unknown name or action refuses the start rather than running
// with a fault silently not armed. Unset or empty: nothing is armed.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "node/error.hpp"

namespace tawasul::node {

inline constexpr const char* kFailpointEnv = "TAWASUL_FAILPOINT";

struct Failpoints {
  bool sweeper_before_commit_kill = false;

  bool any() const { return sweeper_before_commit_kill; }
  // "sweeper.before_commit:kill", for the log; "" when nothing is armed.
  std::string describe() const;
};

// Parses the variable's value. Errors: 400 "bad_failpoint", naming the part
// that is not understood and what is.
Result<Failpoints> parse_failpoints(std::string_view text);

// Parses $TAWASUL_FAILPOINT (unset: nothing armed).
Result<Failpoints> failpoints_from_env();

// The sweeper's before_commit hook for `points` (SweeperOptions): empty when
// nothing is armed there.
std::function<Result<void>(std::string_view)> sweeper_before_commit(const Failpoints& points);

}  // namespace tawasul::node
