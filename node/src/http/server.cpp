// The HTTP server behind the seam (node/http/server.hpp); with client.cpp
// the only code that names Boost.Beast. One Connection per socket, all its
// steps on its own strand; a deadline on every wait (idle, headers, body,
// write, linger).
#include "node/http/server.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <iostream>
#include <limits>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "beast.hpp"
#include "node/bounded_pool.hpp"

namespace tawasul::node::http {

namespace {

using namespace beast_names;
using Message = bhttp::request<bhttp::string_body>;

// Room in a connection's input buffer beyond the header limit: the first
// bytes of a body or of a pipelined request read along with the headers.
constexpr std::size_t kBufferSlack = 16 * 1024;
// Bytes asked for by one read that waits for a request or drains input.
constexpr std::size_t kReadChunk = 4096;
// Unread input discarded after an answer that closes the connection: at
// least this much, and up to a declared body (within the body limit), so a
// client that sends its whole body before it reads still reads the refusal.
constexpr std::size_t kLingerBytesMin = 1024 * 1024;
// The pause after a failed accept (out of file descriptors, say): the
// listener retries instead of spinning.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX sequences decoded (malformed ones kept as sent); '+' is a space in a query.
std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void parse_query(std::string_view query, Params& out) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    out.emplace(
        percent_decode(pair.substr(0, eq), true),
        eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true));
  }
}

// The project's Request for a message's head (the body is moved in later).
Request to_request(const Message& m, const std::string& addr, int port) {
  Request r;
  r.method = std::string(m.method_string());
  r.target = std::string(m.target());
  const auto q = r.target.find('?');
  r.path = percent_decode(std::string_view(r.target).substr(0, q), false);
  if (q != std::string::npos) parse_query(std::string_view(r.target).substr(q + 1), r.params);
  for (const auto& field : m) {
    r.headers.emplace(std::string(field.name_string()), std::string(field.value()));
  }
  r.remote_addr = addr;
  r.remote_port = port;
  return r;
}

std::chrono::milliseconds at_rate(std::chrono::milliseconds floor, std::uint64_t bytes,
                                  std::uint64_t bytes_per_s) {
  const std::uint64_t rate = bytes_per_s == 0 ? 1 : bytes_per_s;
  return floor + std::chrono::milliseconds(static_cast<std::int64_t>(bytes * 1000 / rate));
}

Response busy(const Limits& limits, const std::string& what) {
  Response res = error_response(Error{503, "busy", what + "; try again shortly", ""});
  res.set_header("Retry-After", std::to_string(limits.retry_after_s));
  return res;
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

}  // namespace

class Server::Impl {
 public:
  Impl(const Router& r, const ServerOptions& options)
      : router(r),
        limits(options.limits),
        ioc(static_cast<int>(io_thread_count())),
        acceptor(ioc),
        accept_retry(ioc),
        handlers(options.handlers, options.limits.handler_queue) {}

  std::size_t io_thread_count() const {
    return limits.io_threads == 0 ? core_count() : limits.io_threads;
  }
  void accept();
  void admit(tcp::socket socket);

  const Router& router;
  const Limits limits;
  std::atomic<std::size_t> connections{0};
  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
  BoundedPool handlers;
  std::vector<std::thread> io_threads;
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Server::Impl& server)
      : stream_(std::move(socket)),
        server_(server),
        limits_(server.limits),
        buffer_(server.limits.header_bytes + kBufferSlack) {
    ++server_.connections;
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      remote_addr_ = peer.address().to_string();
      remote_port_ = peer.port();
    }
  }
  ~Connection() { --server_.connections; }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->wait(); });
  }

 private:
  // Waits (idle_timeout) for the first byte of the next request, unless a
  // pipelined one is already buffered.
  void wait() {
    parser_.reset();
    if (buffer_.size() > 0) return read_header();
    stream_.expires_after(limits_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return;  // idle too long, or closed: the connection ends
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.header_bytes));
    // The body limit is applied after the head check, which words the
    // refusal per route (Beast would refuse a long Content-Length first).
    // (Not boost::none: Boost 1.74 compares a length with it as with 0.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(limits_.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      return refuse(Error{431, "headers_too_large",
                          "the request line and headers are over " +
                              std::to_string(limits_.header_bytes / 1024) + " KiB",
                          ""});
    }
    if (ec == bhttp::error::bad_content_length) {
      return refuse(Error::bad_request("invalid_content_length", "Content-Length is not a number"));
    }
    if (is_parse_error(ec)) {
      return refuse(Error::bad_request("malformed_request", "the request is not valid HTTP/1.1"));
    }
    if (ec) return;  // timed out or closed: the connection ends
    const Message& head = parser_->get();
    version_ = head.version();
    if (static_cast<std::size_t>(std::distance(head.begin(), head.end())) > limits_.header_count) {
      return refuse(Error{
          431, "too_many_headers",
          "the request has over " + std::to_string(limits_.header_count) + " header fields", ""});
    }
    const bool expect_continue = beast::iequals(head[bhttp::field::expect], "100-continue");
    if (auto refused = server_.router.check_head(to_request(head, remote_addr_, remote_port_),
                                                 expect_continue)) {
      // Its body, if any, is unread: this answer closes the connection.
      return send(std::move(*refused), false);
    }
    if (parser_->content_length().value_or(0) > limits_.body_bytes) return refuse(too_large());
    parser_->body_limit(limits_.body_bytes);
    if (expect_continue && !parser_->is_done()) return send_continue();
    read_body();
  }

  void send_continue() {
    auto interim =
        std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, version_);
    stream_.expires_after(limits_.write_timeout);
    bhttp::async_write(stream_, *interim,
                       [self = shared_from_this(), interim](beast::error_code ec, std::size_t) {
                         if (!ec) self->read_body();
                       });
  }

  // The body's deadline grows with its declared length, from a floor.
  void read_body() {
    if (parser_->is_done()) return dispatch();
    const std::uint64_t length = parser_->content_length().value_or(limits_.body_bytes);
    stream_.expires_after(at_rate(limits_.body_timeout, length, limits_.body_min_rate));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec == bhttp::error::body_limit) return self->refuse(self->too_large());
                        if (!ec) self->dispatch();
                      });
  }

  // Hands the request to a handler thread; the answer comes back to this
  // connection's strand. A full queue is answered 503 at once.
  void dispatch() {
    Message message = parser_->release();
    parser_.reset();
    const bool keep_alive = message.keep_alive();
    auto req = std::make_shared<Request>(to_request(message, remote_addr_, remote_port_));
    req->body = std::move(message.body());
    stream_.expires_never();
    auto self = shared_from_this();
    const bool queued = server_.handlers.try_submit([self, req, keep_alive] {
      Response res = self->server_.router.handle(*req);
      asio::post(self->stream_.get_executor(), [self, keep_alive, res = std::move(res)]() mutable {
        self->send(std::move(res), keep_alive);
      });
    });
    if (!queued) send(busy(limits_, "the server is busy"), keep_alive);
  }

  void refuse(const Error& e) { send(error_response(e), false); }
  Error too_large() const {
    return Error{413, "body_too_large",
                 "the request body is over " + std::to_string(limits_.body_bytes / 1024) + " KiB",
                 ""};
  }

  void send(Response res, bool keep_alive) {
    if (beast::iequals(res.get_header_value("Connection"), "close")) keep_alive = false;
    auto answer = std::make_shared<bhttp::response<bhttp::string_body>>();
    try {
      answer->version(version_);
      answer->result(static_cast<unsigned>(res.status));
      for (const auto& [name, value] : res.headers) {
        if (beast::iequals(name, "Connection") || beast::iequals(name, "Content-Length")) continue;
        answer->insert(name, value);
      }
      answer->body() = std::move(res.body);
      answer->keep_alive(keep_alive);
      answer->prepare_payload();
    } catch (const std::exception& e) {
      // A response Beast cannot send (a body on a 204, say): a 500 instead.
      std::cerr << "http: cannot send a " << res.status << " answer: " << e.what() << "\n";
      return send(error_response(Error::internal("internal error")), keep_alive);
    }
    stream_.expires_after(
        at_rate(limits_.write_timeout, answer->body().size(), limits_.body_min_rate));
    bhttp::async_write(
        stream_, *answer,
        [self = shared_from_this(), answer, keep_alive](beast::error_code ec, std::size_t) {
          if (ec) return;
          if (keep_alive) return self->wait();
          self->linger();
        });
  }

  // Closes for sending, then reads and discards what the peer still sends
  // (at most kLingerBytesMax, for linger_timeout): closing a socket with
  // unread input resets it, and the peer could lose the answer.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    std::uint64_t unread = 0;
    if (parser_ && !parser_->is_done()) {
      unread = std::min(parser_->content_length().value_or(0), limits_.body_bytes);
    }
    linger_budget_ = std::max<std::uint64_t>(kLingerBytesMin, unread + kBufferSlack);
    buffer_.consume(buffer_.size());
    stream_.expires_after(at_rate(limits_.linger_timeout, unread, limits_.body_min_rate));
    drain();
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(kReadChunk), [self = shared_from_this()](
                                                             beast::error_code ec, std::size_t n) {
      self->linger_budget_ -= std::min<std::uint64_t>(n, self->linger_budget_);
      if (ec || self->linger_budget_ == 0) return;
      self->drain();
    });
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  const Limits& limits_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  unsigned version_ = 11;
  std::string remote_addr_;
  int remote_port_ = 0;
  std::uint64_t linger_budget_ = 0;
};

}  // namespace

void Server::Impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (ec) {
      std::cerr << "http: accept failed: " << ec.message() << "\n";
      accept_retry.expires_after(kAcceptRetry);
      accept_retry.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
      return;
    }
    admit(std::move(socket));
    accept();
  });
}

// A connection over max_connections gets a short 503 (if its buffer takes
// it at once) and is closed: it costs nothing after this.
void Server::Impl::admit(tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  if (connections.load() < limits.max_connections) {
    std::make_shared<Connection>(std::move(socket), *this)->start();
    return;
  }
  Response res = busy(limits, "too many connections");
  std::string raw =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + res.get_header_value("Content-Type") +
      "\r\nRetry-After: " + res.get_header_value("Retry-After") +
      "\r\nConnection: close\r\nContent-Length: " + std::to_string(res.body.size()) + "\r\n\r\n" +
      res.body;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(raw), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

Server::Server(const Router& router) : router_(router) {}

Server::~Server() {
  stop();
}

Result<int> Server::bind(const ServerOptions& options) {
  stop();
  impl_ = std::make_unique<Impl>(router_, options);
  try {
    tcp::resolver resolver(impl_->ioc);
    const tcp::endpoint endpoint =
        resolver.resolve(options.host, std::to_string(options.port))->endpoint();
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen(options.limits.listen_backlog);
    return impl_->acceptor.local_endpoint().port();
  } catch (const std::exception& e) {
    impl_.reset();
    return std::unexpected(Error::internal("cannot listen for HTTP on " + options.host + ":" +
                                           std::to_string(options.port) + " (" + e.what() + ")"));
  }
}

void Server::start() {
  if (!impl_ || !impl_->io_threads.empty()) return;
  impl_->accept();
  for (std::size_t i = 0; i < impl_->io_thread_count(); ++i) {
    impl_->io_threads.emplace_back([impl = impl_.get()] {
      // A handler that throws is logged; the I/O thread goes on.
      for (;;) {
        try {
          impl->ioc.run();
          return;
        } catch (const std::exception& e) {
          std::cerr << "http: an I/O step threw: " << e.what() << "\n";
        }
      }
    });
  }
}

void Server::stop() {
  if (!impl_) return;
  impl_->ioc.stop();
  for (auto& t : impl_->io_threads) t.join();
  impl_->io_threads.clear();
  // Running handlers finish (their answers go nowhere); queued ones are dropped.
  impl_->handlers.stop();
  impl_.reset();
}

std::size_t Server::connections() const {
  return impl_ ? impl_->connections.load() : 0;
}

}  // namespace tawasul::node::http
