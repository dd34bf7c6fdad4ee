// `tawasul demo`: a ministry hub and two sector nodes on loopback.
//
// Creates (or reuses) three data directories, enrols the nodes at the hub,
// writes their configs, starts three `tawasul run` processes, waits until
// each answers, files one sample case so that the printed look-up works as
// printed, and stops everything on Ctrl-C (or when any process dies).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "federation/wire.hpp"
#include "node/clock.hpp"
#include "node/commands.hpp"
#include "node/http/client.hpp"
#include "node/identity.hpp"
#include "node/node_store.hpp"
#include "node/org_tree.hpp"
#include "sample_org.hpp"

namespace tawasul::node {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

struct Member {
  std::string code;
  Role role;
  std::string name_ar;
  std::string name_en;
  int http_port = 0;
  std::filesystem::path dir;
  pid_t pid = -1;
};

bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// The preferred port if it is free, else one the kernel picks.
int choose_port(int preferred) {
  if (preferred > 0 && port_free(preferred)) return preferred;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::filesystem::path self_exe() {
  return std::filesystem::read_symlink("/proc/self/exe");
}

pid_t spawn(const Member& m) {
  auto log = m.dir / "tawasul.log";
  auto config = (m.dir / "tawasul.conf").string();
  auto exe = self_exe().string();
  pid_t pid = ::fork();
  if (pid == 0) {
    // The child must not outlive the demo, even if the demo is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const char* args[] = {exe.c_str(), "run", "--config", config.c_str(), nullptr};
    ::execv(exe.c_str(), const_cast<char* const*>(args));
    ::_exit(127);
  }
  return pid;
}

bool healthy(int port) {
  auto res = http::fetch("127.0.0.1", port, "GET", "/api/v1/health", {}, {},
                         std::chrono::milliseconds(2000));
  return res && res->status == 200;
}

void stop_all(std::vector<Member>& members) {
  for (auto& m : members) {
    if (m.pid > 0) ::kill(m.pid, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (auto& m : members) {
    while (m.pid > 0) {
      int status = 0;
      pid_t r = ::waitpid(m.pid, &status, WNOHANG);
      if (r == m.pid || r < 0) {
        m.pid = -1;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(m.pid, SIGKILL);
        ::waitpid(m.pid, &status, 0);
        m.pid = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

// Demo staff, made on first run so the staff API can be tried at once. The
// password is printed: this is a demo, never a deployment.
constexpr const char* kDemoPassword = "tawasul-demo-2026";

Result<void> add_demo_staff(NodeStore& store, const std::string& code) {
  if (auto existing = store.staff().list(); !existing || !existing->empty()) return {};
  struct Account {
    const char* id;
    const char* name;
    std::string unit;
    const char* role;
  };
  std::vector<Account> accounts = {{"admin", "مدير النظام", code, "node_admin"},
                                   {"coord", "منسق رعاية المستفيدين", code, "coordinator"},
                                   {"agent", "موظف مركز الاتصال", code, "call_centre_agent"},
                                   {"auditor", "المراجع الداخلي", code, "auditor"}};
  if (code == "KSU") accounts.push_back({"stipends", "موظفة المكافآت", "KSU.SA.FIN", "employee"});
  auto hash = crypto::hash_password(kDemoPassword, crypto::PasswordCost::interactive());
  if (!hash) return std::unexpected(Error::internal(hash.error().message));
  return store.write([&](storage::WriteTxn& txn) -> Result<void> {
    for (const auto& a : accounts) {
      auto member = parse_staff_member(
          json{{"id", a.id}, {"name", a.name}, {"unit", a.unit}, {"roles", {a.role}}});
      if (!member) return std::unexpected(member.error());
      if (auto r = store.staff().add(txn, *member, *hash, SystemClock().now_ms()); !r) return r;
    }
    return {};
  });
}

}  // namespace

int run_demo(int argc, const char* const* argv) {
  std::string dir = "tawasul-demo";
  int base_port = 8080;
  int federation_port = 7700;
  po::options_description o("tawasul demo");
  o.add_options()("help", "show this help")(
      "dir", po::value(&dir), "where the three data directories live (kept between runs)")(
      "http-port", po::value(&base_port), "HTTP port of the hub; the nodes take the next two")(
      "federation-port", po::value(&federation_port), "the hub's federation port");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, o), vm);
  if (vm.count("help")) {
    std::cout << "usage: tawasul demo [options]\n" << o << "\n";
    return 0;
  }
  po::notify(vm);
  if (base_port < 1 || base_port > 65533 || federation_port < 1 || federation_port > 65535) {
    throw std::runtime_error("ports must be 1..65535");
  }

  // Block the stop signals now, so a Ctrl-C during start-up is handled too.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);

  auto root = std::filesystem::absolute(dir);
  std::vector<Member> members = {
      {"MOE",
       Role::kHub,
       "وزارة التعليم — مركز رعاية المستفيدين",
       "Ministry of Education — Beneficiary Care Centre",
       0,
       {},
       -1},
      {"KSU", Role::kNode, "جامعة الملك سعود", "King Saud University", 0, {}, -1},
      {"RUH",
       Role::kNode,
       "الإدارة العامة للتعليم بمنطقة الرياض",
       "Riyadh Region Education Directorate",
       0,
       {},
       -1},
  };
  std::vector<Identity> identities;
  for (std::size_t i = 0; i < members.size(); ++i) {
    auto& m = members[i];
    m.dir = root / (m.role == Role::kHub ? "hub" : m.code);
    auto id = std::filesystem::exists(m.dir / kIdentityKeyFile)
                  ? load_identity(m.dir)
                  : create_identity(m.dir, m.role, m.code);
    if (!id) {
      std::cerr << "tawasul demo: " << m.code << ": " << id.error().message << "\n";
      return 1;
    }
    identities.push_back(*id);
    m.http_port = choose_port(base_port + static_cast<int>(i));
  }
  federation_port = choose_port(federation_port);
  {
    // Enrol the nodes; the store is closed again before any fork (LMDB rule).
    auto hub = NodeStore::open(members[0].dir, identities[0]);
    if (!hub) {
      std::cerr << "tawasul demo: " << hub.error().message << "\n";
      return 1;
    }
    for (std::size_t i = 1; i < members.size(); ++i) {
      federation::EnrolledNode node{identities[i].code, identities[i].curve.public_key,
                                    identities[i].sign.public_key};
      if (auto r = (*hub)->enroll(node, false, SystemClock().now_ms()); !r) {
        std::cerr << "tawasul demo: enrolling " << node.code << ": " << r.error().message << "\n";
        return 1;
      }
    }
  }
  // The nodes get the sample organisation trees (deploy/org/) on first run.
  for (std::size_t i = 1; i < members.size(); ++i) {
    auto store = NodeStore::open(members[i].dir, identities[i]);
    if (!store) {
      std::cerr << "tawasul demo: " << store.error().message << "\n";
      return 1;
    }
    if (auto r = add_demo_staff(**store, members[i].code); !r) {
      std::cerr << "tawasul demo: demo staff: " << r.error().message << "\n";
      return 1;
    }
    if ((*store)->org_tree()) continue;
    auto tree = OrgTree::parse_text(members[i].code == "KSU" ? sample_org::kKsu : sample_org::kRuh);
    if (!tree) {
      std::cerr << "tawasul demo: sample org tree: " << tree.error().message << "\n";
      return 1;
    }
    auto stored = (*store)->write([&](storage::WriteTxn& txn) {
      return (*store)->set_org_tree(txn, *tree, SystemClock().now_ms());
    });
    if (!stored) {
      std::cerr << "tawasul demo: " << stored.error().message << "\n";
      return 1;
    }
  }
  const std::string hub_endpoint = "tcp://127.0.0.1:" + std::to_string(federation_port);
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto& m = members[i];
    std::ofstream out(m.dir / "tawasul.conf", std::ios::trunc);
    out << "# written by `tawasul demo`\ndata = " << m.dir.string() << "\n";
    if (m.role == Role::kHub) {
      // The hub distributes the national calendar (deploy/calendar/saudi.conf).
      const auto national = m.dir / "national.conf";
      std::ofstream(national, std::ios::trunc) << national_calendar_text();
      out << "national_calendar = " << national.string() << "\n";
    }
    out << "\n[http]\nlisten = 127.0.0.1:" << m.http_port << "\n\n[federation]\n";
    if (m.role == Role::kHub) {
      out << "listen = " << hub_endpoint << "\n";
    } else {
      out << "hub = " << hub_endpoint
          << "\nhub_key = " << crypto::to_hex(identities[0].curve.public_key)
          << "\nhub_sign_key = " << crypto::to_hex(identities[0].sign.public_key) << "\n";
    }
  }
  for (auto& m : members) m.pid = spawn(m);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (auto& m : members) {
    while (!healthy(m.http_port)) {
      int status = 0;
      if (::waitpid(m.pid, &status, WNOHANG) == m.pid ||
          std::chrono::steady_clock::now() > deadline) {
        m.pid = -1;
        std::cerr << "tawasul demo: " << m.code << " did not start; see "
                  << (m.dir / "tawasul.log").string() << "\n";
        stop_all(members);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  const std::string hub_url = "http://127.0.0.1:" + std::to_string(members[0].http_port);
  const std::string ksu_url = "http://127.0.0.1:" + std::to_string(members[1].http_port);
  const std::string sample =
      R"({"type":"inquiry","subject":"موعد صرف المكافأة الشهرية","description":"متى تصرف مكافأة الطلاب لهذا الشهر؟ لم تصلني حتى الآن.","channel":"portal","beneficiary":{"name":"سارة أحمد","phone":"+966501234567"}})";
  std::string sample_lookup;
  {
    auto res = http::fetch("127.0.0.1", members[1].http_port, "POST", "/api/v1/cases", sample,
                           "application/json");
    if (res && res->status == 201) {
      json receipt = json::parse(res->body);
      sample_lookup = "curl -s " + hub_url + "/api/v1/cases/" +
                      receipt["tracking_number"].get<std::string>() +
                      " -H 'X-Access-Code: " + receipt["access_code"].get<std::string>() + "'";
    }
  }

  std::cout << "Tawasul demo federation is running (Ctrl-C stops it; data and logs in "
            << root.string() << ")\n";
  for (const auto& m : members) {
    std::cout << "  " << (m.role == Role::kHub ? "hub " : "node") << "  " << m.code
              << "  http://127.0.0.1:" << m.http_port << "   " << m.name_en;
    if (m.role == Role::kHub) std::cout << " (federation " << hub_endpoint << ")";
    std::cout << "\n";
  }
  std::cout << "\nFile a case at KSU:\n  curl -s -X POST " << ksu_url
            << "/api/v1/cases -H 'Content-Type: application/json' -d '" << sample << "'\n";
  std::cout << "\nLook it up with the tracking_number and access_code it returns, at KSU or at the "
               "hub:\n  curl -s "
            << hub_url << "/api/v1/cases/TRACKING-NUMBER -H 'X-Access-Code: ACCESS-CODE'\n";
  if (!sample_lookup.empty())
    std::cout << "\nA sample case was filed at KSU; at the hub it is:\n  " << sample_lookup << "\n";
  std::cout << "\nStaff accounts at each node (password " << kDemoPassword
            << "): admin (node administrator), coord (coordinator), agent (call centre), "
               "auditor; at KSU also stipends (employee, student stipends). Sign in:\n  curl -s -X "
               "POST "
            << ksu_url
            << "/api/v1/auth/login -H 'Content-Type: application/json' -d "
               "'{\"id\":\"coord\",\"password\":\""
            << kDemoPassword << "\"}'\n";
  std::cout << "\nThen the staff queue, with the token it returns:\n  curl -s " << ksu_url
            << "/api/v1/queue -H 'Authorization: Bearer TOKEN'\n";
  std::cout << std::flush;

  for (;;) {
    int received = 0;
    sigwait(&signals, &received);
    if (received == SIGCHLD) {
      bool died = false;
      for (auto& m : members) {
        int status = 0;
        if (m.pid > 0 && ::waitpid(m.pid, &status, WNOHANG) == m.pid) {
          std::cerr << "tawasul demo: " << m.code << " stopped unexpectedly; see "
                    << (m.dir / "tawasul.log").string() << "\n";
          m.pid = -1;
          died = true;
        }
      }
      if (!died) continue;
    }
    break;
  }
  std::cout << "\nstopping…\n";
  stop_all(members);
  std::cout << "stopped. `tawasul verify --data " << (members[1].dir).string()
            << "` checks a store.\n";
  return 0;
}

}  // namespace tawasul::node
