// Tests of the HTTP server behind the seam (node/http/server.hpp) and of the
// bounded pools (node/bounded_pool.hpp): real sockets on 127.0.0.1 (port 0),
// hostile clients (idle, trickling, bursts, header bombs, slow requests).
// Deadlines here are generous and only detect a freeze; nothing is timed.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_site.hpp"
#include "node/bounded_pool.hpp"
#include "node/http/router.hpp"
#include "node/http/server.hpp"
#include "test_support.hpp"

namespace {

namespace http = tawasul::node::http;
using namespace std::chrono_literals;
using tawasul::node::BoundedGate;
using tawasul::node::BoundedPool;

// How long a test client waits for any one answer before it calls the
// server frozen (generous: the machine may be busy).
constexpr timeval kClientWait{20, 0};

// A client connection with raw bytes in and out.
class Conn {
 public:
  explicit Conn(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &kClientWait, sizeof kClientWait);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(Conn&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // False when the server closed or reset the connection.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // One whole answer (head and Content-Length body); "" when the connection
  // ends or kClientWait passes first. `wait`: false reads only what is here.
  std::string answer(bool wait = true) {
    for (;;) {
      if (auto whole = take_answer(); !whole.empty()) return whole;
      char buf[8192];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, wait ? 0 : MSG_DONTWAIT);
      if (n <= 0) return {};
      pending_.append(buf, static_cast<std::size_t>(n));
    }
  }

  // True when the server ends the connection (end of stream or reset)
  // within kClientWait; what it sends first is discarded.
  bool closed_by_server() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  std::string take_answer() {
    const auto head_end = pending_.find("\r\n\r\n");
    if (head_end == std::string::npos) return {};
    std::size_t length = 0;
    std::string head = pending_.substr(0, head_end);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (const auto at = head.find("\r\ncontent-length:"); at != std::string::npos) {
      length = std::stoul(head.substr(at + 17));
    }
    const std::size_t total = head_end + 4 + length;
    if (pending_.size() < total) return {};
    std::string whole = pending_.substr(0, total);
    pending_.erase(0, total);
    return whole;
  }

  int fd_;
  std::string pending_;
};

int status_of(const std::string& answer) {
  if (!answer.starts_with("HTTP/1.1 ") || answer.size() < 12) return 0;
  return std::stoi(answer.substr(9, 3));
}

std::string body_of(const std::string& answer) {
  const auto at = answer.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : answer.substr(at + 4);
}

// The JSON error code of an answer in the error shape, "" otherwise.
std::string error_code(const std::string& answer) {
  auto j = nlohmann::json::parse(body_of(answer), nullptr, false);
  if (!j.is_object() || !j.contains("error")) return {};
  return j["error"].value("code", "");
}

std::string get(const std::string& target, const std::string& extra = {}) {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

// A server with a few routes: /ping, /echo?n=…, /throw, POST /body, and
// whatever `more` adds.
struct TestServer {
  http::Router router;
  std::unique_ptr<http::Server> server;
  int port = 0;

  explicit TestServer(http::Limits limits = {}, std::size_t handlers = 4,
                      const std::function<void(http::Router&)>& more = {}) {
    router.Get("/ping", [](const http::Request&, http::Response& res) {
      res.set_content("pong", "text/plain");
    });
    router.Get("/echo", [](const http::Request& req, http::Response& res) {
      res.set_content(req.get_param_value("n"), "text/plain");
    });
    router.Get("/throw", [](const http::Request&, http::Response&) {
      throw std::runtime_error("a handler's bug");
    });
    router.Post("/body", [](const http::Request& req, http::Response& res) {
      res.set_content(std::to_string(req.body.size()), "text/plain");
    });
    if (more) more(router);
    server = std::make_unique<http::Server>(router);
    auto bound = server->bind(http::ServerOptions{"127.0.0.1", 0, handlers, limits});
    REQUIRE(bound);
    port = *bound;
    server->start();
  }
  ~TestServer() { server->stop(); }
};

}  // namespace

TEST_CASE("the server answers, keeps the connection alive and takes pipelined requests",
          "[http][server]") {
  TestServer s;
  Conn c(s.port);
  REQUIRE(c.send(get("/ping")));
  const std::string first = c.answer();
  CHECK(status_of(first) == 200);
  CHECK(body_of(first) == "pong");
  // Three requests in one write, answered in order on the same connection.
  REQUIRE(c.send(get("/echo?n=1") + get("/echo?n=2") + get("/echo?n=three%20%2B")));
  CHECK(body_of(c.answer()) == "1");
  CHECK(body_of(c.answer()) == "2");
  CHECK(body_of(c.answer()) == "three +");
}

TEST_CASE("404, 405 and a throwing handler get the JSON error shape, and the server goes on",
          "[http][server]") {
  TestServer s;
  Conn c(s.port);
  REQUIRE(c.send(get("/nowhere")));
  const std::string missing = c.answer();
  CHECK(status_of(missing) == 404);
  CHECK(error_code(missing) == "not_found");
  REQUIRE(c.send("DELETE /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  const std::string wrong = c.answer();
  CHECK(status_of(wrong) == 405);
  CHECK(error_code(wrong) == "method_not_allowed");
  REQUIRE(c.send(get("/throw")));
  const std::string thrown = c.answer();
  CHECK(status_of(thrown) == 500);
  CHECK(error_code(thrown) == "internal");
  REQUIRE(c.send(get("/ping")));
  CHECK(status_of(c.answer()) == 200);
  REQUIRE(c.send(get("/" + std::string(http::kPathMax, 'a'))));
  CHECK(status_of(c.answer()) == 414);
}

TEST_CASE("hundreds of idle and trickling connections do not delay another client",
          "[http][server][hostile]") {
  TestServer s;
  constexpr int kIdle = 200;
  constexpr int kTrickling = 100;
  std::vector<Conn> idle;
  for (int i = 0; i < kIdle; ++i) idle.emplace_back(s.port);
  std::vector<Conn> trickling;
  for (int i = 0; i < kTrickling; ++i) trickling.emplace_back(s.port);
  // One header byte per second on each trickling connection.
  const std::string slow = get("/ping", "X-Slow: " + std::string(64, 's') + "\r\n");
  std::atomic<bool> stop{false};
  std::thread trickler([&] {
    for (std::size_t i = 0; i < slow.size() && !stop; ++i) {
      for (auto& c : trickling) c.send(slow.substr(i, 1));
      for (int tick = 0; tick < 10 && !stop; ++tick) std::this_thread::sleep_for(100ms);
    }
  });
  REQUIRE(tawasul::test::wait_until([&] { return s.server->connections() >= kIdle + kTrickling; }));
  std::this_thread::sleep_for(1500ms);  // the tricklers have begun their requests
  Conn normal(s.port);
  REQUIRE(normal.send(get("/ping")));
  const std::string answer = normal.answer();
  // Answered while every other connection is still open.
  const std::size_t open = s.server->connections();
  stop = true;
  trickler.join();
  CHECK(status_of(answer) == 200);
  CHECK(open >= kIdle + kTrickling + 1);
}

TEST_CASE("a burst of 500 new connections is accepted and each is answered",
          "[http][server][hostile]") {
  TestServer s;
  constexpr int kBurst = 500;
  std::vector<Conn> burst;
  for (int i = 0; i < kBurst; ++i) burst.emplace_back(s.port);  // all open before any request
  for (auto& c : burst) REQUIRE(c.send(get("/ping")));
  int answered = 0;
  for (auto& c : burst) answered += status_of(c.answer()) == 200 ? 1 : 0;
  CHECK(answered == kBurst);
}

TEST_CASE("header bombs are refused with 431 in the JSON error shape", "[http][server][hostile]") {
  TestServer s;
  SECTION("64 KiB of headers") {
    Conn c(s.port);
    c.send(get("/ping", "X-Bomb: " + std::string(64 * 1024, 'b') + "\r\n"));
    const std::string answer = c.answer();
    CHECK(status_of(answer) == 431);
    CHECK(error_code(answer) == "headers_too_large");
    CHECK(c.closed_by_server());
  }
  SECTION("1,000 header fields") {
    std::string fields;
    for (int i = 0; i < 1000; ++i) fields += "X-" + std::to_string(i) + ": 1\r\n";
    Conn c(s.port);
    c.send(get("/ping", fields));
    const std::string answer = c.answer();
    CHECK(status_of(answer) == 431);
    CHECK(error_code(answer) == "too_many_headers");
  }
  SECTION("the server goes on serving") {
    Conn c(s.port);
    REQUIRE(c.send(get("/ping", "X-Fine: " + std::string(8 * 1024, 'f') + "\r\n")));
    CHECK(status_of(c.answer()) == 200);
  }
}

TEST_CASE("a request that does not arrive within its deadline is closed",
          "[http][server][hostile]") {
  http::Limits limits;
  limits.header_timeout = 300ms;
  limits.body_timeout = 300ms;
  limits.idle_timeout = 60s;  // longer than the client waits: only the request deadline can close
  TestServer s(limits);
  SECTION("headers that never end") {
    Conn c(s.port);
    REQUIRE(c.send("GET /ping HTTP/1.1\r\nHost: x\r\n"));
    CHECK(c.closed_by_server());
  }
  SECTION("a body that never comes") {
    Conn c(s.port);
    REQUIRE(c.send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
    CHECK(c.closed_by_server());
  }
  SECTION("a whole request in time is answered") {
    Conn c(s.port);
    REQUIRE(c.send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
    const std::string answer = c.answer();
    CHECK(status_of(answer) == 200);
    CHECK(body_of(answer) == "3");
  }
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout",
          "[http][server][hostile]") {
  http::Limits limits;
  limits.idle_timeout = 300ms;
  TestServer s(limits);
  Conn c(s.port);
  REQUIRE(c.send(get("/ping")));
  CHECK(status_of(c.answer()) == 200);
  CHECK(c.closed_by_server());
  CHECK(tawasul::test::wait_until([&] { return s.server->connections() == 0; }));
}

TEST_CASE("a body over the server's limit is 413 and the connection closes",
          "[http][server][limits]") {
  http::Limits limits;
  limits.body_bytes = 1024;
  TestServer s(limits);
  Conn c(s.port);
  c.send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'x'));
  const std::string answer = c.answer();
  CHECK(status_of(answer) == 413);
  CHECK(error_code(answer) == "body_too_large");
  CHECK(c.closed_by_server());
}

TEST_CASE("a full handler queue is answered 503 with Retry-After, at once",
          "[http][server][limits]") {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  http::Limits limits;
  limits.handler_queue = 1;
  // One handler thread, one queued request: of five, at least three are refused.
  TestServer s(limits, 1, [released](http::Router& r) {
    r.Get("/block", [released](const http::Request&, http::Response& res) {
      released.wait();
      res.set_content("done", "text/plain");
    });
  });
  std::vector<Conn> clients;
  for (int i = 0; i < 5; ++i) {
    clients.emplace_back(s.port);
    REQUIRE(clients.back().send(get("/block")));
  }
  std::vector<std::string> answers(clients.size());
  auto refused = [&] {
    int n = 0;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (answers[i].empty()) answers[i] = clients[i].answer(false);
      n += status_of(answers[i]) == 503 ? 1 : 0;
    }
    return n;
  };
  REQUIRE(tawasul::test::wait_until([&] { return refused() >= 3; }));
  release.set_value();
  int done = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (answers[i].empty()) answers[i] = clients[i].answer();
    if (status_of(answers[i]) == 503) {
      CHECK(answers[i].find("\r\nRetry-After: 1\r\n") != std::string::npos);
      CHECK(error_code(answers[i]) == "busy");
    } else {
      CHECK(body_of(answers[i]) == "done");
      ++done;
    }
  }
  CHECK(done >= 1);
  CHECK(done <= 2);
}

TEST_CASE("connections beyond max_connections get 503 and are closed", "[http][server][limits]") {
  http::Limits limits;
  limits.max_connections = 16;
  TestServer s(limits);
  std::vector<Conn> held;
  for (int i = 0; i < 16; ++i) held.emplace_back(s.port);
  REQUIRE(tawasul::test::wait_until([&] { return s.server->connections() == 16; }));
  Conn extra(s.port);
  const std::string answer = extra.answer();
  CHECK(status_of(answer) == 503);
  CHECK(answer.find("\r\nRetry-After: 1\r\n") != std::string::npos);
  CHECK(extra.closed_by_server());
  // A place freed is a place taken again.
  held.pop_back();
  REQUIRE(tawasul::test::wait_until([&] { return s.server->connections() == 15; }));
  Conn next(s.port);
  REQUIRE(next.send(get("/ping")));
  CHECK(status_of(next.answer()) == 200);
}

TEST_CASE("a bounded pool refuses work beyond its queue and survives a throwing task",
          "[bounded_pool]") {
  BoundedPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  std::promise<void> started;
  REQUIRE(pool.try_submit([&] {
    started.set_value();
    released.wait();
    ++ran;
  }));
  started.get_future().wait();
  REQUIRE(pool.try_submit([] { throw std::runtime_error("poison"); }));
  REQUIRE(pool.try_submit([&] { ++ran; }));
  CHECK(pool.queued() == 2);
  CHECK_FALSE(pool.try_submit([&] { ++ran; }));  // the queue is full
  release.set_value();
  REQUIRE(tawasul::test::wait_until([&] { return ran == 2; }));
  CHECK(pool.try_submit([&] { ++ran; }));  // the thread lived through the throw
  REQUIRE(tawasul::test::wait_until([&] { return ran == 3; }));
  pool.stop();
  CHECK_FALSE(pool.try_submit([] {}));
}

TEST_CASE("a bounded gate runs at most its slots at once and refuses beyond its queue",
          "[bounded_pool]") {
  BoundedGate gate(1, 1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  std::thread holder([&] {
    gate.run([&] {
      entered.set_value();
      released.wait();
      return 1;
    });
  });
  entered.get_future().wait();
  std::optional<int> waited;
  std::thread waiter([&] { waited = gate.run([] { return 2; }); });
  REQUIRE(tawasul::test::wait_until([&] { return gate.in_use() == 2; }));
  CHECK_FALSE(gate.run([] { return 3; }).has_value());  // one running, one waiting: full
  release.set_value();
  holder.join();
  waiter.join();
  CHECK(waited == 2);  // it waited its turn, then ran
  CHECK(gate.run([] { return 4; }) == 4);
}

TEST_CASE("Argon2id beyond its gate is answered 503 with Retry-After", "[http][limits][accounts]") {
  using namespace tawasul::node::testing;
  Site site;
  auto& gate = site.api->password_gate();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // Fill every slot and the queue, as a flood of sign-ins would.
  std::vector<std::thread> hogs;
  auto hog = [&] { gate.run([&] { return (released.wait(), 0); }); };
  const std::size_t capacity = tawasul::node::core_count() + tawasul::node::kPasswordQueue;
  for (std::size_t i = 0; i < capacity; ++i) hogs.emplace_back(hog);
  REQUIRE(tawasul::test::wait_until([&] { return gate.in_use() == capacity; }));
  const nlohmann::json login{{"id", "nobody"}, {"password", "wrong password"}};
  auto busy = site.request("POST", "/api/v1/auth/login", login);
  CHECK(busy.status == 503);
  CHECK(busy.body["error"]["code"] == "busy");
  CHECK(busy.headers.count("Retry-After") == 1);
  release.set_value();
  for (auto& t : hogs) t.join();
  CHECK(site.request("POST", "/api/v1/auth/login", login).status == 401);
}
