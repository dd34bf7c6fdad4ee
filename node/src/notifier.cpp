#include "node/notifier.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "crypto/crypto.hpp"
#include "node/cases.hpp"
#include "node/text.hpp"
#include "node/time_util.hpp"

extern char** environ;

namespace tawasul::node {

using nlohmann::json;

namespace {

using SteadyClock = std::chrono::steady_clock;

// Every occurrence of `secret` in `text` replaced by its masked form.
std::string redact(std::string text, const std::string& secret) {
  if (secret.empty() || !valid_utf8(secret)) return text;
  const std::string masked = mask_address(secret);
  for (auto at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + masked.size())) {
    text.replace(at, secret.size(), masked);
  }
  return text;
}

// Output for one log line: line breaks and other control bytes as spaces.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// SIGPIPE is blocked on the calling thread while it writes to a command that
// may have exited; one raised meanwhile is taken here, not delivered.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

CommandOutcome run_command(const std::string& command, const std::string& input,
                           std::chrono::milliseconds timeout, std::size_t output_max,
                           const std::function<bool()>& cancel) {
  CommandOutcome out;
  SigpipeGuard guard;
  int in[2] = {-1, -1};
  int res[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(res, O_CLOEXEC) != 0) {
    close_fd(in[0]);
    close_fd(in[1]);
    out.error = std::string("cannot make a pipe: ") + std::strerror(errno);
    return out;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, res[1], 1);
  posix_spawn_file_actions_adddup2(&actions, res[1], 2);
  // Nothing else of the daemon's (the store, sockets) reaches the command.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A process group of its own, so a timeout kills what the shell started
  // too; signals as a fresh program expects them (the daemon blocks
  // SIGINT/SIGTERM and ignores SIGPIPE).
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGXFSZ}) sigaddset(&defaults, s);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  std::string sh = "sh";
  std::string dash_c = "-c";
  std::string cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close_fd(in[0]);
  close_fd(res[1]);
  if (rc != 0) {
    close_fd(in[1]);
    close_fd(res[0]);
    out.error = std::string("cannot start /bin/sh: ") + std::strerror(rc);
    return out;
  }
  ::fcntl(in[1], F_SETFL, ::fcntl(in[1], F_GETFL) | O_NONBLOCK);
  ::fcntl(res[0], F_SETFL, ::fcntl(res[0], F_GETFL) | O_NONBLOCK);

  const auto deadline = SteadyClock::now() + timeout;
  std::size_t written = 0;
  if (input.empty()) close_fd(in[1]);
  int status = 0;
  bool exited = false;
  bool killed = false;
  char buffer[4096];
  auto drain = [&] {
    for (;;) {
      ssize_t n = ::read(res[0], buffer, sizeof buffer);
      if (n > 0) {
        const auto room = output_max - std::min(output_max, out.output.size());
        out.output.append(buffer, std::min(room, static_cast<std::size_t>(n)));
        continue;
      }
      if (n == 0) close_fd(res[0]);  // end of output
      return;
    }
  };
  while (!exited) {
    pollfd fds[2];
    nfds_t count = 0;
    if (res[0] >= 0) fds[count++] = pollfd{res[0], POLLIN, 0};
    if (in[1] >= 0) fds[count++] = pollfd{in[1], POLLOUT, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    const int wait_ms = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 50));
    ::poll(fds, count, wait_ms);
    if (in[1] >= 0) {
      ssize_t n = ::write(in[1], input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      // All written, or the command closed its input: it reads no more.
      if (written == input.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) close_fd(in[1]);
    }
    if (res[0] >= 0) drain();
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      exited = true;
      break;
    }
    const bool cancelled = cancel && cancel();
    if (SteadyClock::now() >= deadline || cancelled) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      exited = true;
      killed = true;
      out.timed_out = !cancelled;
      if (cancelled) out.error = "cancelled: the notifier is stopping";
    }
  }
  if (res[0] >= 0) drain();  // what the command wrote before it ended
  close_fd(in[1]);
  close_fd(res[0]);
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.exit_code = -WTERMSIG(status);
  }
  if (killed) {
    if (out.timed_out) {
      out.error = "timed out after " + std::to_string(timeout.count()) + " ms (killed)";
    }
    return out;
  }
  out.ok = out.exit_code == 0;
  if (!out.ok) {
    out.error = out.exit_code >= 0 ? "exit status " + std::to_string(out.exit_code)
                                   : "killed by signal " + std::to_string(-out.exit_code);
  }
  return out;
}

Notifier::Notifier(NodeStore& store, Writer& writer, const Clock& clock, NotifierOptions options,
                   federation::Log log)
    : store_(store),
      writer_(writer),
      clock_(clock),
      options_(std::move(options)),
      log_(std::move(log)),
      loop_([this] { return loop_round(); },
            [this](const std::string& what, std::chrono::milliseconds wait) {
              log_("error", "notifications: a round failed (" + what + "); next round in " +
                                std::to_string(wait.count()) + " ms");
            }) {
  if (!log_) log_ = [](std::string_view, std::string_view) {};
}

Notifier::~Notifier() {
  stop();
}

void Notifier::start() {
  loop_.start();
}

void Notifier::stop() {
  loop_.stop();
}

void Notifier::wake() {
  loop_.wake();
}

std::chrono::milliseconds Notifier::loop_round() {
  const NotifyRound round = run_once(clock_.now_ms());
  auto wait = options_.idle_wait;
  if (round.next_due_ms) {
    const auto until = std::max<std::int64_t>(0, *round.next_due_ms - clock_.now_ms());
    wait = std::min(wait, std::chrono::milliseconds(until));
  }
  return wait;
}

Result<json> Notifier::delivery_message(const json& entry, int attempt) {
  const std::string tracking = entry.value("tracking_number", "");
  const std::string channel = entry.value("channel", "");
  const std::string status = entry.value("case_status", "");
  json message{{"id", entry["id"]},
               {"tracking_number", tracking},
               {"kind", entry["kind"]},
               {"channel", channel},
               {"voice_allowed", entry.value("voice_allowed", false)},
               {"text", entry["text"]},
               {"case_status", status},
               {"case_status_label", status_label(status)},
               {"created_at", iso8601_utc(entry.value("created_at_ms", std::int64_t{0}))},
               {"attempt", attempt}};
  // To staff (a pre-breach warning): the member's id; the command knows how
  // to reach them. No personal data of the beneficiary is opened.
  if (channel == "staff") {
    if (!entry.contains("to_staff") || !entry["to_staff"].is_string())
      return std::unexpected(Error::internal("a staff message without to_staff"));
    message["to"] = entry["to_staff"];
    return message;
  }
  const char* field = channel == "sms" ? "phone" : channel == "email" ? "email" : nullptr;
  if (field == nullptr)
    return std::unexpected(Error::internal("unknown channel '" + channel + "'"));
  // The staff view opens the sealed contact data of the node's own cases;
  // the address lives only in this message, in memory.
  auto view = store_.staff_case_view(tracking);
  if (!view) return std::unexpected(view.error());
  const json& beneficiary = (*view)["beneficiary"];
  if (!beneficiary.contains(field) || !beneficiary[field].is_string()) {
    return std::unexpected(
        Error::not_found("case " + tracking + " has no " + field + " that opens at this node"));
  }
  message["to"] = beneficiary[field];
  if (entry.contains("language_preference"))
    message["language_preference"] = entry["language_preference"];
  return message;
}

Notifier::Attempt Notifier::attempt(const json& entry, int attempt_no) {
  Attempt out;
  auto message = delivery_message(entry, attempt_no);
  if (!message) {
    // No case or no address will not appear by waiting; a storage error may pass.
    out.permanent = message.error().status == 404 || message.error().status == 500;
    out.error = "no recipient: " + message.error().message;
    return out;
  }
  const std::string to = (*message)["to"];
  json shown = *message;
  shown["to"] = mask_address(to);
  if (options_.command.empty()) {
    log_("info", "notify " + dump_text(shown));
    out.delivered = true;
    return out;
  }
  auto outcome = run_command(options_.command, dump_text(*message) + "\n", options_.timeout,
                             options_.output_max, [this] { return loop_.stopping(); });
  if (!outcome.ok && !outcome.timed_out && loop_.stopping()) {
    out.cancelled = true;  // left pending
    return out;
  }
  // A gateway may print any bytes: made valid before it is cut or logged.
  out.output = one_line(redact(utf8_sanitize(outcome.output), to));
  out.delivered = outcome.ok;
  if (!out.delivered)
    out.error = outcome.error + (out.output.empty() ? "" : ": " + utf8_prefix(out.output, 300));
  return out;
}

std::int64_t Notifier::retry_delay(int attempt_no) const {
  std::int64_t delay = retry_delay_ms(options_.retry, attempt_no);
  if (options_.jitter_fraction > 0) {
    std::uint64_t r = 0;
    crypto::random_bytes(std::span(reinterpret_cast<std::uint8_t*>(&r), sizeof r));
    const double unit = static_cast<double>(r >> 11) / static_cast<double>(1ULL << 53);
    delay +=
        static_cast<std::int64_t>(unit * options_.jitter_fraction * static_cast<double>(delay));
  }
  return delay;
}

NotifyRound Notifier::run_once(std::int64_t now_ms) {
  NotifyRound round;
  auto due = store_.outbox().due(now_ms, options_.batch_max);
  if (!due) {
    log_("error", "notifications: cannot read the outbox: " + due.error().message);
    return round;
  }
  round.next_due_ms = due->next_due_ms;
  for (const json& entry : due->messages) {
    if (loop_.stopping()) break;
    const std::uint64_t id = entry.value("id", std::uint64_t{0});
    const int attempt_no = entry.value("attempts", 0) + 1;
    const std::string label = "notification " + std::to_string(id) + " (" +
                              entry.value("kind", "") + ", " + entry.value("tracking_number", "") +
                              ")";
    // No poison stops this thread (DESIGN.md invariant 9): whatever one
    // message throws parks that message, with the reason, for the operator.
    Attempt tried;
    try {
      tried = attempt(entry, attempt_no);
    } catch (const std::exception& e) {
      tried = Attempt{};
      tried.permanent = true;
      tried.error = std::string("internal error: ") + e.what();
    }
    if (tried.cancelled) break;
    if (!record(id, attempt_no, label, tried, now_ms, round)) break;
  }
  if (due->messages.size() == options_.batch_max) round.next_due_ms = now_ms;  // more may wait
  return round;
}

bool Notifier::record(std::uint64_t id, int attempt_no, const std::string& label,
                      const Attempt& tried, std::int64_t now_ms, NotifyRound& round) {
  const std::int64_t delay = tried.delivered ? 0 : retry_delay(attempt_no);
  auto recorded = writer_.execute([&](storage::WriteTxn& txn) -> Result<json> {
    if (tried.delivered) {
      auto r = store_.outbox().record_delivered(txn, id);
      if (!r) return std::unexpected(r.error());
      return json{{"status", "delivered"}};
    }
    return store_.outbox().record_failure(txn, id, now_ms, tried.error, delay, options_.retry,
                                          tried.permanent);
  });
  if (!recorded) {
    log_("error", label + ": cannot record the outcome: " + recorded.error().message);
    return false;  // the writer is stopping or failing: try again next round
  }
  const std::string what = label + ", attempt " + std::to_string(attempt_no);
  if (tried.delivered) {
    ++round.delivered;
    if (!options_.command.empty())
      log_("info",
           what + ": delivered" + (tried.output.empty() ? "" : "; output: " + tried.output));
  } else if ((*recorded)["status"] == "failed") {
    ++round.failed;
    log_("error", what + ": " + tried.error + "; failed for good, kept for the operator");
  } else {
    ++round.retried;
    const std::int64_t next = (*recorded)["next_attempt_ms"];
    if (!round.next_due_ms || next < *round.next_due_ms) round.next_due_ms = next;
    log_("warn", what + ": " + tried.error + "; next try at " + iso8601_utc(next));
  }
  return true;
}

}  // namespace tawasul::node
