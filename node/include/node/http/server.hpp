// The HTTP/1.1 server behind the seam: event-driven (Boost.Beast on Asio, in
// server.cpp only), so a connection costs a socket and a small buffer, not a
// thread. A few I/O threads read and write every connection; complete
// requests go to a bounded pool of handler threads (handlers may block: they
// wait on the writer's commit, or on Argon2id). Every phase has a bound and
// a deadline, listed in Limits with its default; node/API.md ("Limits")
// repeats them for clients.
//
// Thread rules: bind(), start() and stop() from the owning thread; the
// router is read-only while the server runs and outlives it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "node/error.hpp"
#include "node/http/router.hpp"

namespace tawasul::node::http {

using std::chrono::milliseconds;

struct Limits {
  // Threads running Asio (reading and writing sockets); 0: one per core.
  std::size_t io_threads = 0;
  // Complete requests waiting for a handler thread; beyond it, 503 with Retry-After.
  std::size_t handler_queue = 1024;
  // Open connections; a connection beyond it is answered 503 and closed.
  std::size_t max_connections = 10000;
  // Connections the kernel holds before accept (capped by net.core.somaxconn),
  // so a burst of new connections waits instead of being refused.
  int listen_backlog = 1024;
  // The request line and headers together, in bytes, and the count of header
  // fields; beyond either, 431.
  std::size_t header_bytes = 16 * 1024;
  std::size_t header_count = 100;
  // The largest body any route takes (routes hold their own, lower, limits
  // through the router's head check); beyond it, 413.
  std::uint64_t body_bytes = 5 * 1024 * 1024;
  // A connection with no request under way is closed after this long.
  milliseconds idle_timeout{10'000};
  // The request line and headers must arrive within this, from their first byte.
  milliseconds header_timeout{10'000};
  // The body must arrive within body_timeout plus its length at body_min_rate.
  milliseconds body_timeout{10'000};
  std::uint64_t body_min_rate = 64 * 1024;  // bytes per second
  // The answer must be taken within write_timeout plus its length at body_min_rate.
  milliseconds write_timeout{10'000};
  // After an answer that closes the connection, unread input is drained for
  // at most this long (so the peer reads the answer instead of a reset).
  milliseconds linger_timeout{2'000};
  // Seconds a client is told to wait (Retry-After) when the server is full.
  int retry_after_s = 1;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;               // 0: any free port
  std::size_t handlers = 32;  // handler threads
  Limits limits;
};

class Server {
 public:
  explicit Server(const Router& router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; returns the port (the chosen one, with port 0).
  Result<int> bind(const ServerOptions& options);
  // Starts the I/O and handler threads; returns at once.
  void start();
  // Closes the listener and every connection, lets running handlers finish
  // (their answers are dropped) and joins all threads. Idempotent.
  void stop();

  // Open connections, for tests and the operator.
  std::size_t connections() const;

  class Impl;  // server.cpp

 private:
  const Router& router_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tawasul::node::http
