#include "fault_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tawasul::test {

namespace {

// What one direction of a connection may hold before the proxy stops reading
// from its source (TCP's own flow control then slows the sender).
constexpr std::size_t kDirectionBufferMax = std::size_t{1} << 20;
constexpr std::size_t kReadChunk = 16 * 1024;
// Connections the proxy relays at once; beyond, a new one is closed at once.
constexpr std::size_t kConnectionsMax = 64;
constexpr int kPollMs = 5;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Closes with RST instead of FIN.
void reset_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

struct Chunk {
  std::int64_t release_ms;
  std::string bytes;
};

// One direction: bytes read from `from`, waiting to be written to `to`.
struct Direction {
  std::deque<Chunk> queue;
  std::size_t queued = 0;
  double tokens = 0;  // bytes the throttle allows now
  std::int64_t refilled_ms = now_ms();
};

struct Connection {
  int client = -1;
  int upstream = -1;
  Direction up;    // client -> upstream
  Direction down;  // upstream -> client
  bool blackholed = false;
  bool closed = false;
};

int connect_target(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  set_nonblocking(fd);
  return fd;
}

// Reads what `from` has into `d` (or drops it in a blackhole). False when
// the source closed or failed.
bool pump_in(int from, Direction& d, const FaultProxy::Settings& s) {
  if (d.queued >= kDirectionBufferMax) return true;
  char buf[kReadChunk];
  const ssize_t n = ::read(from, buf, sizeof buf);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  if (s.mode == FaultProxy::Mode::kBlackhole) {
    d.queue.clear();  // nothing read before it is delivered either
    d.queued = 0;
    return true;
  }
  const std::int64_t release = now_ms() + (s.mode == FaultProxy::Mode::kDelay ? s.delay_ms : 0);
  d.queue.push_back(Chunk{release, std::string(buf, static_cast<std::size_t>(n))});
  d.queued += static_cast<std::size_t>(n);
  return true;
}

// Writes what is due to `to`. False when the destination failed.
bool pump_out(int to, Direction& d, const FaultProxy::Settings& s) {
  if (s.mode == FaultProxy::Mode::kBlackhole) {
    d.queue.clear();
    d.queued = 0;
    return true;
  }
  const std::int64_t now = now_ms();
  if (s.mode == FaultProxy::Mode::kThrottle) {
    const double rate = static_cast<double>(s.bytes_per_second);
    d.tokens = std::min(rate / 10,  // a burst of at most 100 ms
                        d.tokens + rate * static_cast<double>(now - d.refilled_ms) / 1000.0);
  }
  d.refilled_ms = now;
  while (!d.queue.empty() && d.queue.front().release_ms <= now) {
    auto& chunk = d.queue.front();
    std::size_t n = chunk.bytes.size();
    if (s.mode == FaultProxy::Mode::kThrottle) {
      n = std::min(n, static_cast<std::size_t>(std::max(0.0, d.tokens)));
      if (n == 0) return true;
    }
    const ssize_t w = ::write(to, chunk.bytes.data(), n);
    if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    const auto written = static_cast<std::size_t>(w);
    if (s.mode == FaultProxy::Mode::kThrottle) d.tokens -= static_cast<double>(written);
    d.queued -= written;
    if (written < chunk.bytes.size()) {
      chunk.bytes.erase(0, written);
      return true;
    }
    d.queue.pop_front();
  }
  return true;
}

}  // namespace

FaultProxy::FaultProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1");
  }
  set_nonblocking(listen_fd_);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

void FaultProxy::set(Settings settings) {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    settings_ = settings;
    generation = ++generation_;
  }
  // The relay picks it up at its next turn (every kPollMs); bounded wait.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (applied_ < generation && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void FaultProxy::run() {
  std::vector<std::unique_ptr<Connection>> connections;
  auto close_all = [&](bool reset) {
    for (auto& c : connections) c->closed = true;
    for (auto& c : connections) {
      if (reset) {
        reset_close(c->client);
        reset_close(c->upstream);
      } else {
        ::close(c->client);
        ::close(c->upstream);
      }
    }
    connections.clear();
  };
  Mode last_mode = Mode::kPass;
  while (!stop_) {
    Settings s;
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(mutex_);
      s = settings_;
      generation = generation_;
    }
    if (reset_requested_.exchange(false)) close_all(true);
    if (s.mode == Mode::kClose) close_all(false);
    if (last_mode == Mode::kBlackhole && s.mode != Mode::kBlackhole) {
      // Streams that lost bytes cannot go on; their peers reconnect.
      for (auto& c : connections) {
        if (!c->blackholed) continue;
        reset_close(c->client);
        reset_close(c->upstream);
        c->closed = true;
      }
    }
    last_mode = s.mode;
    std::erase_if(connections, [](const auto& c) { return c->closed; });

    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (auto& c : connections) {
      if (s.mode == Mode::kBlackhole) c->blackholed = true;
      const short up_out = c->up.queue.empty() ? 0 : POLLOUT;
      const short down_out = c->down.queue.empty() ? 0 : POLLOUT;
      fds.push_back({c->client, static_cast<short>(POLLIN | down_out), 0});
      fds.push_back({c->upstream, static_cast<short>(POLLIN | up_out), 0});
    }
    if (::poll(fds.data(), fds.size(), kPollMs) < 0 && errno != EINTR) return;
    // Settings changed while we polled: the bytes now waiting are read under
    // the new ones at the next turn.
    {
      std::lock_guard lock(mutex_);
      if (generation_ != generation) continue;
    }
    applied_ = generation;

    if (fds[0].revents & POLLIN) {
      int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client >= 0) {
        ++accepted_;
        int upstream = s.mode == Mode::kClose || connections.size() >= kConnectionsMax
                           ? -1
                           : connect_target(target_port_);
        if (upstream < 0) {
          ::close(client);
        } else {
          set_nonblocking(client);
          auto c = std::make_unique<Connection>();
          c->client = client;
          c->upstream = upstream;
          c->blackholed = s.mode == Mode::kBlackhole;
          connections.push_back(std::move(c));
        }
      }
    }
    // Each connection: read what is there, write what is due (the poll
    // results index the connections as they were before the accept).
    for (std::size_t i = 0; i + 1 < fds.size(); i += 2) {
      auto& c = *connections[i / 2];
      bool ok = true;
      if (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) ok = ok && pump_in(c.client, c.up, s);
      if (fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR))
        ok = ok && pump_in(c.upstream, c.down, s);
      ok = ok && pump_out(c.upstream, c.up, s) && pump_out(c.client, c.down, s);
      if (!ok) {
        ::close(c.client);
        ::close(c.upstream);
        c.closed = true;
      }
    }
  }
  close_all(false);
}

}  // namespace tawasul::test
