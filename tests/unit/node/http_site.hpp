// A node with its HTTP API on a free port, for tests that talk to it over
// real sockets: a real LMDB store in a temporary directory, the single writer,
// an injected clock, staff accounts with a cheap Argon2id cost, beneficiary
// accounts, and the calls the tests make (filing, actions, attachments).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <httplib.h>
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node/http_api.hpp"
#include "node/workflow.hpp"
#include "node/writer.hpp"
#include "node_test_util.hpp"
#include "test_support.hpp"

namespace tawasul::node::testing {

inline constexpr std::int64_t kSiteStart = 1'773'568'800'000;  // 2026-03-15T10:00:00Z
inline constexpr const char* kStaffPassword = "correct horse battery";

// The fields each case action needs, with the units of a Site (KSU, KSU.SA
// and its KSU.SA.HOUSING). `start` names no assignee: over HTTP it defaults to
// the member acting.
inline nlohmann::json fields_for(CaseAction action) {
  switch (action) {
    case CaseAction::kAssign:
      return {{"unit", "KSU.SA"}};
    case CaseAction::kStart:
      return nlohmann::json::object();
    case CaseAction::kRequestInfo:
      return {{"question", "ما رقمك الجامعي؟"}};
    case CaseAction::kProvideInfo:
      return {{"reply", "441234567"}};
    case CaseAction::kAnswer:
      return {{"answer", "تم الصرف"}};
    case CaseAction::kReject:
      return {{"reason", "خارج الاختصاص"}};
    case CaseAction::kTransfer:
      return {{"to_unit", "KSU.SA.HOUSING"}, {"reason", "من اختصاص الإسكان"}};
    case CaseAction::kClose:
      return {{"reason", "accepted"}};
    case CaseAction::kAddNote:
    case CaseAction::kReply:
      return {{"text", "نص"}};
    case CaseAction::kObject:
      return {{"reason", "الرد لم يحل المشكلة"}};
    case CaseAction::kDecideObjection:
      return {{"outcome", "partly_upheld"}, {"answer", "قبل الاعتراض جزئيًا"}};
    case CaseAction::kEscalate:
      return {{"reason", "تأخر الرد"}};
    case CaseAction::kAwaitThirdParty:
      return {{"party", "البنك"}, {"reason", "بانتظار تأكيد البنك"}};
    case CaseAction::kThirdPartyReplied:
      return nlohmann::json::object();
  }
  return nlohmann::json::object();
}

// The beneficiary's credential for a case: its access code, from the receipt.
inline httplib::Headers code_of(const nlohmann::json& receipt) {
  return {{"X-Access-Code", receipt["access_code"].get<std::string>()}};
}

// The session of a sign-in's answer ({"token": …}).
inline httplib::Headers bearer(const nlohmann::json& login) {
  return {{"Authorization", "Bearer " + login["token"].get<std::string>()}};
}

struct Site {
  tawasul::test::TempDir dir{"site"};
  FakeClock clock{kSiteStart};
  Identity id;
  std::unique_ptr<NodeStore> store;
  std::unique_ptr<Writer> writer;
  std::unique_ptr<HttpApi> api;
  int port = 0;
  std::map<std::string, std::string> tokens;  // staff id (or a beneficiary's name) -> token

  Site() {
    init_crypto();
    id = make_identity(dir.path(), Role::kNode, "KSU");
    store = open_store(dir.path(), id);
    writer = std::make_unique<Writer>(store->env());
    writer->start();
    api = std::make_unique<HttpApi>(*store, *writer, clock, nullptr);
    api->set_password_cost(crypto::PasswordCost::minimal());
    auto bound = api->bind(HttpOptions{"127.0.0.1", 0, 4});
    REQUIRE(bound);
    port = *bound;
    api->start();
    REQUIRE(tawasul::test::wait_until([&] {
      auto r = client().Get("/api/v1/health");
      return r && r->status == 200;
    }));
  }
  ~Site() {
    api->stop();
    writer->stop();
  }

  // A client with room for 5 MiB uploads on a busy machine.
  httplib::Client client() {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(20, 0);
    c.set_write_timeout(20, 0);
    return c;
  }

  struct Reply {
    int status = 0;
    nlohmann::json body;  // discarded when the body is not JSON
    httplib::Headers headers;
    std::string text;  // the body as sent
  };
  Reply request(const std::string& method, const std::string& path,
                const nlohmann::json& body = nullptr, const httplib::Headers& headers = {}) {
    httplib::Client c = client();
    const std::string text = body.is_null() ? "" : body.dump();
    httplib::Result r = method == "GET"   ? c.Get(path.c_str(), headers)
                        : method == "PUT" ? c.Put(path.c_str(), headers, text, "application/json")
                        : method == "PATCH"
                            ? c.Patch(path.c_str(), headers, text, "application/json")
                            : c.Post(path.c_str(), headers, text, "application/json");
    if (!r) FAIL("no HTTP answer for " << method << " " << path);
    return Reply{r->status, nlohmann::json::parse(r->body, nullptr, false), r->headers, r->body};
  }
  Reply get(const std::string& path, const httplib::Headers& headers = {}) {
    return request("GET", path, nullptr, headers);
  }

  // Creates a staff member directly in the store and signs them in.
  void add_staff(const std::string& staff_id, const std::string& unit,
                 std::vector<std::string> roles, bool confidential = false) {
    auto member = parse_staff_member(nlohmann::json{{"id", staff_id},
                                                    {"name", "موظف " + staff_id},
                                                    {"unit", unit},
                                                    {"roles", roles},
                                                    {"confidential", confidential}});
    REQUIRE(member);
    auto hash = crypto::hash_password(kStaffPassword, crypto::PasswordCost::minimal());
    REQUIRE(hash);
    auto added =
        in_write<nlohmann::json>(*store, [&](storage::WriteTxn& txn) -> Result<nlohmann::json> {
          if (auto r = store->staff().add(txn, *member, *hash, kSiteStart); !r)
            return std::unexpected(r.error());
          return nlohmann::json{};
        });
    REQUIRE(added);
    login(staff_id);
  }
  void login(const std::string& staff_id) {
    auto r = request("POST", "/api/v1/auth/login",
                     nlohmann::json{{"id", staff_id}, {"password", kStaffPassword}});
    REQUIRE(r.status == 200);
    tokens[staff_id] = r.body["token"];
  }
  // The session of a staff member, or of a beneficiary signed in by name.
  httplib::Headers as(const std::string& who) {
    return {{"Authorization", "Bearer " + tokens.at(who)}};
  }

  // Registers a beneficiary account over HTTP — `login` is a phone number
  // (starting with "+") or an e-mail address — and signs it in: the session,
  // also kept as as(name).
  httplib::Headers register_and_login(const std::string& name, const std::string& login,
                                      const std::string& password) {
    const char* kind = login.starts_with("+") ? "phone" : "email";
    auto created = request("POST", "/api/v1/beneficiaries",
                           nlohmann::json{{"name", name}, {kind, login}, {"password", password}});
    REQUIRE(created.status == 201);
    auto signed_in = request("POST", "/api/v1/auth/beneficiary/login",
                             nlohmann::json{{"login", login}, {"password", password}});
    REQUIRE(signed_in.status == 200);
    tokens[name] = signed_in.body["token"];
    return bearer(signed_in.body);
  }

  // A case filed over HTTP, as the portal does (with `headers`: as that
  // session files it); returns the receipt.
  nlohmann::json file_case(const httplib::Headers& headers = {},
                           const nlohmann::json& body = sample_request_json()) {
    auto r = request("POST", "/api/v1/cases", body, headers);
    INFO(r.text);
    REQUIRE(r.status == 201);
    return r.body;
  }

  // Moves a case directly in the store, as `by`, with no session to check.
  nlohmann::json act(const std::string& tracking, CaseAction action, const nlohmann::json& fields,
                     const std::string& by = "system") {
    auto r = in_write<nlohmann::json>(*store, [&](storage::WriteTxn& txn) {
      return store->act_on_case(txn, tracking, action, by, fields, clock.now_ms());
    });
    INFO(action_name(action) << " on " << tracking);
    REQUIRE(r);
    return *r;
  }
  void assign(const std::string& tracking, const std::string& unit) {
    act(tracking, CaseAction::kAssign, {{"unit", unit}});
  }
  // Moves a case through `steps` (assigned to KSU.SA, started by emp).
  void move(const std::string& tracking, const std::vector<CaseAction>& steps) {
    for (CaseAction a : steps) {
      act(tracking, a,
          a == CaseAction::kStart ? nlohmann::json{{"assignee", "emp"}} : fields_for(a));
    }
  }
  // A case filed in the store and moved through `steps`; returns the receipt.
  nlohmann::json case_after(const std::vector<CaseAction>& steps) {
    nlohmann::json receipt = file_ok(*store, sample_request(), clock.now_ms());
    move(receipt["tracking_number"].get<std::string>(), steps);
    return receipt;
  }

  // Attachments: the raw file as the body, its name in ?name=.
  httplib::Result upload(const std::string& tracking, const std::string& name,
                         const std::string& bytes, const std::string& content_type,
                         const httplib::Headers& headers) {
    return client().Post(("/api/v1/cases/" + tracking +
                          "/attachments?name=" + httplib::detail::encode_query_param(name))
                             .c_str(),
                         headers, bytes, content_type.c_str());
  }
  httplib::Result download(const std::string& tracking, const std::string& file_id,
                           const httplib::Headers& headers) {
    return client().Get(("/api/v1/cases/" + tracking + "/attachments/" + file_id).c_str(), headers);
  }

  // The head of this node's event chain: a refused request leaves it alone.
  std::uint64_t head() { return store->head(id.code).value(); }
  // The audit log, once the writer has committed everything queued before.
  std::vector<nlohmann::json> audit() {
    writer->execute([](storage::WriteTxn&) -> Result<nlohmann::json> { return nlohmann::json{}; });
    return store->staff().audit_log(10000).value();
  }
};

// Sends `request` as raw bytes on a new connection and returns what comes
// back within a few seconds (the status line first).
inline std::string raw_exchange(int port, const std::string& request, bool headers_only = false) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
    if (answer.find("\r\n\r\n") != std::string::npos &&
        (headers_only || answer.starts_with("HTTP/1.1 1") ||
         answer.find("}}") != std::string::npos)) {
      break;  // an interim answer, or a JSON error, is complete
    }
  }
  ::close(fd);
  return answer;
}

}  // namespace tawasul::node::testing
