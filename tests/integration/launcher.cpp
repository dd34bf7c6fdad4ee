#include "launcher.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "test_support.hpp"

namespace tawasul::test {
namespace {

pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& output,
            const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv_storage{TAWASUL_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The child's environment, built before the fork (nothing allocates after it).
  std::vector<std::string> env_storage(env);
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

std::optional<HttpReply> to_reply(const httplib::Result& res) {
  if (!res) return std::nullopt;
  HttpReply reply;
  reply.status = res->status;
  reply.body = nlohmann::json::parse(res->body, nullptr, false);
  return reply;
}

}  // namespace

CommandResult run_tawasul(const std::vector<std::string>& args,
                          const std::vector<std::string>& env) {
  char name[] = "/tmp/tawasul-cli-XXXXXX";
  int fd = ::mkstemp(name);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  pid_t pid = spawn(args, name, env);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CommandResult result{decode_status(status), slurp(name)};
  ::unlink(name);
  return result;
}

Daemon::Daemon(std::string name, std::vector<std::string> args, std::filesystem::path log_file,
               const std::vector<std::string>& env)
    : name_(std::move(name)), log_file_(std::move(log_file)) {
  pid_ = spawn(args, log_file_, env);
}

Daemon::~Daemon() {
  if (pid_ > 0) stop();
}

int Daemon::stop(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int status = 0;
  bool exited = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                           std::chrono::seconds(20));
  if (!exited) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return decode_status(status);
}

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string Daemon::log() const {
  return slurp(log_file_);
}

std::optional<HttpReply> http_get(int port, const std::string& path,
                                  const std::string& access_code) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  httplib::Headers headers;
  if (!access_code.empty()) headers.emplace("X-Access-Code", access_code);
  return to_reply(client.Get(path.c_str(), headers));
}

std::optional<HttpReply> http_post_json(int port, const std::string& path,
                                        const std::string& body) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  return to_reply(client.Post(path.c_str(), body, "application/json"));
}

bool wait_healthy(int port) {
  return wait_until([&] {
    auto r = http_get(port, "/api/v1/health");
    return r && r->status == 200;
  });
}

}  // namespace tawasul::test
