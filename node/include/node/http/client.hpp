// A small blocking HTTP/1.1 client for the program's own use (the demo
// checks its members' health and files a sample case), on the same library
// as the server, with one deadline for the whole exchange.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace tawasul::node::http {

struct Reply {
  int status = 0;
  std::string body;
};

// One request on a new connection; nullopt when there is no answer (refused,
// reset, or `timeout` passed).
std::optional<Reply> fetch(const std::string& host, int port, const std::string& method,
                           const std::string& target, const std::string& body = {},
                           const std::string& content_type = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace tawasul::node::http
