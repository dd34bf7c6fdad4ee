#include "node/sweeper.hpp"

#include <algorithm>

#include "node/text.hpp"
#include "node/time_util.hpp"

namespace tawasul::node {

using nlohmann::json;

Sweeper::Sweeper(NodeStore& store, Writer& writer, const Clock& clock, SweeperOptions options,
                 federation::Log log)
    : store_(store),
      writer_(writer),
      clock_(clock),
      options_(std::move(options)),
      log_(std::move(log)),
      loop_([this] { return loop_round(); },
            [this](const std::string& what, std::chrono::milliseconds wait) {
              log_("error", "sweeper: a round failed (" + what + "); next round in " +
                                std::to_string(wait.count()) + " ms");
            }) {
  if (!log_) log_ = [](std::string_view, std::string_view) {};
}

Sweeper::~Sweeper() {
  stop();
}

void Sweeper::start() {
  loop_.start();
}

void Sweeper::stop() {
  loop_.stop();
}

void Sweeper::wake() {
  loop_.wake();
}

std::chrono::milliseconds Sweeper::loop_round() {
  const SweepRound round = run_once(clock_.now_ms());
  auto wait = options_.idle_wait;
  if (round.next_due_ms) {
    const auto until = std::max<std::int64_t>(0, *round.next_due_ms - clock_.now_ms());
    wait = std::min(wait, std::chrono::milliseconds(until));
  }
  // A failing command (no org tree, a storage fault) is tried again after
  // a pause rather than in a loop that floods the log.
  if (round.failed > 0) wait = std::max(options_.idle_wait, std::chrono::milliseconds(60'000));
  // A round that found only stale keys made no progress: the key it would
  // find again is still due, so wait the idle time rather than spin on it.
  if (round.stale > 0 && round.escalated == 0 && round.handed_to_hub == 0 && round.closed == 0 &&
      round.warned == 0 && round.failed == 0)
    wait = std::max(wait, options_.idle_wait);
  return wait;
}

SweepRound Sweeper::run_once(std::int64_t now_ms) {
  SweepRound round;
  auto due = store_.due(now_ms, options_.batch_max);
  if (!due) {
    log_("error", "sweeper: cannot read the due index: " + due.error().message);
    return round;
  }
  for (const auto& entry : *due) {
    if (loop_.stopping()) break;
    const bool window = entry.kind == kDueObjectionWindow;
    const bool warning = entry.kind == kDueWarning;
    if (!window && !warning && entry.kind != kDueAnswer) {
      ++round.failed;  // a kind this version does not know: left for the operator
      log_("error",
           "sweeper: case " + entry.tracking_number + ": unknown due kind '" + entry.kind + "'");
      continue;
    }
    auto done = writer_.execute([&](storage::WriteTxn& txn) -> Result<json> {
      if (window) {
        return store_.close_unobjected(txn, entry.tracking_number, entry.due_ms, now_ms,
                                       options_.before_commit);
      }
      if (warning) {
        return store_.warn_near_due(txn, entry.tracking_number, entry.due_ms, now_ms,
                                    options_.before_commit);
      }
      return store_.escalate_breach(txn, entry.tracking_number, entry.due_ms, now_ms,
                                    options_.before_commit);
    });
    const std::string label =
        "case " + entry.tracking_number + " (due " + iso8601_utc(entry.due_ms) + ")";
    if (!done) {
      ++round.failed;
      round.lines.push_back(label + ": failed: " + done.error().message);
      log_("error", "sweeper: " + label + ": cannot " +
                        (window    ? "close"
                         : warning ? "warn"
                                   : "escalate") +
                        ": " + done.error().message);
      continue;
    }
    const std::string outcome = (*done)["outcome"];
    if (outcome == "escalated") {
      ++round.escalated;
      const std::string where = "level " + std::to_string((*done)["level"].get<int>()) + " (" +
                                (*done)["unit"].get<std::string>() + ")";
      round.lines.push_back(label + ": escalated to " + where);
      log_("info", "sweeper: " + label + " breached; escalated to " + where);
    } else if (outcome == "handed_to_hub") {
      ++round.handed_to_hub;
      round.lines.push_back(label + ": handed to the hub");
      log_("info", "sweeper: " + label + " breached above the sector head; handed to the hub");
    } else if (outcome == "warned") {
      ++round.warned;
      round.lines.push_back(label + ": warned (" + dump_text((*done)["notify"]) + ")");
      log_("info", "sweeper: " + label + ": near its deadline; staff warned");
    } else if (outcome == "closed") {
      ++round.closed;
      round.lines.push_back(label + ": closed (the objection window ended)");
      log_("info", "sweeper: " + label + ": the objection window ended; closed");
    } else {
      ++round.stale;
      round.lines.push_back(label + ": stale (the deadline had moved; nothing appended)");
    }
  }
  if (due->size() == options_.batch_max && round.failed == 0) {
    round.next_due_ms = now_ms;  // more may wait
  } else if (auto next = store_.next_due(); next && *next) {
    round.next_due_ms = **next;
  }
  return round;
}

}  // namespace tawasul::node
