// The single writer: every change to the store goes through here.
//
// Handler threads queue a command; the writer thread takes whatever is
// waiting (up to `batch_commands_max`), runs each command in a nested
// transaction of ONE write transaction, commits it (fsync) and only then
// answers every waiter. Many requests, one sync: group commit
// (DESIGN.md invariant 2). A command that fails rolls back alone; a failed
// commit fails every command of its batch, none of which was acknowledged.
//
// Commands must be re-runnable: if the map fills up, the whole batch is
// aborted, the map grows and the batch runs again.
//
// Thread rules: submit()/execute() from any thread; start()/stop() from the
// owning thread. stop() finishes the commands already queued.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "node/error.hpp"
#include "storage/env.hpp"

namespace tawasul::node {

class Writer {
 public:
  using Command = std::function<Result<nlohmann::json>(storage::WriteTxn&)>;
  using Done = std::function<void(Result<nlohmann::json>)>;

  explicit Writer(storage::Env& env, std::size_t batch_commands_max = 1024,
                  std::size_t queue_max = 65536);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void start();
  void stop();

  // Queues `command`; `done` runs on the writer thread after the commit (or
  // at once with a 503 error when the queue is full or the writer stopped).
  void submit(Command command, Done done);
  // Queues and waits for the outcome.
  Result<nlohmann::json> execute(Command command);

  std::uint64_t batches_committed() const;

 private:
  struct Item {
    Command command;
    Done done;
  };
  void run();

  storage::Env& env_;
  const std::size_t batch_commands_max_;
  const std::size_t queue_max_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool running_ = false;
  std::uint64_t batches_ = 0;
  std::thread thread_;
};

}  // namespace tawasul::node
