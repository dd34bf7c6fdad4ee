// The Sweeper: warns staff of cases near their deadline, escalates cases
// whose deadline has passed, and closes answered cases whose objection
// window has ended (node/SLA.md).
//
// One thread of its own, started by the daemon at sector nodes and stopped
// before the writer (like the Notifier). Each round (run_once) reads the due
// index (`due`, storage/FORMAT.md) for keys at or before the injected
// Clock's now, earliest first, at most `batch_max`, and submits ONE writer
// command per key. Inside the write transaction that command re-reads the
// case, checks that the very key it found is still there and still the
// case's running deadline, computes the next rung from the org tree and
// appends `case.escalated` (or `case.handed_to_hub` above the sector head;
// `case.closed` for an objection window, whose key is of kind
// kDueObjectionWindow; `case.sla_warned` for a warning, kDueWarning).
// The fold moves the key in the same transaction, so event and index change
// commit together: a breach is escalated exactly once, and a crash before the
// commit leaves the key for the next round (after a restart).
//
// Thread rules: start()/stop() from the owning thread; wake() from any
// thread; run_once() from one thread at a time (the sweeper's own, or a
// test's while it is not started). The thread, its wait and its stop are a
// BackgroundLoop's (background_loop.hpp); the wait policy is here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "federation/interfaces.hpp"
#include "node/background_loop.hpp"
#include "node/clock.hpp"
#include "node/node_store.hpp"
#include "node/writer.hpp"

namespace tawasul::node {

struct SweeperOptions {
  // Keys handled per round; the next round comes at once when a round was full.
  std::size_t batch_max = 64;
  // The longest the thread sleeps when nothing is due (a round also runs
  // when wake() is called, or when the earliest key falls due).
  std::chrono::milliseconds idle_wait{1000};
  // Fault hook: runs inside the command's transaction after the escalation
  // is appended and before the command returns; an error fails the command
  // and rolls it back — as a crash before the commit would. Unit tests set
  // it; the program sets it from TAWASUL_FAILPOINT (failpoint.hpp), whose
  // hook kills the process there.
  std::function<Result<void>(std::string_view tracking_number)> before_commit;
};

// What one round did.
struct SweepRound {
  std::size_t escalated = 0;
  std::size_t handed_to_hub = 0;
  std::size_t closed = 0;  // objection windows that ended
  std::size_t warned = 0;  // pre-breach warnings given
  std::size_t stale = 0;   // the key had moved when the command ran
  std::size_t failed = 0;  // the command failed (left for the next round)
  std::optional<std::int64_t> next_due_ms;
  // One line per key handled, in order, e.g. "case KSU-… (due …): escalated
  // to level 1 (KSU)" — for an operator's report (`tawasul sweep`).
  std::vector<std::string> lines;
};

class Sweeper {
 public:
  Sweeper(NodeStore& store, Writer& writer, const Clock& clock, SweeperOptions options,
          federation::Log log);
  ~Sweeper();
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  void start();
  void stop();
  void wake();

  // One round at `now_ms`.
  SweepRound run_once(std::int64_t now_ms);

 private:
  // One round on the loop's thread; returns the wait before the next.
  std::chrono::milliseconds loop_round();

  NodeStore& store_;
  Writer& writer_;
  const Clock& clock_;
  SweeperOptions options_;
  federation::Log log_;
  // Last, so that its thread stops before the members its rounds use go.
  BackgroundLoop loop_;
};

}  // namespace tawasul::node
