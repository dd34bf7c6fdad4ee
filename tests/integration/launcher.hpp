// A small launcher for black-box tests: runs the real `tawasul` program as
// child processes and talks to them only through the CLI, HTTP and files.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tawasul::test {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `tawasul ARGS...` to completion, with `env` ("NAME=VALUE") added to
// this process's environment. exit_code is -signal when a signal ended it.
CommandResult run_tawasul(const std::vector<std::string>& args,
                          const std::vector<std::string>& env = {});

// A `tawasul run` process; stopped (SIGTERM, then SIGKILL) when destroyed.
class Daemon {
 public:
  Daemon(std::string name, std::vector<std::string> args, std::filesystem::path log_file,
         const std::vector<std::string>& env = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  // Sends `signal` (SIGINT is Ctrl-C) and waits; returns the exit code (-signal if killed).
  int stop(int signal = SIGTERM);
  bool running();
  pid_t pid() const { return pid_; }
  std::string log() const;

 private:
  std::string name_;
  std::filesystem::path log_file_;
  pid_t pid_ = -1;
};

// GET/POST helpers against 127.0.0.1:port; nullopt when nothing answered.
struct HttpReply {
  int status = 0;
  nlohmann::json body;
};
std::optional<HttpReply> http_get(int port, const std::string& path,
                                  const std::string& access_code = {});
std::optional<HttpReply> http_post_json(int port, const std::string& path, const std::string& body);

// True once GET /api/v1/health answers 200.
bool wait_healthy(int port);

}  // namespace tawasul::test
