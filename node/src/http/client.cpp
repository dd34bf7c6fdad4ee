#include "node/http/client.hpp"

#include "beast.hpp"

namespace tawasul::node::http {

namespace {
using namespace beast_names;

// The largest answer read (the demo's answers are a few KiB).
constexpr std::uint64_t kReplyBodyMax = 1024 * 1024;
}  // namespace

std::optional<Reply> fetch(const std::string& host, int port, const std::string& method,
                           const std::string& target, const std::string& body,
                           const std::string& content_type, std::chrono::milliseconds timeout) {
  try {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, host);
    if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kReplyBodyMax);
    bool answered = false;
    const auto endpoints = tcp::resolver(ioc).resolve(host, std::to_string(port));
    stream.expires_after(timeout);  // one deadline for connect, write and read
    stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return;
      bhttp::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
        if (wec) return;
        bhttp::async_read(stream, buffer, parser,
                          [&](beast::error_code rec, std::size_t) { answered = !rec; });
      });
    });
    ioc.run();
    if (!answered) return std::nullopt;
    return Reply{static_cast<int>(parser.get().result_int()), parser.get().body()};
  } catch (const std::exception&) {
    return std::nullopt;  // no such host, say
  }
}

}  // namespace tawasul::node::http
