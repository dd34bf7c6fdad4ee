#include "node/daemon.hpp"

#include <signal.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <zmq.hpp>

#include "federation/hub_router.hpp"
#include "federation/uplink.hpp"
#include "federation/wire.hpp"
#include "node/clock.hpp"
#include "node/failpoint.hpp"
#include "node/http_api.hpp"
#include "node/identity.hpp"
#include "node/node_store.hpp"
#include "node/notifier.hpp"
#include "node/sweeper.hpp"
#include "node/time_util.hpp"
#include "node/writer.hpp"

namespace tawasul::node {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

std::pair<std::string, int> parse_listen(const std::string& text, const char* option) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw std::runtime_error(std::string(option) +
                             " must be HOST:PORT, e.g. 127.0.0.1:8080 (got '" + text + "')");
  }
  std::string host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    throw std::runtime_error(std::string(option) + ": invalid port '" + port + "'");
  }
  return {host, std::stoi(port)};
}

void check_endpoint(const std::string& endpoint, const char* option) {
  if (!endpoint.starts_with("tcp://") && !endpoint.starts_with("ipc://")) {
    throw std::runtime_error(std::string(option) +
                             " must be a ZeroMQ endpoint such as tcp://127.0.0.1:7700 (got '" +
                             endpoint + "')");
  }
}

// Writes one log line to stderr; safe from any thread.
federation::Log make_log(std::string code, const Clock& clock) {
  static std::mutex mutex;
  return [code = std::move(code), &clock](std::string_view level, std::string_view message) {
    std::lock_guard lock(mutex);
    std::cerr << iso8601_utc(clock.now_ms()) << " " << code << " [" << level << "] " << message
              << std::endl;
  };
}

// The node's own chain, as its uplink sees it.
class StoreSource final : public federation::EventSource {
 public:
  StoreSource(NodeStore& store, Writer& writer) : store_(store), writer_(writer) {}
  std::string origin() const override { return store_.identity().code; }
  std::uint64_t head() override { return store_.head(store_.identity().code).value_or(0); }
  std::vector<std::string> read(std::uint64_t from, std::size_t max_events,
                                std::size_t max_bytes) override {
    return store_.read_events(store_.identity().code, from, max_events, max_bytes)
        .value_or(std::vector<std::string>{});
  }
  void hub_acknowledged(std::uint64_t cursor) override {
    if (cursor == last_recorded_) return;
    last_recorded_ = cursor;
    // Recorded for operators (status, next HELLO); the hub's cursor stays the truth.
    writer_.submit(
        [this, cursor](storage::WriteTxn& txn) -> Result<json> {
          auto r = store_.set_hub_acked(txn, cursor);
          if (!r) return std::unexpected(r.error());
          return json{};
        },
        [](Result<json>) {});
  }

 private:
  NodeStore& store_;
  Writer& writer_;
  std::uint64_t last_recorded_ = 0;
};

// The hub's place for each node's verified events: the same writer, so
// replicated events are group-committed like everything else.
class StoreSink final : public federation::EventSink {
 public:
  StoreSink(NodeStore& store, Writer& writer) : store_(store), writer_(writer) {}
  std::uint64_t cursor(std::string_view origin) override { return store_.head(origin).value_or(0); }
  void store(std::string origin, std::vector<std::string> batch,
             std::function<void(federation::StoreOutcome)> done) override {
    auto shared = std::make_shared<std::vector<std::string>>(std::move(batch));
    writer_.submit(
        [this, origin, shared](storage::WriteTxn& txn) -> Result<json> {
          auto head = store_.store_remote(txn, origin, *shared);
          if (!head) return std::unexpected(head.error());
          return json{{"cursor", *head}};
        },
        [this, origin, done = std::move(done)](Result<json> r) {
          using Status = federation::StoreOutcome::Status;
          if (r) {
            done({Status::kStored, (*r)["cursor"].get<std::uint64_t>(), {}});
            return;
          }
          const std::string& code = r.error().code;
          Status status = code == "gap"           ? Status::kGap
                          : code == "fork"        ? Status::kFork
                          : code == "refused"     ? Status::kRefused
                          : code == "unsupported" ? Status::kUnsupported
                                                  : Status::kUnavailable;
          done({status, cursor(origin), r.error().message});
        });
  }

 private:
  NodeStore& store_;
  Writer& writer_;
};

// Node role: takes the national calendar the hub sends (federation/PROTOCOL.md,
// "The national calendar"). Verification, validation and storing happen in one
// writer command; the calendar in use changes only after that commit.
class CalendarUpdater final : public federation::CalendarReceiver {
 public:
  CalendarUpdater(NodeStore& store, Writer& writer, const DaemonConfig& config, std::uint64_t held,
                  federation::Log log)
      : store_(store), writer_(writer), config_(config), held_(held), log_(std::move(log)) {}
  std::uint64_t calendar_version() override { return held_; }
  void calendar_received(federation::SignedCalendar calendar) override {
    const std::string what = "national calendar version " + std::to_string(calendar.version);
    if (!config_.hub_sign_key) {
      log_("warn", what +
                       " from the hub ignored: no federation.hub_sign_key configured to check "
                       "its signature");
      return;
    }
    if (calendar.version <= held_) return;  // already held (a resend)
    auto shared = std::make_shared<federation::SignedCalendar>(std::move(calendar));
    auto result = std::make_shared<std::shared_ptr<const WorkingCalendar>>();
    writer_.submit(
        [this, shared, result](storage::WriteTxn& txn) -> Result<json> {
          std::vector<WorkingCalendar::Layer> own;
          if (!config_.calendar_file.empty())
            own.push_back({config_.calendar_text, config_.calendar_file});
          auto accepted = store_.accept_national_calendar(txn, *shared, *config_.hub_sign_key, own);
          if (!accepted) return std::unexpected(accepted.error());
          *result = *accepted;
          return json{};
        },
        [this, shared, result, what](Result<json> r) {
          if (!r) {
            log_("error", what + " from the hub refused (" + r.error().code +
                              "): " + r.error().message + "; the calendar in use is kept");
            return;
          }
          // Stored durably; new due times use it, promises made stay (node/SLA.md).
          store_.set_calendar(*result);
          held_ = shared->version;
          log_("info", what + " from the hub stored and in use");
        });
  }

 private:
  NodeStore& store_;
  Writer& writer_;
  const DaemonConfig& config_;
  std::atomic<std::uint64_t> held_;
  federation::Log log_;
};

}  // namespace

DaemonConfig parse_run_options(int argc, const char* const* argv) {
  std::string config_file;
  std::string data;
  std::string http_listen = "127.0.0.1:8080";
  int http_threads = 32;
  DaemonConfig defaults;
  int http_max_connections = defaults.http_max_connections;
  int http_idle_timeout = defaults.http_idle_timeout_s;
  int http_header_timeout = defaults.http_header_timeout_s;
  int http_password_hashes = defaults.http_password_hashes;
  std::string hub;
  std::string hub_key;
  std::string federation_listen = "tcp://127.0.0.1:7700";
  std::string notify_command;
  std::string notify_command_cli;
  int notify_timeout = 10;
  std::string calendar_file;
  std::string hub_sign_key;
  std::string national_calendar_file;
  po::options_description options(
      "tawasul run options (also accepted in the INI file given by --config)");
  options.add_options()("data", po::value(&data), "data directory (made by `tawasul init`)")(
      "http.listen", po::value(&http_listen), "HTTP address HOST:PORT (port 0: any free port)")(
      "http.threads", po::value(&http_threads), "HTTP handler threads (1..1024)")(
      "http.max_connections", po::value(&http_max_connections),
      "open HTTP connections at most (16..1000000); beyond: 503 and closed")(
      "http.idle_timeout", po::value(&http_idle_timeout),
      "seconds an HTTP connection may wait for its next request (1..3600)")(
      "http.header_timeout", po::value(&http_header_timeout),
      "seconds a request's line and headers may take to arrive (1..600)")(
      "http.password_hashes", po::value(&http_password_hashes),
      "Argon2id hashes at once for sign-ins and registrations (0: one per core; 0..256)")(
      "federation.hub", po::value(&hub),
      "node role: the hub's endpoint, e.g. tcp://127.0.0.1:7700")(
      "federation.hub_key", po::value(&hub_key),
      "node role: the hub's CURVE public key, hex (curve_public_hex of its identity.pub) or Z85")(
      "federation.hub_sign_key", po::value(&hub_sign_key),
      "node role: the hub's Ed25519 signing key, hex (sign_public of its identity.pub); it "
      "signs the national calendar the hub distributes (unset: that calendar is ignored)")(
      "federation.listen", po::value(&federation_listen), "hub role: endpoint to bind for nodes")(
      "notify_command", po::value(&notify_command),
      "node role: delivers each notification, run by /bin/sh -c with the message as JSON on "
      "stdin (node/API.md); unset: messages are written to the log")(
      "notify_timeout", po::value(&notify_timeout),
      "node role: seconds a notify_command may run before it is killed (1..300)")(
      "calendar", po::value(&calendar_file),
      "this node's calendar file, layered on the national defaults (deploy/calendar/README.md)")(
      "national_calendar", po::value(&national_calendar_file),
      "hub role: the national calendar file the hub distributes to every node "
      "(deploy/calendar/README.md; at most 64 KiB)");
  po::options_description cli;
  cli.add_options()("config", po::value(&config_file), "INI configuration file")(
      "help", "show this help")("notify-command", po::value(&notify_command_cli),
                                "the same as --notify_command");
  cli.add(options);
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, cli), vm);
  if (vm.count("help")) {
    std::cout << "usage: tawasul run --config FILE [options]\n" << cli << "\n";
    std::exit(0);
  }
  if (vm.count("config")) {
    std::ifstream file(vm["config"].as<std::string>());
    if (!file)
      throw std::runtime_error("cannot read config file " + vm["config"].as<std::string>());
    // Command-line values, stored first, win over the file's.
    po::store(po::parse_config_file(file, options, false), vm);
  }
  po::notify(vm);
  DaemonConfig config;
  if (data.empty()) throw std::runtime_error("--data (or data = … in the config file) is required");
  config.data = data;
  auto [host, port] = parse_listen(http_listen, "http.listen");
  config.http_host = host;
  config.http_port = port;
  if (http_threads < 1 || http_threads > 1024)
    throw std::runtime_error("http.threads must be 1..1024");
  config.http_threads = http_threads;
  auto in_range = [](int v, int lo, int hi, const char* name) {
    if (v < lo || v > hi) {
      throw std::runtime_error(std::string(name) + " must be " + std::to_string(lo) + ".." +
                               std::to_string(hi));
    }
    return v;
  };
  config.http_max_connections =
      in_range(http_max_connections, 16, 1'000'000, "http.max_connections");
  config.http_idle_timeout_s = in_range(http_idle_timeout, 1, 3600, "http.idle_timeout");
  config.http_header_timeout_s = in_range(http_header_timeout, 1, 600, "http.header_timeout");
  config.http_password_hashes = in_range(http_password_hashes, 0, 256, "http.password_hashes");
  if (!hub.empty()) {
    check_endpoint(hub, "federation.hub");
    // Hex is the form for config files: Z85 may contain '#', which starts an
    // INI comment. Z85 is accepted too (on the command line it is safe).
    std::optional<crypto::CurvePublicKey> key;
    if (hub_key.size() == 64) {
      if (auto k = crypto::array_from_hex<32>(hub_key)) key = *k;
    } else {
      key = federation::z85_decode(hub_key);
    }
    if (!key) {
      throw std::runtime_error(
          "federation.hub_key must be the hub's CURVE public key: 64 hex digits (curve_public_hex "
          "in "
          "its identity.pub) or 40 characters of Z85");
    }
    config.hub_endpoint = hub;
    config.hub_key = *key;
  }
  if (!hub_sign_key.empty()) {
    auto key = crypto::array_from_hex<32>(hub_sign_key);
    if (!key) {
      throw std::runtime_error(
          "federation.hub_sign_key must be the hub's signing public key: 64 hex digits "
          "(sign_public in its identity.pub)");
    }
    config.hub_sign_key = *key;
  }
  check_endpoint(federation_listen, "federation.listen");
  config.federation_listen = federation_listen;
  config.notify_command = vm.count("notify-command") ? notify_command_cli : notify_command;
  if (notify_timeout < 1 || notify_timeout > 300)
    throw std::runtime_error("notify_timeout must be 1..300 seconds");
  config.notify_timeout_s = notify_timeout;
  // A calendar that does not load stops the start, naming the file and line:
  // due dates computed from a half-read calendar would be promises broken.
  if (!calendar_file.empty()) config.calendar_text = read_calendar_file(calendar_file);
  config.calendar_file = calendar_file;
  // Checked alone here (naming the file and line); run_daemon layers it over
  // the national layer the store holds, which may differ from the defaults.
  if (!calendar_file.empty()) {
    auto own = WorkingCalendar::load({{config.calendar_text, calendar_file}});
    if (!own) throw std::runtime_error("calendar: " + own.error().message);
  }
  // The hub's national layer: refused here, before anything starts, when it
  // does not load (naming the file and line) or is too large to send.
  if (!national_calendar_file.empty()) {
    config.national_calendar_text = read_calendar_file(national_calendar_file);
    if (config.national_calendar_text.empty() ||
        config.national_calendar_text.size() > federation::kCalendarTextMax) {
      throw std::runtime_error("national_calendar: " + national_calendar_file +
                               " must hold 1 byte to " +
                               std::to_string(federation::kCalendarTextMax / 1024) + " KiB");
    }
    auto loaded = WorkingCalendar::load({{config.national_calendar_text, national_calendar_file}});
    if (!loaded) throw std::runtime_error("national_calendar: " + loaded.error().message);
    config.national_calendar_file = national_calendar_file;
  }
  return config;
}

std::string read_calendar_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("calendar: cannot read " + file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::shared_ptr<const WorkingCalendar> layered_calendar(
    const std::optional<federation::SignedCalendar>& national, const std::string& own_file,
    const std::string& own_text) {
  // The layers view these strings; they outlive the load.
  const std::string national_source =
      national ? "national calendar v" + std::to_string(national->version) + " from the hub"
               : std::string("national defaults");
  std::vector<WorkingCalendar::Layer> layers = {
      {national ? std::string_view(national->text) : national_calendar_text(), national_source}};
  if (!own_file.empty()) layers.push_back({own_text, own_file});
  auto calendar = WorkingCalendar::load(layers);
  if (!calendar) throw std::runtime_error("calendar: " + calendar.error().message);
  return *calendar;
}

std::shared_ptr<const WorkingCalendar> load_node_calendar(const std::string& calendar_file) {
  return layered_calendar(
      std::nullopt, calendar_file,
      calendar_file.empty() ? std::string() : read_calendar_file(calendar_file));
}

int run_daemon(const DaemonConfig& config) {
  // Signals are taken synchronously by this thread; block them before any
  // other thread exists so none of them receives one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  // Past a file-size limit (LimitFSIZE) a write fails with EFBIG, answered as
  // a full disk (507), instead of the signal ending the node.
  ::signal(SIGXFSZ, SIG_IGN);

  // Crash tests arm faults here (failpoint.hpp); a value not understood stops
  // the start rather than run with a fault silently not armed.
  auto failpoints = failpoints_from_env();
  if (!failpoints) {
    std::cerr << "tawasul: " << failpoints.error().message << "\n";
    return 2;
  }

  SystemClock clock;
  auto identity = load_identity(config.data);
  if (!identity) {
    std::cerr << "tawasul: " << identity.error().message << "\n";
    return 2;
  }
  auto log = make_log(identity->code, clock);
  auto store = NodeStore::open(config.data, *identity);
  if (!store) {
    std::cerr << "tawasul: " << store.error().message << "\n";
    return 2;
  }
  if (int stale = (*store)->env().stale_readers_cleared(); stale > 0) {
    log("warn",
        "cleared " + std::to_string(stale) + " stale reader slot(s) left by a crashed process");
  }
  // The calendar: the national layer the store holds (at a node: the last one
  // accepted from the hub; at the hub: its national_calendar file, published
  // now), else the compiled-in defaults, with the node's own layer on top.
  std::optional<federation::SignedCalendar> national;
  if (!config.national_calendar_file.empty()) {
    if (identity->role != Role::kHub) {
      std::cerr << "tawasul: national_calendar is a hub setting; a node receives the national "
                   "calendar from its hub\n";
      return 2;
    }
    Result<federation::SignedCalendar> published =
        std::unexpected(Error::internal("not published"));
    auto written = (*store)->write([&](storage::WriteTxn& txn) -> Result<void> {
      published = (*store)->publish_national_calendar(txn, config.national_calendar_text,
                                                      config.national_calendar_file);
      if (!published) return std::unexpected(published.error());
      return {};
    });
    if (!written) {
      std::cerr << "tawasul: national_calendar: " << written.error().message << "\n";
      return 2;
    }
    national = *published;
    log("info", "national calendar " + config.national_calendar_file + " is version " +
                    std::to_string(national->version) + ", distributed to the nodes");
  } else if (identity->role == Role::kNode) {
    auto held = (*store)->national_calendar_held();
    if (!held) {
      std::cerr << "tawasul: " << held.error().message << "\n";
      return 2;
    }
    national = *held;
    if (national)
      log("info", "using national calendar version " + std::to_string(national->version) +
                      " received from the hub");
  }
  try {
    (*store)->set_calendar(layered_calendar(national, config.calendar_file, config.calendar_text));
  } catch (const std::exception& e) {
    std::cerr << "tawasul: " << e.what() << "\n";
    return 2;
  }
  if (failpoints->any()) log("warn", "failpoint armed: " + failpoints->describe());
  Writer writer((*store)->env());
  writer.start();
  // Sector nodes tell beneficiaries what happens to their cases; the hub
  // notifies no one (its outbox stays empty).
  std::unique_ptr<Notifier> notifier;
  if (identity->role == Role::kNode) {
    NotifierOptions options;
    options.command = config.notify_command;
    options.timeout = std::chrono::seconds(config.notify_timeout_s);
    notifier = std::make_unique<Notifier>(**store, writer, clock, options, log);
    notifier->start();
    log("info", config.notify_command.empty()
                    ? "notifications are written to this log (no notify_command set)"
                    : "notifications are delivered by notify_command");
  }
  // Sector nodes escalate their own cases when a deadline passes (node/SLA.md).
  std::unique_ptr<Sweeper> sweeper;
  if (identity->role == Role::kNode) {
    SweeperOptions options;
    options.before_commit = sweeper_before_commit(*failpoints);
    sweeper = std::make_unique<Sweeper>(**store, writer, clock, std::move(options), log);
    sweeper->start();
  }

  zmq::context_t context(1);
  std::unique_ptr<StoreSource> source;
  std::unique_ptr<CalendarUpdater> calendar_updater;
  std::unique_ptr<StoreSink> sink;
  std::unique_ptr<federation::Uplink> uplink;
  std::unique_ptr<federation::HubRouter> router;
  std::string federation_line;
  if (identity->role == Role::kNode) {
    if (config.hub_endpoint.empty()) {
      log("warn",
          "no federation.hub configured: serving alone; events wait here until a hub is "
          "configured");
    } else {
      source = std::make_unique<StoreSource>(**store, writer);
      federation::UplinkOptions options;
      options.hub_endpoint = config.hub_endpoint;
      options.hub_curve_public = config.hub_key;
      options.curve = identity->curve;
      calendar_updater = std::make_unique<CalendarUpdater>(**store, writer, config,
                                                           national ? national->version : 0, log);
      options.calendar_receiver = calendar_updater.get();
      if (!config.hub_sign_key)
        log("warn",
            "no federation.hub_sign_key configured: the national calendar the hub sends is "
            "ignored");
      uplink = std::make_unique<federation::Uplink>(context, *source, options, log);
      uplink->start();
      federation_line = " (uplink to " + config.hub_endpoint + ")";
    }
  } else {
    sink = std::make_unique<StoreSink>(**store, writer);
    router = std::make_unique<federation::HubRouter>(
        context, *sink, **store,
        federation::HubOptions{config.federation_listen, identity->curve, 2, national}, log);
    auto endpoint = router->start();
    if (!endpoint) {
      std::cerr << "tawasul: " << endpoint.error() << "\n";
      if (sweeper) sweeper->stop();
      if (notifier) notifier->stop();
      writer.stop();
      return 2;
    }
    federation_line = " (federation " + *endpoint + ")";
  }

  auto federation_status = [&]() -> json {
    if (uplink) {
      auto s = uplink->status();
      json out{{"hub", config.hub_endpoint},
               {"streaming", s.streaming},
               {"halted", s.halted},
               {"acked", s.acked},
               {"last_error", s.last_error}};
      // Backing off after a NACK (federation/PROTOCOL.md, "Back-off").
      if (!s.refused.empty()) {
        out["refused"] = s.refused;
        out["refusal"] = s.refusal;
        out["retries"] = s.retries;
        out["retry_in_ms"] = s.retry_in_ms;
      }
      return out;
    }
    if (router) {
      json refusals = json::object();
      for (const auto& [code, r] : router->status().refusals) {
        refusals[code] = json{
            {"reason", r.reason}, {"message", r.message}, {"cursor", r.cursor}, {"count", r.count}};
      }
      return json{{"listen", config.federation_listen}, {"refusals", refusals}};
    }
    return json{{"hub", nullptr}};
  };
  HttpApi api(**store, writer, clock, federation_status);
  HttpOptions http_options{config.http_host, config.http_port, config.http_threads};
  http_options.limits.max_connections = static_cast<std::size_t>(config.http_max_connections);
  http_options.limits.idle_timeout = std::chrono::seconds(config.http_idle_timeout_s);
  http_options.limits.header_timeout = std::chrono::seconds(config.http_header_timeout_s);
  http_options.password_hashes = static_cast<std::size_t>(config.http_password_hashes);
  auto port = api.bind(http_options);
  if (!port) {
    std::cerr << "tawasul: " << port.error().message << "\n";
    if (uplink) uplink->stop();
    if (router) router->stop();
    if (sweeper) sweeper->stop();
    if (notifier) notifier->stop();
    writer.stop();
    return 2;
  }
  api.start();
  std::cout << "tawasul: " << identity->code << " " << role_name(identity->role)
            << " ready on http://" << config.http_host << ":" << *port << federation_line
            << std::endl;
  log("info",
      "serving HTTP on " + config.http_host + ":" + std::to_string(*port) + federation_line);

  int received = 0;
  sigwait(&signals, &received);
  log("info", std::string("stopping on ") + (received == SIGINT ? "SIGINT" : "SIGTERM"));
  // Stop taking work, finish what was queued, then close the store.
  api.stop();
  if (uplink) uplink->stop();
  if (router) router->stop();
  // A delivery in flight is cut short and stays pending; outcomes go
  // through the writer, so the notifier (and the sweeper) stop first.
  if (sweeper) sweeper->stop();
  if (notifier) notifier->stop();
  writer.stop();
  return 0;
}

}  // namespace tawasul::node
