// The project's own HTTP request and response: the seam between the handlers
// and the server library (only node/src/http/ names Boost.Beast: server.cpp,
// and the demo's small client.cpp). Member names follow the ones the
// handlers were first written against, so a handler reads the same on
// either side of the seam.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>
#include <regex>
#include <string>

namespace tawasul::node::http {

// Header names compare without regard to ASCII case (RFC 9110 5.1).
struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](unsigned char x, unsigned char y) { return std::tolower(x) < std::tolower(y); });
  }
};

using Headers = std::multimap<std::string, std::string, CaseInsensitiveLess>;
using Params = std::multimap<std::string, std::string>;

struct Request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // the request target as sent, query included
  std::string path;    // the target's path, percent-decoded
  Params params;       // the query string, decoded ('+' is a space)
  Headers headers;
  std::string body;
  // The route's capture groups over `path` (set by the Router before the handler runs).
  std::smatch matches;
  std::string remote_addr;  // the peer's IP address
  int remote_port = 0;

  bool has_header(const std::string& key) const { return headers.count(key) > 0; }
  // The `id`-th value of header `key`, or "" when there is none.
  std::string get_header_value(const std::string& key, std::size_t id = 0) const {
    return nth(headers, key, id);
  }
  bool has_param(const std::string& key) const { return params.count(key) > 0; }
  std::string get_param_value(const std::string& key, std::size_t id = 0) const {
    return nth(params, key, id);
  }

 private:
  template <class Map>
  static std::string nth(const Map& map, const std::string& key, std::size_t id) {
    auto [first, last] = map.equal_range(key);
    for (auto it = first; it != last; ++it) {
      if (id-- == 0) return it->second;
    }
    return {};
  }
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  // Replaces any earlier value of the header.
  void set_header(const std::string& key, const std::string& value) {
    headers.erase(key);
    headers.emplace(key, value);
  }
  bool has_header(const std::string& key) const { return headers.count(key) > 0; }
  std::string get_header_value(const std::string& key) const {
    auto it = headers.find(key);
    return it == headers.end() ? std::string() : it->second;
  }
  void set_content(std::string content, const std::string& content_type) {
    body = std::move(content);
    set_header("Content-Type", content_type);
  }
};

}  // namespace tawasul::node::http
