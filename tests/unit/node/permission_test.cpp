// The permission matrix (node/access.hpp): every role, an anonymous caller
// and a beneficiary who does not own the case, against every action, over a
// real HttpApi; plus sign-in, sessions, throttling and the audit of denials.
#include <httplib.h>
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "node/access.hpp"
#include "node/http_api.hpp"
#include "node/writer.hpp"
#include "node_test_util.hpp"
#include "test_support.hpp"

namespace {

namespace node = tawasul::node;
using namespace tawasul::node::testing;
using nlohmann::json;
using node::CaseAction;

constexpr std::int64_t kStart = 1'773'568'800'000;  // 2026-03-15T10:00:00Z

struct Site {
  tawasul::test::TempDir dir{"perm"};
  node::FakeClock clock{kStart};
  node::Identity id;
  std::unique_ptr<node::NodeStore> store;
  std::unique_ptr<node::Writer> writer;
  std::unique_ptr<node::HttpApi> api;
  int port = 0;
  std::map<std::string, std::string> tokens;  // staff id -> session token

  Site() {
    init_crypto();
    id = make_identity(dir.path(), node::Role::kNode, "KSU");
    store = open_store(dir.path(), id);
    writer = std::make_unique<node::Writer>(store->env());
    writer->start();
    api = std::make_unique<node::HttpApi>(*store, *writer, clock, nullptr);
    api->set_password_cost(tawasul::crypto::PasswordCost::minimal());
    auto bound = api->bind(node::HttpOptions{"127.0.0.1", 0, 4});
    REQUIRE(bound);
    port = *bound;
    api->start();
    REQUIRE(tawasul::test::wait_until([&] { return get("/api/v1/health").status == 200; }));
  }
  ~Site() {
    api->stop();
    writer->stop();
  }

  struct Reply {
    int status = 0;
    json body;
  };
  Reply request(const std::string& method, const std::string& path, const json& body = nullptr,
                const httplib::Headers& headers = {}) {
    httplib::Client c("127.0.0.1", port);
    const std::string text = body.is_null() ? "" : body.dump();
    httplib::Result r = method == "GET"   ? c.Get(path.c_str(), headers)
                        : method == "PUT" ? c.Put(path.c_str(), headers, text, "application/json")
                                          : c.Post(path.c_str(), headers, text, "application/json");
    if (!r) FAIL("no HTTP answer for " << method << " " << path);
    return Reply{r->status, json::parse(r->body, nullptr, false)};
  }
  Reply get(const std::string& path, const httplib::Headers& headers = {}) {
    return request("GET", path, nullptr, headers);
  }

  void add_staff(const std::string& staff_id, const std::string& unit,
                 std::vector<std::string> roles) {
    auto member = node::parse_staff_member(
        json{{"id", staff_id}, {"name", "موظف " + staff_id}, {"unit", unit}, {"roles", roles}});
    REQUIRE(member);
    auto hash = tawasul::crypto::hash_password("correct horse battery",
                                               tawasul::crypto::PasswordCost::minimal());
    REQUIRE(hash);
    auto added = in_write<json>(*store, [&](tawasul::storage::WriteTxn& txn) -> node::Result<json> {
      if (auto r = store->staff().add(txn, *member, *hash, kStart); !r)
        return std::unexpected(r.error());
      return json{};
    });
    REQUIRE(added);
    auto login = request("POST", "/api/v1/auth/login",
                         json{{"id", staff_id}, {"password", "correct horse battery"}});
    REQUIRE(login.status == 200);
    tokens[staff_id] = login.body["token"];
  }
  void login(const std::string& staff_id) {
    auto r = request("POST", "/api/v1/auth/login",
                     json{{"id", staff_id}, {"password", "correct horse battery"}});
    REQUIRE(r.status == 200);
    tokens[staff_id] = r.body["token"];
  }
  httplib::Headers as(const std::string& staff_id) {
    return {{"Authorization", "Bearer " + tokens.at(staff_id)}};
  }

  // A case filed and moved (as the system, without a session) to `steps`.
  json case_after(const std::vector<CaseAction>& steps) {
    json receipt = file_ok(*store, sample_request(), clock.now_ms());
    for (CaseAction a : steps) {
      json fields = a == CaseAction::kAssign ? json{{"unit", "KSU.SA"}} : json{{"assignee", "emp"}};
      auto r = in_write<json>(*store, [&](tawasul::storage::WriteTxn& txn) {
        return store->act_on_case(txn, receipt["tracking_number"].get<std::string>(), a, "system",
                                  fields, clock.now_ms());
      });
      REQUIRE(r);
    }
    return receipt;
  }
  std::vector<json> audit() {
    writer->execute(
        [](tawasul::storage::WriteTxn&) -> node::Result<json> { return json{}; });  // flush
    return store->staff().audit_log(10000).value();
  }
};

json fields_for(CaseAction action) {
  switch (action) {
    case CaseAction::kAssign:
      return {{"unit", "KSU.SA"}};
    case CaseAction::kStart:
      return json::object();
    case CaseAction::kRequestInfo:
      return {{"question", "ما رقمك الجامعي؟"}};
    case CaseAction::kAnswer:
      return {{"answer", "تم الصرف"}};
    case CaseAction::kReject:
      return {{"reason", "خارج الاختصاص"}};
    case CaseAction::kTransfer:
      return {{"to_unit", "KSU.SA.HOUSING"}, {"reason", "من اختصاص الإسكان"}};
    case CaseAction::kAddNote:
    case CaseAction::kReply:
      return {{"text", "نص"}};
    default:
      return json::object();
  }
}

}  // namespace

TEST_CASE("permission matrix: every role, an anonymous caller and a stranger against every action",
          "[access][http]") {
  Site site;
  site.add_staff("emp", "KSU.SA", {"employee"});
  site.add_staff("head", "KSU.SA", {"unit_head"});
  site.add_staff("coord", "KSU", {"coordinator"});
  site.add_staff("admin", "KSU", {"node_admin"});
  site.add_staff("agent", "KSU", {"call_centre_agent"});
  site.add_staff("auditor", "KSU", {"auditor"});
  site.add_staff("outsider", "KSU.ENG", {"employee", "unit_head", "coordinator"});
  const std::vector<std::string> actors = {"anonymous", "stranger", "emp",     "head",    "coord",
                                           "admin",     "agent",    "auditor", "outsider"};
  // The exact set of (actor, action) pairs that is allowed; everything else is refused.
  const std::set<std::pair<std::string, std::string>> allowed = {
      {"emp", "read"},         {"head", "read"},         {"coord", "read"},   {"auditor", "read"},
      {"head", "assign"},      {"coord", "assign"},      {"emp", "start"},    {"head", "start"},
      {"emp", "request_info"}, {"head", "request_info"}, {"emp", "answer"},   {"head", "answer"},
      {"emp", "reject"},       {"head", "reject"},       {"coord", "reject"}, {"emp", "transfer"},
      {"head", "transfer"},    {"coord", "transfer"},    {"emp", "add_note"}, {"head", "add_note"},
      {"coord", "add_note"},   {"emp", "reply"},         {"head", "reply"},   {"coord", "reply"},
  };
  const json other = site.case_after({});  // the stranger owns this one, not the case acted on
  int denials = 0;
  std::vector<std::pair<std::string, std::vector<CaseAction>>> actions = {
      {"read", {CaseAction::kAssign}},
      {"assign", {CaseAction::kAssign}},
      {"start", {CaseAction::kAssign}},
      {"request_info", {CaseAction::kAssign, CaseAction::kStart}},
      {"answer", {CaseAction::kAssign, CaseAction::kStart}},
      {"reject", {CaseAction::kAssign}},
      {"transfer", {CaseAction::kAssign}},
      {"add_note", {CaseAction::kAssign}},
      {"reply", {CaseAction::kAssign}},
  };
  for (const auto& [action, setup] : actions) {
    for (const auto& actor : actors) {
      INFO(actor << " → " << action);
      const json c = site.case_after(setup);
      const std::string tn = c["tracking_number"];
      httplib::Headers headers;
      if (actor == "stranger")
        headers = {{"X-Access-Code", other["access_code"].get<std::string>()}};
      if (actor != "anonymous" && actor != "stranger") headers = site.as(actor);
      Site::Reply r = action == "read"
                          ? site.get("/api/v1/cases/" + tn, headers)
                          : site.request("POST", "/api/v1/cases/" + tn + "/actions/" + action,
                                         fields_for(*node::parse_action(action)), headers);
      const bool should = allowed.count({actor, action}) != 0;
      if (should) {
        CHECK(r.status == 200);
      } else if (actor == "anonymous" || actor == "stranger") {
        // No session: 401 for staff actions; a look-up without the right code is 404.
        CHECK(r.status == (action == "read" ? 404 : 401));
      } else {
        CHECK(r.status == 403);
        CHECK(r.body["error"]["code"] == "forbidden");
        ++denials;
      }
    }
  }
  // Every denial is in the audit log.
  int audited = 0;
  for (const auto& line : site.audit()) audited += line["event"] == "denied" ? 1 : 0;
  CHECK(audited == denials);
}

TEST_CASE("the beneficiary answers a question and accepts the answer with the access code only",
          "[access][http]") {
  Site site;
  site.add_staff("emp", "KSU.SA", {"employee"});
  json c = site.case_after({CaseAction::kAssign, CaseAction::kStart});
  const std::string tn = c["tracking_number"];
  const httplib::Headers owner = {{"X-Access-Code", c["access_code"].get<std::string>()}};
  REQUIRE(site.request("POST", "/api/v1/cases/" + tn + "/actions/request_info",
                       json{{"question", "أرسل رقمك الجامعي"}}, site.as("emp"))
              .status == 200);
  const json stranger = site.case_after({});
  CHECK(site.request("POST", "/api/v1/cases/" + tn + "/reply", json{{"reply", "441234567"}},
                     {{"X-Access-Code", stranger["access_code"].get<std::string>()}})
            .status == 404);
  CHECK(site.request("POST", "/api/v1/cases/" + tn + "/reply", json::object(), owner).status ==
        400);
  auto replied =
      site.request("POST", "/api/v1/cases/" + tn + "/reply", json{{"reply", "441234567"}}, owner);
  REQUIRE(replied.status == 200);
  CHECK(replied.body["status"] == "in_progress");
  // Accepting before an answer is a 409 naming the state.
  auto early = site.request("POST", "/api/v1/cases/" + tn + "/accept", nullptr, owner);
  CHECK(early.status == 409);
  CHECK(early.body["error"]["message"].get<std::string>().find("in_progress") != std::string::npos);
  REQUIRE(site.request("POST", "/api/v1/cases/" + tn + "/actions/answer", json{{"answer", "تم"}},
                       site.as("emp"))
              .status == 200);
  auto accepted = site.request("POST", "/api/v1/cases/" + tn + "/accept", nullptr, owner);
  REQUIRE(accepted.status == 200);
  CHECK(accepted.body["status"] == "closed");
  // Staff cannot close a case on the beneficiary's behalf.
  CHECK(
      site.request("POST", "/api/v1/cases/" + tn + "/actions/close", json::object(), site.as("emp"))
          .status == 400);
}

TEST_CASE(
    "sessions: a forged, expired or logged-out token is 401, and repeated failures lock the "
    "account",
    "[access][http][auth]") {
  Site site;
  site.add_staff("emp", "KSU.SA", {"employee"});
  CHECK(site.get("/api/v1/me", site.as("emp")).status == 200);
  CHECK(site.get("/api/v1/me", {{"Authorization", "Bearer " + std::string(64, 'a')}}).status ==
        401);
  CHECK(site.get("/api/v1/me", {{"Authorization", "Bearer short"}}).status == 401);
  CHECK(site.get("/api/v1/me").status == 401);
  CHECK(site.get("/api/v1/me", {{"Cookie", "tawasul_session=" + site.tokens["emp"]}}).status ==
        200);

  auto wrong = site.request("POST", "/api/v1/auth/login",
                            json{{"id", "emp"}, {"password", "wrong password!"}});
  CHECK(wrong.status == 401);
  auto nobody = site.request("POST", "/api/v1/auth/login",
                             json{{"id", "nobody"}, {"password", "wrong password!"}});
  CHECK(nobody.status == 401);
  CHECK(nobody.body["error"]["message"] ==
        wrong.body["error"]["message"]);  // no hint which was wrong
  CHECK(site.request("POST", "/api/v1/auth/login", json{{"id", "emp"}}).status == 400);

  for (int i = 1; i < node::kLoginFailuresMax; ++i) {
    site.request("POST", "/api/v1/auth/login",
                 json{{"id", "emp"}, {"password", "wrong password!"}});
  }
  auto locked = site.request("POST", "/api/v1/auth/login",
                             json{{"id", "emp"}, {"password", "correct horse battery"}});
  CHECK(locked.status == 429);
  site.clock.advance(node::kLockoutMs + 1000);
  CHECK(site.request("POST", "/api/v1/auth/login",
                     json{{"id", "emp"}, {"password", "correct horse battery"}})
            .status == 200);

  // Logout ends the session; expiry ends the others.
  const std::string token = site.tokens["emp"];
  CHECK(site.request("POST", "/api/v1/auth/logout", nullptr, site.as("emp")).status == 204);
  CHECK(site.get("/api/v1/me", {{"Authorization", "Bearer " + token}}).status == 401);
  site.add_staff("head", "KSU.SA", {"unit_head"});
  site.clock.advance(node::kSessionLifetimeMs + 1);
  CHECK(site.get("/api/v1/me", site.as("head")).status == 401);
}

TEST_CASE("only a node administrator creates staff accounts, and bad fields change nothing",
          "[access][http][staff]") {
  Site site;
  site.add_staff("admin", "KSU", {"node_admin"});
  site.add_staff("emp", "KSU.SA", {"employee"});
  const json member{{"id", "new.one"},
                    {"name", "نورة القحطاني"},
                    {"unit", "KSU.SA"},
                    {"roles", {"employee"}},
                    {"password", "a long enough password"}};
  CHECK(site.request("POST", "/api/v1/staff", member, site.as("emp")).status == 403);
  CHECK(site.request("POST", "/api/v1/staff", member).status == 401);
  json bad = member;
  bad["roles"] = {"king"};
  CHECK(site.request("POST", "/api/v1/staff", bad, site.as("admin")).status == 400);
  bad = member;
  bad["password"] = "short";
  CHECK(site.request("POST", "/api/v1/staff", bad, site.as("admin")).body["error"]["field"] ==
        "password");
  CHECK_FALSE(site.store->staff().find("new.one"));
  auto created = site.request("POST", "/api/v1/staff", member, site.as("admin"));
  REQUIRE(created.status == 201);
  CHECK_FALSE(created.body.contains("password_hash"));
  CHECK(site.request("POST", "/api/v1/staff", member, site.as("admin")).status == 409);
  CHECK(site.request("POST", "/api/v1/auth/login",
                     json{{"id", "new.one"}, {"password", "a long enough password"}})
            .status == 200);
}

TEST_CASE(
    "the org tree is read by staff, replaced only by an administrator, and then governs scope",
    "[access][http][org]") {
  Site site;
  site.add_staff("admin", "KSU", {"node_admin"});
  site.add_staff("emp", "KSU.SA", {"employee"});
  CHECK(site.get("/api/v1/org", site.as("emp")).status == 404);  // none loaded yet
  CHECK(site.get("/api/v1/org").status == 401);
  // A tree whose deanship of student affairs has the id "KSU-SA": no dotted names.
  const json tree{
      {"version", 1},
      {"units",
       {{{"id", "KSU"}, {"name", {{"ar", "جامعة الملك سعود"}, {"en", "King Saud University"}}}},
        {{"id", "KSU-SA"},
         {"parent", "KSU"},
         {"name", {{"ar", "عمادة شؤون الطلاب"}, {"en", "Student Affairs"}}}},
        {{"id", "HOUSING"},
         {"parent", "KSU-SA"},
         {"name", {{"ar", "الإسكان"}, {"en", "Housing"}}}}}}};
  CHECK(site.request("PUT", "/api/v1/org", tree, site.as("emp")).status == 403);
  json broken = tree;
  broken["units"][2]["parent"] = "NOWHERE";
  auto refused = site.request("PUT", "/api/v1/org", broken, site.as("admin"));
  CHECK(refused.status == 400);
  CHECK(refused.body["error"]["field"] == "units[2].parent");
  CHECK(site.get("/api/v1/org", site.as("emp")).status == 404);  // nothing changed
  REQUIRE(site.request("PUT", "/api/v1/org", tree, site.as("admin")).status == 200);
  CHECK(site.get("/api/v1/org", site.as("emp")).body["units"].size() == 3);

  // Scope now follows the tree: HOUSING lies below KSU-SA though its id says nothing of it.
  site.add_staff("sa", "KSU-SA", {"employee"});
  site.add_staff("coord", "KSU", {"coordinator"});
  json c = site.case_after({});
  const std::string tn = c["tracking_number"];
  CHECK(site.request("POST", "/api/v1/cases/" + tn + "/actions/assign", json{{"unit", "KSU.SA"}},
                     site.as("coord"))
            .status == 400);  // no such unit in this tree
  REQUIRE(site.request("POST", "/api/v1/cases/" + tn + "/actions/assign", json{{"unit", "HOUSING"}},
                       site.as("coord"))
              .status == 200);
  CHECK(site.get("/api/v1/cases/" + tn, site.as("sa")).status == 200);
  CHECK(
      site.request("POST", "/api/v1/cases/" + tn + "/actions/start", json::object(), site.as("sa"))
          .status == 200);
  // Staff may only be created in units of the tree.
  json member{{"id", "ghost"},
              {"name", "موظف"},
              {"unit", "KSU.SA"},
              {"roles", {"employee"}},
              {"password", "a long enough password"}};
  CHECK(site.request("POST", "/api/v1/staff", member, site.as("admin")).body["error"]["code"] ==
        "unknown_unit");
}

namespace {

const json kTree{
    {"version", 1},
    {"units",
     {{{"id", "KSU"}, {"name", {{"ar", "جامعة الملك سعود"}, {"en", "King Saud University"}}}},
      {{"id", "KSU.SA"},
       {"parent", "KSU"},
       {"name", {{"ar", "عمادة شؤون الطلاب"}, {"en", "Student Affairs"}}}},
      {{"id", "KSU.SA.FIN"},
       {"parent", "KSU.SA"},
       {"name", {{"ar", "المكافآت"}, {"en", "Stipends"}}}},
      {{"id", "KSU.ENG"},
       {"parent", "KSU"},
       {"name", {{"ar", "كلية الهندسة"}, {"en", "Engineering"}}}}}},
    {"services",
     {{{"id", "stipends"},
       {"name", {{"ar", "المكافآت الطلابية"}, {"en", "Student stipends"}}},
       {"unit", "KSU.SA.FIN"},
       {"default_type", "demand"}}}}};

json filing(const std::string& subject) {
  return json{{"subject", subject},
              {"description", "وصف كاف للطلب المقدم"},
              {"channel", "portal"},
              {"beneficiary", {{"name", "سارة"}, {"email", "sara@example.sa"}}}};
}

}  // namespace

TEST_CASE(
    "a service routes a new case to its unit with its default type; confidential cases need the "
    "grant",
    "[access][http][routing]") {
  Site site;
  site.add_staff("admin", "KSU", {"node_admin"});
  REQUIRE(site.request("PUT", "/api/v1/org", kTree, site.as("admin")).status == 200);
  site.add_staff("fin", "KSU.SA.FIN", {"employee"});
  site.add_staff("eng", "KSU.ENG", {"employee"});

  json body = filing("طلب صرف مكافأة");
  body["service"] = "stipends";
  auto filed = site.request("POST", "/api/v1/cases", body);
  REQUIRE(filed.status == 201);
  CHECK(filed.body["status"] == "assigned");
  auto view =
      site.get("/api/v1/cases/" + filed.body["tracking_number"].get<std::string>(), site.as("fin"));
  REQUIRE(view.status == 200);
  CHECK(view.body["unit"] == "KSU.SA.FIN");
  CHECK(view.body["type"] == "demand");
  CHECK(
      site.get("/api/v1/cases/" + filed.body["tracking_number"].get<std::string>(), site.as("eng"))
          .status == 403);

  const auto before = site.store->stats().value().cases;
  body["service"] = "no_such_service";
  CHECK(site.request("POST", "/api/v1/cases", body).body["error"]["field"] == "service");
  json no_type = filing("بدون نوع");
  CHECK(site.request("POST", "/api/v1/cases", no_type).body["error"]["field"] == "type");
  json bad_pref = filing("تفضيل غير معروف");
  bad_pref["type"] = "inquiry";
  bad_pref["contact_preference"] = "pigeon";
  CHECK(site.request("POST", "/api/v1/cases", bad_pref).body["error"]["field"] ==
        "contact_preference");
  CHECK(site.store->stats().value().cases == before);

  // A confidential case, written replies only.
  json secret = filing("شكوى سرية");
  secret["service"] = "stipends";
  secret["type"] = "complaint";
  secret["confidential"] = true;
  secret["contact_preference"] = "written_only";
  auto confidential = site.request("POST", "/api/v1/cases", secret);
  REQUIRE(confidential.status == 201);
  const std::string tn = confidential.body["tracking_number"];
  CHECK(site.get("/api/v1/cases/" + tn, site.as("fin")).status == 403);
  auto member = tawasul::node::parse_staff_member(json{{"id", "fin.trusted"},
                                                       {"name", "موظفة موثوقة"},
                                                       {"unit", "KSU.SA.FIN"},
                                                       {"roles", {"employee"}},
                                                       {"confidential", true}});
  REQUIRE(member);
  auto hash = tawasul::crypto::hash_password("correct horse battery",
                                             tawasul::crypto::PasswordCost::minimal());
  REQUIRE(in_write<json>(*site.store, [&](tawasul::storage::WriteTxn& txn) -> node::Result<json> {
    if (auto r = site.store->staff().add(txn, *member, *hash, kStart); !r)
      return std::unexpected(r.error());
    return json{};
  }));
  auto login = site.request("POST", "/api/v1/auth/login",
                            json{{"id", "fin.trusted"}, {"password", "correct horse battery"}});
  REQUIRE(login.status == 200);
  auto trusted = site.get("/api/v1/cases/" + tn,
                          {{"Authorization", "Bearer " + login.body["token"].get<std::string>()}});
  REQUIRE(trusted.status == 200);
  CHECK(trusted.body["contact_preference"] == "written_only");
  auto own = site.get("/api/v1/cases/" + tn,
                      {{"X-Access-Code", confidential.body["access_code"].get<std::string>()}});
  CHECK(own.body["confidential"] == true);
}

TEST_CASE("the staff queue shows the cases in scope, filtered, searched in folded Arabic and paged",
          "[access][http][queue]") {
  Site site;
  site.add_staff("admin", "KSU", {"node_admin"});
  REQUIRE(site.request("PUT", "/api/v1/org", kTree, site.as("admin")).status == 200);
  site.add_staff("fin", "KSU.SA.FIN", {"employee"});
  site.add_staff("coord", "KSU", {"coordinator"});
  CHECK(site.get("/api/v1/queue").status == 401);
  for (int i = 0; i < 5; ++i) {
    json routed = filing("تأخُّر صرف المكافأة رقم " + std::to_string(i));
    routed["service"] = "stipends";
    REQUIRE(site.request("POST", "/api/v1/cases", routed).status == 201);
    site.clock.advance(60'000);
  }
  json plain = filing("استفسار عن القبول");
  plain["type"] = "inquiry";
  REQUIRE(site.request("POST", "/api/v1/cases", plain).status == 201);

  auto fin = site.get("/api/v1/queue", site.as("fin"));
  REQUIRE(fin.status == 200);
  CHECK(fin.body["total"] == 5);  // not the unrouted inquiry at the root
  auto all = site.get("/api/v1/queue", site.as("coord"));
  CHECK(all.body["total"] == 6);
  CHECK(site.get("/api/v1/queue?status=submitted", site.as("coord")).body["total"] == 1);
  CHECK(site.get("/api/v1/queue?type=demand", site.as("coord")).body["total"] == 5);
  CHECK(site.get("/api/v1/queue?unit=KSU.SA.FIN", site.as("coord")).body["total"] == 5);
  // Search ignores diacritics and hamza forms: "مكافاه" finds "المكافأة".
  CHECK(site.get("/api/v1/queue?q=%D9%85%D9%83%D8%A7%D9%81%D8%A7%D9%87", site.as("coord"))
            .body["total"] == 5);
  CHECK(site.get("/api/v1/queue?q=%D8%A7%D9%84%D9%82%D8%A8%D9%88%D9%84", site.as("coord"))
            .body["total"] == 1);
  // Paging, due soonest first.
  auto page2 = site.get("/api/v1/queue?per_page=4&page=2", site.as("coord"));
  CHECK(page2.body["cases"].size() == 2);
  auto page1 = site.get("/api/v1/queue?per_page=4&page=1", site.as("coord"));
  CHECK(page1.body["cases"][0]["due_at"].get<std::string>() <=
        page1.body["cases"][3]["due_at"].get<std::string>());
  // Overdue once the clock passes the due dates.
  CHECK(site.get("/api/v1/queue?overdue=true", site.as("coord")).body["total"] == 0);
  site.clock.advance(30LL * 24 * 3600 * 1000);
  site.login("coord");  // the old session expired with the days that passed
  site.login("admin");
  CHECK(site.get("/api/v1/queue?overdue=true", site.as("coord")).body["total"] == 6);
  // Bad parameters are named.
  CHECK(site.get("/api/v1/queue?status=lost", site.as("coord")).body["error"]["field"] == "status");
  CHECK(site.get("/api/v1/queue?per_page=1000", site.as("coord")).body["error"]["field"] ==
        "per_page");
  CHECK(site.get("/api/v1/queue?overdue=maybe", site.as("coord")).body["error"]["field"] ==
        "overdue");
  // Those who may not read cases see none.
  CHECK(site.get("/api/v1/queue", site.as("admin")).body["total"] == 0);
}

TEST_CASE(
    "staff find a beneficiary's cases by phone, e-mail or national ID through the blind index",
    "[access][http][pii]") {
  Site site;
  site.add_staff("coord", "KSU", {"coordinator"});
  site.add_staff("admin", "KSU", {"node_admin"});
  json a = filing("طلب أول");
  a["type"] = "inquiry";
  a["beneficiary"] = {
      {"name", "ريم"}, {"phone", "+966 50 111 2222"}, {"national_id", "1098765432"}};
  json b = filing("طلب ثان");
  b["type"] = "complaint";
  b["beneficiary"] = {{"name", "ريم"}, {"phone", "+966501112222"}, {"email", "reem@example.sa"}};
  json c = filing("طلب لشخص آخر");
  c["type"] = "inquiry";
  const auto first = site.request("POST", "/api/v1/cases", a);
  REQUIRE(first.status == 201);
  REQUIRE(site.request("POST", "/api/v1/cases", b).status == 201);
  REQUIRE(site.request("POST", "/api/v1/cases", c).status == 201);

  // The same number, typed differently, finds both of her cases.
  CHECK(site.get("/api/v1/queue?phone=%2B966-50-111-2222", site.as("coord")).body["total"] == 2);
  CHECK(site.get("/api/v1/queue?email=reem@EXAMPLE.sa", site.as("coord")).body["total"] == 1);
  CHECK(site.get("/api/v1/queue?national_id=1098765432", site.as("coord")).body["total"] == 1);
  CHECK(site.get("/api/v1/queue?phone=%2B966501112222&email=reem@example.sa", site.as("coord"))
            .body["total"] == 1);
  CHECK(site.get("/api/v1/queue?phone=%2B966509999999", site.as("coord")).body["total"] == 0);
  CHECK(site.get("/api/v1/queue?phone=12", site.as("coord")).body["error"]["field"] == "phone");
  CHECK(site.get("/api/v1/queue?phone=%2B966501112222", site.as("admin")).body["total"] ==
        0);  // no reader

  // The staff view opens the sealed contact data; the beneficiary's view never shows it.
  const std::string tn = first.body["tracking_number"];
  auto staff_view = site.get("/api/v1/cases/" + tn, site.as("coord"));
  REQUIRE(staff_view.status == 200);
  CHECK(staff_view.body["beneficiary"]["phone"] == "+966501112222");
  CHECK(staff_view.body["beneficiary"]["national_id"] == "1098765432");
  CHECK(staff_view.body.dump().find("_sealed") == std::string::npos);
  CHECK(staff_view.body.dump().find("_index") == std::string::npos);
  auto own = site.get("/api/v1/cases/" + tn,
                      {{"X-Access-Code", first.body["access_code"].get<std::string>()}});
  CHECK(own.body.dump().find("1098765432") == std::string::npos);

  // Nothing of it is in the store in clear; the index is not the value's plain hash either.
  site.writer->stop();
  const std::string raw = read_bytes(site.dir.path() / "store" / "data.mdb");
  CHECK(raw.find("1098765432") == std::string::npos);
  CHECK(raw.find("+966501112222") == std::string::npos);
  CHECK(raw.find("reem@example.sa") == std::string::npos);
  site.writer->start();
}

TEST_CASE("permission matrix: uploading and downloading attachments",
          "[access][http][attachments]") {
  Site site;
  site.add_staff("emp", "KSU.SA", {"employee"});
  site.add_staff("head", "KSU.SA", {"unit_head"});
  site.add_staff("coord", "KSU", {"coordinator"});
  site.add_staff("admin", "KSU", {"node_admin"});
  site.add_staff("agent", "KSU", {"call_centre_agent"});
  site.add_staff("auditor", "KSU", {"auditor"});
  site.add_staff("outsider", "KSU.ENG", {"employee", "unit_head", "coordinator"});
  const std::vector<std::string> actors = {"anonymous", "stranger", "owner", "emp",     "head",
                                           "coord",     "admin",    "agent", "auditor", "outsider"};
  // The exact set of (actor, action) pairs that is allowed; everything else is refused.
  const std::set<std::pair<std::string, std::string>> allowed = {
      {"owner", "upload_attachment"},     {"emp", "upload_attachment"},
      {"head", "upload_attachment"},      {"coord", "upload_attachment"},
      {"owner", "download_attachment"},   {"emp", "download_attachment"},
      {"head", "download_attachment"},    {"coord", "download_attachment"},
      {"auditor", "download_attachment"},
  };
  const json other = site.case_after({});  // the stranger's own case
  // One case with one file for the downloads, attached by the beneficiary.
  const json shared = site.case_after({CaseAction::kAssign});
  const std::string shared_tn = shared["tracking_number"];
  const std::string pdf = pdf_file(3000);
  auto attached = in_write<json>(*site.store, [&](tawasul::storage::WriteTxn& txn) {
    return site.store->add_attachment(txn, shared_tn, "beneficiary", "report.pdf", pdf, kStart);
  });
  REQUIRE(attached);
  const std::string id = (*attached)["id"];

  int denials = 0;
  for (const std::string action : {"upload_attachment", "download_attachment"}) {
    for (const auto& actor : actors) {
      INFO(actor << " → " << action);
      // Each upload on a case of its own, so no limit of one case interferes.
      const json c =
          action == "upload_attachment" ? site.case_after({CaseAction::kAssign}) : shared;
      const std::string tn = c["tracking_number"];
      httplib::Headers headers;
      if (actor == "stranger")
        headers = {{"X-Access-Code", other["access_code"].get<std::string>()}};
      else if (actor == "owner")
        headers = {{"X-Access-Code", c["access_code"].get<std::string>()}};
      else if (actor != "anonymous")
        headers = site.as(actor);
      httplib::Client client("127.0.0.1", site.port);
      httplib::Result r =
          action == "upload_attachment"
              ? client.Post(("/api/v1/cases/" + tn + "/attachments?name=scan.png").c_str(), headers,
                            png_file(1000), "image/png")
              : client.Get(("/api/v1/cases/" + tn + "/attachments/" + id).c_str(), headers);
      REQUIRE(r);
      const bool should = allowed.count({actor, action}) != 0;
      if (should) {
        CHECK(r->status == (action == "upload_attachment" ? 201 : 200));
        if (action == "download_attachment") CHECK(r->body == pdf);
      } else if (actor == "anonymous") {
        // No session and no code: an upload asks for one; a download is the look-up's 404.
        CHECK(r->status == (action == "upload_attachment" ? 401 : 404));
      } else if (actor == "stranger") {
        CHECK(r->status == 404);
      } else {
        CHECK(r->status == 403);
        CHECK(json::parse(r->body)["error"]["code"] == "forbidden");
        ++denials;
      }
    }
  }
  CHECK(denials == 7);  // admin, agent, auditor, outsider uploading; admin, agent, outsider reading
  int audited = 0;
  for (const auto& line : site.audit()) {
    if (line["event"] != "denied") continue;
    CHECK((line["action"] == "upload_attachment" || line["action"] == "download_attachment"));
    ++audited;
  }
  CHECK(audited == denials);
}
