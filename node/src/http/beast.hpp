// Boost.Beast and Asio for the two files that use them (server.cpp,
// client.cpp), with the short names they share. Private to node/src/http.
#pragma once

// Boost 1.74's Asio uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace tawasul::node::http::beast_names {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

}  // namespace tawasul::node::http::beast_names
