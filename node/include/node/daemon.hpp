// The daemon: `tawasul run`. Composes the store, the writer, the HTTP API and
// the federation side of its role, then serves until SIGINT or SIGTERM.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "crypto/crypto.hpp"
#include "federation/interfaces.hpp"
#include "node/calendar.hpp"

namespace tawasul::node {

struct DaemonConfig {
  std::filesystem::path data;
  std::string http_host = "127.0.0.1";
  int http_port = 8080;
  int http_threads = 32;
  // HTTP bounds (node/http/server.hpp has all of them; these are the ones an
  // operator tunes): open connections, the idle keep-alive timeout, the
  // deadline for a request's line and headers, Argon2id hashes at once (0: cores).
  int http_max_connections = 10000;
  int http_idle_timeout_s = 10;
  int http_header_timeout_s = 10;
  int http_password_hashes = 0;
  // Node role: where the hub listens and its CURVE public key. Empty endpoint:
  // the node runs alone and keeps its events until a hub is configured.
  std::string hub_endpoint;
  crypto::CurvePublicKey hub_key{};
  // Node role: the hub's Ed25519 signing key, which signs the national
  // calendar it distributes; unset: CALENDAR messages are ignored.
  std::optional<crypto::SignPublicKey> hub_sign_key;
  // Hub role: where the router binds.
  std::string federation_listen = "tcp://127.0.0.1:7700";
  // Node role: the command that delivers notifications (node/API.md), run
  // through /bin/sh -c with the message as JSON on stdin; empty: the log.
  std::string notify_command;
  int notify_timeout_s = 10;
  // The working-day calendar (deploy/calendar/README.md) is the national
  // layer (the one the store holds from the hub, else the compiled-in
  // defaults) with this node's own layer (`calendar = FILE`) on top: the file
  // and its text (empty: none), checked alone when parsed, layered at start
  // and again under each national calendar the hub sends.
  std::string calendar_file;
  std::string calendar_text;
  // Hub role: the national layer it distributes (`national_calendar = FILE`),
  // checked at start; empty: none.
  std::string national_calendar_file;
  std::string national_calendar_text;
};

// Parses `tawasul run` arguments (and the INI file of --config); throws
// std::runtime_error with a clear message on any invalid option.
DaemonConfig parse_run_options(int argc, const char* const* argv);

// The national working calendar with this node's layer `calendar_file` on
// top (empty: the national one alone); throws std::runtime_error naming the
// file and line when it does not load.
std::shared_ptr<const WorkingCalendar> load_node_calendar(const std::string& calendar_file);

// Reads a calendar file whole; throws std::runtime_error when it cannot.
std::string read_calendar_file(const std::string& file);

// The national layer `national` (the one received from the hub; nullopt: the
// compiled-in defaults) with the node's own layer (`own_text` read from
// `own_file`; empty file name: none) on top. Throws std::runtime_error naming
// the file and line when it does not load.
std::shared_ptr<const WorkingCalendar> layered_calendar(
    const std::optional<federation::SignedCalendar>& national, const std::string& own_file,
    const std::string& own_text);

// Blocks SIGINT/SIGTERM, serves, returns the process exit code.
int run_daemon(const DaemonConfig& config);

}  // namespace tawasul::node
