#include "node/writer.hpp"

#include <future>

#include "node/node_store.hpp"

namespace tawasul::node {

namespace {

// No poison stops the writer (DESIGN.md invariant 9): a command that throws
// fails alone, with its reason, and its nested transaction rolls back.
Result<nlohmann::json> run_guarded(const Writer::Command& command, storage::WriteTxn& txn) {
  try {
    return command(txn);
  } catch (const std::exception& e) {
    return std::unexpected(Error::internal(std::string("the command failed: ") + e.what()));
  } catch (...) {
    return std::unexpected(Error::internal("the command failed"));
  }
}

// A completion that throws is the caller's fault; the writer goes on.
void answer(const Writer::Done& done, Result<nlohmann::json> result) {
  try {
    done(std::move(result));
  } catch (...) {
  }
}

}  // namespace

Writer::Writer(storage::Env& env, std::size_t batch_commands_max, std::size_t queue_max)
    : env_(env), batch_commands_max_(batch_commands_max), queue_max_(queue_max) {}

Writer::~Writer() {
  stop();
}

void Writer::start() {
  std::lock_guard lock(mutex_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Writer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  running_ = false;
}

void Writer::submit(Command command, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (running_ && !stopping_ && queue_.size() < queue_max_) {
      queue_.push_back(Item{std::move(command), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(std::unexpected(
      Error::unavailable("overloaded", "the node is too busy or stopping; try again shortly")));
}

Result<nlohmann::json> Writer::execute(Command command) {
  std::promise<Result<nlohmann::json>> promise;
  auto future = promise.get_future();
  submit(std::move(command),
         [&promise](Result<nlohmann::json> r) { promise.set_value(std::move(r)); });
  return future.get();
}

std::uint64_t Writer::batches_committed() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

void Writer::run() {
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to do
      while (!queue_.empty() && batch.size() < batch_commands_max_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<Result<nlohmann::json>> results;
    auto committed = env_.write([&](storage::WriteTxn& txn) -> storage::Result<void> {
      results.clear();
      for (auto& item : batch) {
        Result<nlohmann::json> outcome = std::unexpected(Error::internal("not run"));
        auto r = txn.nested<bool>([&](storage::WriteTxn& child) -> storage::Result<bool> {
          outcome = run_guarded(item.command, child);
          if (outcome) return true;
          // A full map must restart the whole batch after growth; anything
          // else rolls back this command alone.
          return std::unexpected(to_storage(outcome.error()));
        });
        if (!r && r.error().code == storage::ErrorCode::kMapFull) return std::unexpected(r.error());
        if (!r && outcome)
          outcome = std::unexpected(from_storage(r.error()));  // nesting itself failed
        results.push_back(std::move(outcome));
      }
      return {};
    });
    if (!committed) {
      Error e = from_storage(committed.error());
      for (auto& item : batch) answer(item.done, std::unexpected(e));
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      ++batches_;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) answer(batch[i].done, std::move(results[i]));
  }
}

}  // namespace tawasul::node
