// The Notifier: delivers the outbox's messages (outbox.hpp) to beneficiaries.
//
// One thread of its own, started by the daemon at sector nodes and stopped
// before the writer. Each round (run_once) takes the messages due by the
// injected Clock, opens the recipient's phone or e-mail from the case (in
// memory only), runs the delivery command with the message as JSON on its
// standard input, and records the outcome through the single Writer: a
// delivered message leaves the outbox; a failed one is tried again after a
// back-off (RetryPolicy), and is marked failed after the last attempt.
//
// The delivery command (`notify_command`) runs as `/bin/sh -c COMMAND` in a
// process group of its own, with stdin a pipe and stdout/stderr captured to
// the node's log (cut short, the address masked); exit status 0 means
// delivered. A command that outlives `timeout` is killed (SIGKILL, the whole
// group). Without a command, each message is written as one line to the
// node's log with the address masked, and counts as delivered.
//
// Nothing here blocks case handling: the commands run on this thread only,
// and the Writer sees only short outcome records. Delivery is at least once:
// a crash between a delivery and its record sends that message again, with
// the same `id`, which a command may use to drop duplicates.
//
// Thread rules: start()/stop() from the owning thread; wake() from any
// thread; run_once() from one thread at a time (the notifier's own, or a
// test's while it is not started). The thread, its wait and its stop are a
// BackgroundLoop's (background_loop.hpp); the wait policy is here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "federation/interfaces.hpp"
#include "node/background_loop.hpp"
#include "node/clock.hpp"
#include "node/node_store.hpp"
#include "node/outbox.hpp"
#include "node/writer.hpp"

namespace tawasul::node {

struct NotifierOptions {
  // Run through /bin/sh -c; empty: the log sink.
  std::string command;
  std::chrono::milliseconds timeout{10'000};
  RetryPolicy retry;
  // Adds up to this fraction of each back-off at random, so that many
  // messages failing together do not retry in lockstep. 0: exact back-off.
  double jitter_fraction = 0.1;
  // Bytes of the command's output kept for the log.
  std::size_t output_max = 2048;
  // Messages delivered per round, and the longest the thread sleeps when
  // nothing is due (a round also runs when wake() is called).
  std::size_t batch_max = 32;
  std::chrono::milliseconds idle_wait{1000};
};

// What one round did.
struct NotifyRound {
  std::size_t delivered = 0;
  std::size_t retried = 0;  // failed, to be tried again
  std::size_t failed = 0;   // failed for good (kept in outbox_failed)
  std::optional<std::int64_t> next_due_ms;
};

// The outcome of running a delivery command once.
struct CommandOutcome {
  bool ok = false;
  int exit_code = -1;  // -signal when killed by one
  bool timed_out = false;
  std::string output;  // stdout and stderr, at most output_max bytes
  std::string error;   // why it could not run or failed, for the log and the entry
};

// Runs `/bin/sh -c command` with `input` on stdin; kills its process group
// after `timeout`, or early when `cancel` returns true. Never throws.
CommandOutcome run_command(const std::string& command, const std::string& input,
                           std::chrono::milliseconds timeout, std::size_t output_max,
                           const std::function<bool()>& cancel = {});

class Notifier {
 public:
  Notifier(NodeStore& store, Writer& writer, const Clock& clock, NotifierOptions options,
           federation::Log log);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void start();
  // Stops the thread; a command still running is killed and its message
  // left pending (tried again after a restart).
  void stop();
  // Runs a round soon (e.g. after an enqueue).
  void wake();

  // One round at `now_ms`: delivers every message due then (up to
  // batch_max), recording each outcome through the writer.
  NotifyRound run_once(std::int64_t now_ms);

  // The message as the command reads it on stdin (with `to` opened), or an
  // error when the case or its address cannot be found. Public for tests.
  Result<nlohmann::json> delivery_message(const nlohmann::json& entry, int attempt);

 private:
  // One round on the loop's thread; returns the wait before the next.
  std::chrono::milliseconds loop_round();
  // One try at one message, and what came of it.
  struct Attempt {
    bool delivered = false;
    bool permanent = false;  // waiting will not help: park it at once
    bool cancelled = false;  // the notifier is stopping: left pending
    std::string error;
    std::string output;  // the command's, masked, on one line
  };
  Attempt attempt(const nlohmann::json& entry, int attempt_no);
  // The back-off before try `attempt_no + 1`, with jitter.
  std::int64_t retry_delay(int attempt_no) const;
  // Records the outcome through the writer; false when it could not.
  bool record(std::uint64_t id, int attempt_no, const std::string& label, const Attempt& tried,
              std::int64_t now_ms, NotifyRound& round);

  NodeStore& store_;
  Writer& writer_;
  const Clock& clock_;
  NotifierOptions options_;
  federation::Log log_;
  // Last, so that its thread stops before the members its rounds use go.
  BackgroundLoop loop_;
};

}  // namespace tawasul::node
