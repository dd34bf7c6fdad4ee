#include "node/commands.hpp"

#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <iterator>

#include "crypto/crypto.hpp"
#include "crypto/envelope.hpp"
#include "federation/wire.hpp"
#include "node/calendar.hpp"
#include "node/clock.hpp"
#include "node/daemon.hpp"
#include "node/failpoint.hpp"
#include "node/identity.hpp"
#include "node/node_store.hpp"
#include "node/sweeper.hpp"
#include "node/time_util.hpp"
#include "node/writer.hpp"

namespace tawasul::node {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

constexpr const char* kUsage = R"(usage: tawasul COMMAND [options]

Commands:
  init     --role node|hub --code CODE --data DIR   create a node's keys, store and config
  run      --config FILE [options]                  serve as a node or hub (role from the data directory)
  enroll   --data HUBDIR --from NODE/identity.pub   admit a node's keys at the hub
           --data HUBDIR --code C --curve-public Z85 --sign-public HEX
  rotate-key --data DIR                             give a stopped node a new signing key (then enroll --replace at the hub)
  verify   --data DIR                               check every chain and signature in a store
  cases    --data DIR                               list the tracking numbers a store holds
  staff add --data DIR --id ID --name N --unit U --role R (--password-file F | --password-stdin)
                                                   create a staff account at a node
  org load --data DIR --file ORG.json                load or replace a node's organisation tree
  outbox   --data DIR [--failed] [--retry ID|all]    list the notifications waiting or failed; retry failed ones
  sweep    --data DIR [--now ISO8601|--now-ms N] [--calendar F]
                                                   escalate the cases whose deadline has passed (one round)
  calendar --year YYYY [--national F] [--file F…] [--json]
                                                   print a year's holidays and working days
  demo     [--dir DIR]                              start a hub and two nodes on loopback

`tawasul COMMAND --help` shows a command's options.
)";

po::variables_map parse(int argc, const char* const* argv, const po::options_description& options,
                        const char* usage) {
  po::options_description all;
  all.add_options()("help", "show this help");
  all.add(options);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: " << usage << "\n" << all << "\n";
    std::exit(0);
  }
  po::notify(vm);
  return vm;
}

int cmd_init(int argc, const char* const* argv) {
  std::string role;
  std::string code;
  std::string data;
  std::string http = "127.0.0.1:8080";
  po::options_description o("tawasul init");
  o.add_options()("role", po::value(&role)->required(), "node (a sector) or hub (the ministry)")(
      "code", po::value(&code)->required(), "the node's code, 2..16 of A-Z 0-9 (e.g. KSU)")(
      "data", po::value(&data)->required(), "data directory to create")(
      "http", po::value(&http), "HTTP address for the generated config (HOST:PORT)");
  parse(argc, argv, o, "tawasul init --role node|hub --code CODE --data DIR");
  if (role != "node" && role != "hub")
    throw std::runtime_error("--role must be node or hub (got '" + role + "')");
  auto dir = std::filesystem::absolute(data);
  auto identity = create_identity(dir, role == "hub" ? Role::kHub : Role::kNode, code);
  if (!identity) {
    std::cerr << "tawasul init: " << identity.error().message << "\n";
    return 1;
  }
  auto store = NodeStore::open(dir, *identity);
  if (!store) {
    std::cerr << "tawasul init: " << store.error().message << "\n";
    return 1;
  }
  store->reset();
  auto conf = dir / "tawasul.conf";
  if (!std::filesystem::exists(conf)) {
    std::ofstream out(conf);
    out << "# Tawasul " << role << " " << code
        << " — options of `tawasul run` (see `tawasul run --help`)\n"
        << "data = " << dir.string() << "\n";
    if (role == "node") {
      out << "# Delivers each notification: run by /bin/sh -c with the message as JSON on\n"
             "# stdin (node/API.md). Unset: notifications are written to the log.\n"
             "# notify_command = /usr/local/bin/tawasul-send-notification\n"
             "# notify_timeout = 10\n";
    }
    out << "\n[http]\nlisten = " << http << "\n\n[federation]\n";
    if (role == "hub") {
      out << "listen = tcp://127.0.0.1:7700\n";
    } else {
      out << "# hub = tcp://HUB-HOST:7700\n# hub_key = THE-HUB'S-CURVE-PUBLIC-KEY "
             "(curve_public_hex in "
             "its identity.pub)\n";
    }
  }
  std::cout << "created " << role << " " << code << " in " << dir.string() << "\n"
            << public_identity(*identity).dump(2) << "\n";
  if (role == "node") {
    std::cout << "next: at the hub, run  tawasul enroll --data HUBDIR --from "
              << (dir / kIdentityPubFile).string() << "\n";
  }
  return 0;
}

int cmd_enroll(int argc, const char* const* argv) {
  std::string data;
  std::string from;
  std::string code;
  std::string curve;
  std::string sign;
  std::vector<federation::RetiredKey> retired;
  po::options_description o("tawasul enroll");
  o.add_options()("data", po::value(&data)->required(), "the hub's data directory")(
      "from", po::value(&from), "the node's identity.pub")(
      "code", po::value(&code), "the node's code")("curve-public", po::value(&curve),
                                                   "the node's CURVE public key (Z85)")(
      "sign-public", po::value(&sign), "the node's Ed25519 public key (hex)")(
      "replace", "replace keys already enrolled under this code (key rotation)");
  auto vm = parse(
      argc, argv, o,
      "tawasul enroll --data HUBDIR (--from FILE | --code C --curve-public Z85 --sign-public HEX)");
  if (!from.empty()) {
    std::ifstream in(from);
    if (!in) throw std::runtime_error("cannot read " + from);
    json pub = json::parse(in, nullptr, false);
    if (pub.is_discarded() || !pub.is_object() || !pub.contains("code") ||
        !pub["code"].is_string() || !pub.contains("curve_public") ||
        !pub["curve_public"].is_string() || !pub.contains("sign_public") ||
        !pub["sign_public"].is_string()) {
      throw std::runtime_error(from +
                               " is not a node's identity.pub (code, curve_public, sign_public)");
    }
    if (pub.value("role", "node") != "node")
      throw std::runtime_error(from + " is not a sector node's identity");
    code = pub["code"];
    curve = pub["curve_public"];
    sign = pub["sign_public"];
    // After `tawasul rotate-key`: which events each old key signed.
    auto history = parse_retired_keys(pub.value("retired_sign_keys", json()));
    if (!history) throw std::runtime_error(from + ": " + history.error().message);
    retired = std::move(*history);
  }
  if (code.empty() || curve.empty() || sign.empty()) {
    throw std::runtime_error(
        "give --from FILE, or all of --code, --curve-public and --sign-public");
  }
  federation::EnrolledNode node;
  node.code = code;
  auto curve_key = federation::z85_decode(curve);
  if (!curve_key) throw std::runtime_error("--curve-public must be 40 characters of Z85");
  node.curve_public = *curve_key;
  auto sign_key = crypto::array_from_hex<32>(sign);
  if (!sign_key) throw std::runtime_error("--sign-public must be 64 hex digits");
  node.sign_public = *sign_key;
  node.retired = std::move(retired);
  auto identity = load_identity(data);
  if (!identity) {
    std::cerr << "tawasul enroll: " << identity.error().message << "\n";
    return 1;
  }
  if (identity->role != Role::kHub) {
    std::cerr << "tawasul enroll: " << data << " is not a hub's data directory\n";
    return 1;
  }
  auto store = NodeStore::open(data, *identity);
  if (!store) {
    std::cerr << "tawasul enroll: " << store.error().message << "\n";
    return 1;
  }
  auto r = (*store)->enroll(node, vm.count("replace") > 0, SystemClock().now_ms());
  if (!r) {
    std::cerr << "tawasul enroll: " << r.error().message << "\n";
    return 1;
  }
  std::cout << "enrolled " << code << " at hub " << identity->code << "\n";
  return 0;
}

// Key rotation of a stopped node (storage/FORMAT.md, "Key history"): the new
// key signs from the store's head + 1 on; identity.pub then tells the hub.
int cmd_rotate_key(int argc, const char* const* argv) {
  std::string data;
  po::options_description o("tawasul rotate-key");
  o.add_options()("data", po::value(&data)->required(), "the stopped node's data directory");
  parse(argc, argv, o, "tawasul rotate-key --data DIR");
  auto identity = load_identity(data);
  if (!identity) {
    std::cerr << "tawasul rotate-key: " << identity.error().message << "\n";
    return 1;
  }
  if (identity->role != Role::kNode) {
    std::cerr << "tawasul rotate-key: only a sector node's signing key rotates\n";
    return 1;
  }
  std::uint64_t head = 0;
  {
    auto store = NodeStore::open(data, *identity);
    if (!store) {
      std::cerr << "tawasul rotate-key: " << store.error().message << "\n";
      return 1;
    }
    auto h = (*store)->head(identity->code);
    if (!h) {
      std::cerr << "tawasul rotate-key: " << h.error().message << "\n";
      return 1;
    }
    head = *h;
  }
  auto rotated = rotate_signing_key(data, std::move(*identity), head);
  if (!rotated) {
    std::cerr << "tawasul rotate-key: " << rotated.error().message << "\n";
    return 1;
  }
  std::cout << "rotated the signing key of " << rotated->code << ": the old key signed events 1.."
            << head << ", the new one signs from " << head + 1 << "\n"
            << "next: at the hub, run  tawasul enroll --replace --data HUBDIR --from "
            << (std::filesystem::path(data) / kIdentityPubFile).string() << "\n";
  return 0;
}

Result<std::unique_ptr<NodeStore>> open_existing(const std::string& data) {
  if (!std::filesystem::exists(std::filesystem::path(data) / "store" / "data.mdb")) {
    return std::unexpected(Error::not_found("no store in " + data));
  }
  auto identity = load_identity(data);
  if (!identity) return std::unexpected(identity.error());
  return NodeStore::open(data, *identity);
}

int cmd_verify(int argc, const char* const* argv) {
  std::string data;
  po::options_description o("tawasul verify");
  o.add_options()("data", po::value(&data)->required(), "data directory to check");
  parse(argc, argv, o, "tawasul verify --data DIR");
  auto store = open_existing(data);
  if (!store) {
    std::cerr << "tawasul verify: " << store.error().message << "\n";
    return 2;
  }
  auto report = (*store)->verify();
  if (!report) {
    std::cerr << "FAULT: " << report.error().message << "\n";
    return 1;
  }
  std::cout << "verified " << data << ":";
  for (const auto& [stream, count] : report->streams)
    std::cout << " " << stream << " " << count << " events;";
  std::cout << " " << report->cases << " cases\n";
  return 0;
}

int cmd_cases(int argc, const char* const* argv) {
  std::string data;
  po::options_description o("tawasul cases");
  o.add_options()("data", po::value(&data)->required(), "data directory");
  parse(argc, argv, o, "tawasul cases --data DIR");
  auto store = open_existing(data);
  if (!store) {
    std::cerr << "tawasul cases: " << store.error().message << "\n";
    return 2;
  }
  auto numbers = (*store)->tracking_numbers();
  if (!numbers) {
    std::cerr << "tawasul cases: " << numbers.error().message << "\n";
    return 2;
  }
  for (const auto& n : *numbers) std::cout << n << "\n";
  return 0;
}

int cmd_staff(int argc, const char* const* argv) {
  if (argc < 2 || std::string(argv[1]) != "add") {
    std::cerr << "usage: tawasul staff add --data DIR --id ID --name NAME --unit UNIT --role ROLE "
                 "[--role ROLE…] [--confidential] (--password-file FILE | --password-stdin)\n";
    return 1;
  }
  std::string data;
  std::string id;
  std::string name;
  std::string unit;
  std::vector<std::string> roles;
  std::string password_file;
  po::options_description o("tawasul staff add");
  o.add_options()("data", po::value(&data)->required(), "the node's data directory")(
      "id", po::value(&id)->required(), "login id: 2..64 of a-z 0-9 . _ -")(
      "name", po::value(&name)->required(), "display name")("unit", po::value(&unit)->required(),
                                                            "the org unit the member belongs to")(
      "role", po::value(&roles)->required(),
      "employee, unit_head, coordinator, node_admin, call_centre_agent or auditor (repeatable)")(
      "confidential", "may see the unit's confidential cases")(
      "password-file", po::value(&password_file), "read the password from this file's first line")(
      "password-stdin", "read the password from standard input's first line");
  auto vm = parse(argc - 1, argv + 1, o,
                  "tawasul staff add --data DIR --id ID --name NAME --unit UNIT --role ROLE");
  std::string password;
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    if (!in) throw std::runtime_error("cannot read " + password_file);
    std::getline(in, password);
  } else if (vm.count("password-stdin")) {
    std::getline(std::cin, password);
  } else {
    throw std::runtime_error(
        "give --password-file FILE or --password-stdin (never a password on the command line)");
  }
  json body{{"id", id},
            {"name", name},
            {"unit", unit},
            {"roles", roles},
            {"confidential", vm.count("confidential") > 0}};
  auto member = parse_staff_member(body);
  if (!member) {
    std::cerr << "tawasul staff add: " << member.error().message << "\n";
    return 1;
  }
  if (auto ok = check_password(password); !ok) {
    std::cerr << "tawasul staff add: " << ok.error().message << "\n";
    return 1;
  }
  auto hash = crypto::hash_password(password);
  if (!hash) {
    std::cerr << "tawasul staff add: " << hash.error().message << "\n";
    return 1;
  }
  auto store = open_existing(data);
  if (!store) {
    std::cerr << "tawasul staff add: " << store.error().message << "\n";
    return 1;
  }
  auto added = (*store)->write([&](storage::WriteTxn& txn) {
    return (*store)->staff().add(txn, *member, *hash, SystemClock().now_ms());
  });
  if (!added) {
    std::cerr << "tawasul staff add: " << added.error().message << "\n";
    return 1;
  }
  std::cout << "added " << member->id << " (" << member->unit << ")\n";
  return 0;
}

int cmd_org(int argc, const char* const* argv) {
  if (argc < 2 || std::string(argv[1]) != "load") {
    std::cerr << "usage: tawasul org load --data DIR --file ORG.json\n";
    return 1;
  }
  std::string data;
  std::string file;
  po::options_description o("tawasul org load");
  o.add_options()("data", po::value(&data)->required(), "the node's data directory")(
      "file", po::value(&file)->required(), "the organisation tree (format: deploy/org/README.md)");
  parse(argc - 1, argv + 1, o, "tawasul org load --data DIR --file ORG.json");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto tree = OrgTree::parse_text(text);
  if (!tree) {
    std::cerr << "tawasul org load: " << file << ": " << tree.error().message << "\n";
    return 1;
  }
  auto store = open_existing(data);
  if (!store) {
    std::cerr << "tawasul org load: " << store.error().message << "\n";
    return 1;
  }
  if (tree->root() != (*store)->identity().code) {
    std::cerr << "tawasul org load: the tree's root is " << tree->root() << " but this node is "
              << (*store)->identity().code << "\n";
    return 1;
  }
  auto stored = (*store)->write([&](storage::WriteTxn& txn) {
    return (*store)->set_org_tree(txn, *tree, SystemClock().now_ms());
  });
  if (!stored) {
    std::cerr << "tawasul org load: " << stored.error().message << "\n";
    return 1;
  }
  std::cout << "loaded " << tree->size() << " units and " << tree->services().size()
            << " services into " << (*store)->identity().code << "\n";
  return 0;
}

int cmd_outbox(int argc, const char* const* argv) {
  std::string data;
  std::string retry;
  po::options_description o("tawasul outbox");
  o.add_options()("data", po::value(&data)->required(), "the node's data directory")(
      "failed", "list the messages that failed for good instead of those waiting")(
      "retry", po::value(&retry), "put a failed message (its id, or `all`) back in the outbox");
  auto vm = parse(argc, argv, o, "tawasul outbox --data DIR [--failed] [--retry ID|all]");
  auto store = open_existing(data);
  if (!store) {
    std::cerr << "tawasul outbox: " << store.error().message << "\n";
    return 2;
  }
  Outbox& outbox = (*store)->outbox();
  if (!retry.empty()) {
    std::uint64_t id = 0;
    if (retry != "all") {
      if (retry.find_first_not_of("0123456789") != std::string::npos || retry.size() > 19)
        throw std::runtime_error("--retry takes a message id or `all`");
      id = std::stoull(retry);
      if (id == 0) throw std::runtime_error("--retry takes a message id or `all`");
    }
    std::uint64_t moved = 0;
    auto r = (*store)->write([&](storage::WriteTxn& txn) -> Result<void> {
      auto n = outbox.retry_failed(txn, id, SystemClock().now_ms());
      if (!n) return std::unexpected(n.error());
      moved = *n;
      return {};
    });
    if (!r) {
      std::cerr << "tawasul outbox: " << r.error().message << "\n";
      return 1;
    }
    std::cout << "put " << moved << " failed message(s) back in the outbox\n";
    return 0;
  }
  // Entries hold no address (only the channel): nothing personal to mask here.
  const bool failed = vm.count("failed") > 0;
  auto entries = outbox.list(failed, 100000);
  if (!entries) {
    std::cerr << "tawasul outbox: " << entries.error().message << "\n";
    return 2;
  }
  for (const auto& e : *entries) {
    std::cout << e["id"] << " " << e.value("tracking_number", "") << " " << e.value("kind", "")
              << " " << e.value("channel", "") << " attempts=" << e.value("attempts", 0);
    if (e.contains("next_attempt_ms"))
      std::cout << " next=" << iso8601_utc(e["next_attempt_ms"].get<std::int64_t>());
    if (e.contains("last_error")) std::cout << " last_error=" << e["last_error"].dump();
    std::cout << "\n";
  }
  auto counts = outbox.counts();
  if (counts) std::cout << counts->pending << " pending, " << counts->failed << " failed\n";
  return 0;
}

// `tawasul sweep`: one round of the sweeper against a node's store, at the
// given instant or now. Bad input is exit code 2 with nothing written.
int cmd_sweep(int argc, const char* const* argv) {
  std::string data;
  std::string now_text;
  std::string now_ms_text;
  std::string calendar_file;
  po::options_description o("tawasul sweep");
  o.add_options()("data", po::value(&data), "the node's data directory (required)")(
      "now", po::value(&now_text),
      "sweep as at this instant, ISO 8601 with a zone, e.g. 2026-12-10T09:00:00Z "
      "(for drills and tests; default: the system clock)")(
      "now-ms", po::value(&now_ms_text), "the same, as milliseconds since the Unix epoch")(
      "calendar", po::value(&calendar_file),
      "this node's calendar file, as given to `tawasul run` (deploy/calendar/README.md); "
      "the next level's deadline is computed with it");
  constexpr const char* usage =
      "tawasul sweep --data DIR [--now ISO8601 | --now-ms N] [--calendar FILE]";
  auto refuse = [](const std::string& message) {
    std::cerr << "tawasul sweep: " << message << "\n";
    return 2;
  };
  std::shared_ptr<const WorkingCalendar> calendar;
  std::int64_t now_ms = 0;
  try {
    parse(argc, argv, o, usage);
    if (data.empty()) return refuse("--data DIR is required (see tawasul sweep --help)");
    if (!now_text.empty() && !now_ms_text.empty())
      return refuse("give --now or --now-ms, not both");
    if (!now_text.empty()) {
      auto parsed = parse_iso8601(now_text);
      if (!parsed) {
        return refuse(
            "--now must be an ISO 8601 instant with a zone, years 1900..2100, e.g. "
            "2026-12-10T09:00:00Z or 2026-12-10T12:00:00+03:00 (got '" +
            now_text + "')");
      }
      now_ms = *parsed;
    } else if (!now_ms_text.empty()) {
      constexpr std::int64_t kMaxMs = 4'102'444'800'000;  // 2100-01-01T00:00:00Z
      if (now_ms_text.size() > 13 ||
          now_ms_text.find_first_not_of("0123456789") != std::string::npos ||
          std::stoll(now_ms_text) > kMaxMs) {
        return refuse("--now-ms must be milliseconds since the Unix epoch, before 2100 (got '" +
                      now_ms_text + "')");
      }
      now_ms = std::stoll(now_ms_text);
    } else {
      now_ms = SystemClock().now_ms();
    }
    calendar = load_node_calendar(calendar_file);
  } catch (const po::error& e) {
    return refuse(std::string(e.what()) + " (see tawasul sweep --help)");
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  auto failpoints = failpoints_from_env();
  if (!failpoints) return refuse(failpoints.error().message);

  auto store = open_existing(data);
  if (!store) return refuse(store.error().message);
  const std::string code = (*store)->identity().code;
  if ((*store)->identity().role != Role::kNode)
    return refuse(data + " is a hub's data directory: the hub runs no sweeper");
  // Events must not go back in time: the escalation would be stamped before
  // what the chain already says happened.
  auto head = (*store)->head(code);
  if (!head) return refuse(head.error().message);
  if (*head > 0) {
    auto last = (*store)->read_events(code, *head, 1, std::size_t{1} << 30);
    if (!last || last->empty()) return refuse("cannot read the last event of " + code);
    auto event = crypto::decode_envelope(last->front());
    if (!event) return refuse("cannot decode the last event of " + code);
    const auto last_ms = static_cast<std::int64_t>(event->time_ms);
    if (now_ms < last_ms) {
      return refuse("the sweep's time " + iso8601_utc(now_ms) + " is before the latest event in " +
                    code + "'s chain (event " + std::to_string(*head) + " at " +
                    iso8601_utc(last_ms) + "): events must not go back in time");
    }
  }
  // The national layer the node holds from its hub, as `tawasul run` uses it.
  auto held = (*store)->national_calendar_held();
  if (!held) return refuse(held.error().message);
  if (*held) {
    try {
      calendar = layered_calendar(
          *held, calendar_file,
          calendar_file.empty() ? std::string() : read_calendar_file(calendar_file));
    } catch (const std::exception& e) {
      return refuse(e.what());
    }
  }
  (*store)->set_calendar(calendar);
  if (failpoints->any())
    std::cerr << "tawasul sweep: failpoint armed: " << failpoints->describe() << "\n";

  SystemClock clock;
  Writer writer((*store)->env());
  writer.start();
  SweeperOptions options;
  options.before_commit = sweeper_before_commit(*failpoints);
  federation::Log log = [](std::string_view level, std::string_view message) {
    if (level == "error") std::cerr << "tawasul sweep: " << message << "\n";
  };
  SweepRound round;
  {
    Sweeper sweeper(**store, writer, clock, std::move(options), log);
    round = sweeper.run_once(now_ms);
  }
  writer.stop();
  for (const auto& line : round.lines) std::cout << line << "\n";
  std::cout << "swept " << code << " at " << iso8601_utc(now_ms) << ": " << round.escalated
            << " escalated, " << round.handed_to_hub << " handed to the hub, " << round.closed
            << " closed, " << round.warned << " warned, " << round.stale << " stale, "
            << round.failed << " failed\n";
  if (round.next_due_ms && *round.next_due_ms <= now_ms)
    std::cout << "more deadlines are due at this time: run it again\n";
  return round.failed > 0 ? 1 : 0;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

json holiday_json(const Holiday& h) {
  return json{{"kind", holiday_kind_name(h.kind)},
              {"id", h.id},
              {"name", {{"ar", h.name_ar}, {"en", h.name_en}}},
              {"first", h.first.iso()},
              {"last", h.last.iso()},
              {"days", h.last.days() - h.first.days() + 1},
              {"first_hijri", hijri_json(to_hijri(h.first))},
              {"last_hijri", hijri_json(to_hijri(h.last))},
              {"source", h.at.source},
              {"line", h.at.line}};
}

int cmd_calendar(int argc, const char* const* argv) {
  int year = 0;
  std::string national;
  std::vector<std::string> files;
  po::options_description o("tawasul calendar");
  o.add_options()("year", po::value(&year)->required(), "the Gregorian year, 1900..2100")(
      "national", po::value(&national),
      "the national calendar file (default: deploy/calendar/saudi.conf, compiled in)")(
      "file", po::value(&files),
      "a node's calendar file layered over the national one (repeatable, applied in order; "
      "format: deploy/calendar/README.md)")("json", "print JSON");
  auto vm = parse(argc, argv, o,
                  "tawasul calendar --year YYYY [--national FILE] [--file FILE…] [--json]");
  if (year < kMinYear || year > kMaxYear)
    throw std::runtime_error("--year must be between 1900 and 2100 (got " + std::to_string(year) +
                             ")");
  std::vector<std::string> texts;
  std::vector<std::string> sources;
  texts.push_back(national.empty() ? std::string(national_calendar_text())
                                   : read_text_file(national));
  sources.push_back(national.empty() ? "saudi.conf (built in)" : national);
  for (const auto& f : files) {
    texts.push_back(read_text_file(f));
    sources.push_back(f);
  }
  std::vector<WorkingCalendar::Layer> layers;
  for (std::size_t i = 0; i < texts.size(); ++i) layers.push_back({texts[i], sources[i]});
  auto calendar = WorkingCalendar::load(layers);
  if (!calendar) {
    std::cerr << "tawasul calendar: " << calendar.error().message << "\n";
    return 1;
  }
  const WorkingCalendar& cal = **calendar;
  auto holidays = cal.holidays(year);
  auto opened = cal.opened(year);
  std::vector<std::string> weekend;
  for (int d = 0; d < 7; ++d)
    if (cal.weekend()[d]) weekend.emplace_back(weekday_name(d));

  if (vm.count("json")) {
    json out{{"year", year},
             {"time_zone", "Asia/Riyadh (UTC+03:00)"},
             {"weekend", weekend},
             {"hours", cal.hours().text()},
             {"holidays", json::array()},
             {"opened", json::array()}};
    for (const auto& h : holidays) out["holidays"].push_back(holiday_json(h));
    for (const auto& op : opened) {
      json entry{{"first", op.first.iso()},
                 {"last", op.last.iso()},
                 {"first_hijri", hijri_json(to_hijri(op.first))},
                 {"last_hijri", hijri_json(to_hijri(op.last))},
                 {"source", op.at.source},
                 {"line", op.at.line}};
      if (!op.name_en.empty()) entry["name"] = {{"ar", op.name_ar}, {"en", op.name_en}};
      out["opened"].push_back(entry);
    }
    json months = json::array();
    for (int m = 1; m <= 12; ++m) months.push_back(cal.working_days(year, m));
    out["working_days"] = {{"by_month", months}, {"total", cal.working_days(year)}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }

  std::cout << "Working calendar " << year << " — Asia/Riyadh (UTC+03:00)\n"
            << "weekend:";
  for (const auto& w : weekend) std::cout << " " << w;
  std::cout << "; working hours " << cal.hours().text() << "\n\nHolidays (" << holidays.size()
            << "):\n";
  for (const auto& h : holidays) {
    const auto days = h.last.days() - h.first.days() + 1;
    std::cout << "  " << h.first.iso() << (days > 1 ? " .. " + h.last.iso() : std::string(14, ' '))
              << "  " << to_hijri(h.first).iso()
              << (days > 1 ? " .. " + to_hijri(h.last).iso() : std::string(14, ' ')) << "  " << days
              << (days == 1 ? " day   " : " days  ") << h.name_en << " — " << h.name_ar << "  ["
              << holiday_kind_name(h.kind) << " " << h.id << ", " << h.at.source << " line "
              << h.at.line << "]\n";
  }
  if (!opened.empty()) {
    std::cout << "\nDeclared working:\n";
    for (const auto& op : opened) {
      std::cout << "  " << op.first.iso() << (op.last == op.first ? "" : " .. " + op.last.iso())
                << "  " << to_hijri(op.first).iso();
      if (!op.name_en.empty()) std::cout << "  " << op.name_en << " — " << op.name_ar;
      std::cout << "  [" << op.at.source << " line " << op.at.line << "]\n";
    }
  }
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::cout << "\nWorking days:\n";
  for (int m = 1; m <= 12; ++m)
    std::cout << "  " << kMonths[m - 1] << " " << cal.working_days(year, m) << "\n";
  std::cout << "  total " << cal.working_days(year) << "\n";
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (!crypto::initialize()) {
    std::cerr << "tawasul: libsodium could not start\n";
    return 2;
  }
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    std::cout << kUsage;
    return argc < 2 ? 1 : 0;
  }
  const std::string command = argv[1];
  // Each command parses its own options; argv[1] stands in for the program name.
  const int sub_argc = argc - 1;
  const char* const* sub_argv = argv + 1;
  try {
    if (command == "init") return cmd_init(sub_argc, sub_argv);
    if (command == "run") return run_daemon(parse_run_options(sub_argc, sub_argv));
    if (command == "enroll") return cmd_enroll(sub_argc, sub_argv);
    if (command == "verify") return cmd_verify(sub_argc, sub_argv);
    if (command == "rotate-key") return cmd_rotate_key(sub_argc, sub_argv);
    if (command == "cases") return cmd_cases(sub_argc, sub_argv);
    if (command == "demo") return run_demo(sub_argc, sub_argv);
    if (command == "staff") return cmd_staff(sub_argc, sub_argv);
    if (command == "org") return cmd_org(sub_argc, sub_argv);
    if (command == "outbox") return cmd_outbox(sub_argc, sub_argv);
    if (command == "calendar") return cmd_calendar(sub_argc, sub_argv);
    if (command == "sweep") return cmd_sweep(sub_argc, sub_argv);
    std::cerr << "tawasul: unknown command '" << command << "'\n\n" << kUsage;
    return 1;
  } catch (const po::error& e) {
    std::cerr << "tawasul " << command << ": " << e.what() << " (see tawasul " << command
              << " --help)\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "tawasul " << command << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace tawasul::node
