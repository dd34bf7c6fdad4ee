// The permission matrix (node/access.hpp): every staff role, anonymous
// callers, beneficiaries with and without the case's access code or account,
// against every endpoint that acts on a case or on the node, over a real
// HttpApi (http_site.hpp); plus sign-in, sessions, throttling, the org tree,
// routing, the queue and the audit of denials.
#include <httplib.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "http_site.hpp"
#include "node/access.hpp"
#include "node/sweeper.hpp"

namespace {

namespace node = tawasul::node;
using namespace tawasul::node::testing;
using nlohmann::json;
using node::CaseAction;

// The node's units: those fields_for names (KSU.SA, KSU.SA.HOUSING), a
// stipends office with its service, and the outsider's KSU.ENG.
const json kTree{
    {"version", 1},
    {"units",
     {{{"id", "KSU"}, {"name", {{"ar", "جامعة الملك سعود"}, {"en", "King Saud University"}}}},
      {{"id", "KSU.SA"},
       {"parent", "KSU"},
       {"name", {{"ar", "عمادة شؤون الطلاب"}, {"en", "Student Affairs"}}}},
      {{"id", "KSU.SA.HOUSING"},
       {"parent", "KSU.SA"},
       {"name", {{"ar", "الإسكان"}, {"en", "Housing"}}}},
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

// Who calls. Beneficiaries: `anonymous` brings nothing; `stranger` the access
// code of another case; `owner` the case's own code; `account_owner` the
// session of the beneficiary account the case belongs to; `account_stranger`
// the session of another account. Then one staff member per role (emp and
// head in KSU.SA, the others at the root KSU), and `outsider`, who has every
// role that acts on cases but sits in KSU.ENG, out of the case's scope.
const std::vector<std::string> kActors = {
    "anonymous", "stranger", "owner", "account_owner", "account_stranger", "emp",
    "head",      "coord",    "admin", "agent",         "auditor",          "outsider"};
const std::set<std::string> kStaff = {"emp",   "head",    "coord",   "admin",
                                      "agent", "auditor", "outsider"};

// The status of a refused pair: what the implementation answers, by what the
// caller brings.
int refusal(const std::string& actor, const std::string& action) {
  const bool staff = kStaff.count(actor) != 0;
  const bool account = actor == "account_owner" || actor == "account_stranger";
  // A case's public endpoints: staff who may not read (or attach) are told
  // 403 and audited; a beneficiary without the right code or account gets the
  // look-up's 404 (no such case) — except an upload with no credential at all,
  // which asks for one (401).
  if (action == "read" || action == "download_attachment" || action == "upload_attachment") {
    if (staff) return 403;
    return action == "upload_attachment" && actor == "anonymous" ? 401 : 404;
  }
  // The beneficiary's own actions take no staff session: without the code
  // or the owning account it is the look-up's 404, for staff too.
  if (action == "beneficiary_reply" || action == "accept" || action == "object") return 404;
  // "My cases" take a beneficiary account's session; claiming with another
  // case's code is the look-up's 404.
  if (action == "my_cases" || action == "claim") return account ? 404 : 401;
  // Staff endpoints: 401 without a staff session, 403 (audited) otherwise.
  return staff ? 403 : 401;
}

// What the audit log calls an action, and what it names as the target.
std::string audit_name(const std::string& action) {
  return action == "replace_org" ? "replace_org_tree" : action;
}
std::string audit_target(const std::string& action, const std::string& tracking) {
  if (action == "list_staff" || action == "add_staff") return "staff";
  if (action == "update_staff") return "target";
  if (action == "read_audit") return "audit";
  if (action == "replace_org") return "org";
  return tracking;
}

}  // namespace

TEST_CASE("permission matrix: every actor against every action on a case and on the node",
          "[access][http]") {
  Site site;
  site.add_staff("admin", "KSU", {"node_admin"});
  REQUIRE(site.request("PUT", "/api/v1/org", kTree, site.as("admin")).status == 200);
  site.add_staff("emp", "KSU.SA", {"employee"});
  site.add_staff("head", "KSU.SA", {"unit_head"});
  site.add_staff("coord", "KSU", {"coordinator"});
  site.add_staff("agent", "KSU", {"call_centre_agent"});
  site.add_staff("auditor", "KSU", {"auditor"});
  site.add_staff("outsider", "KSU.ENG", {"employee", "unit_head", "coordinator"});
  site.add_staff("target", "KSU.SA", {"employee"});  // whom update_staff changes
  site.register_and_login("account_owner", "+966551234567", "my own long secret");
  site.register_and_login("account_stranger", "stranger@example.sa", "another long secret");
  // The account_stranger's own case, filed while signed in; the stranger holds its code.
  const json other = site.file_case(site.as("account_stranger"));
  // The code an owner brings to the node's endpoints, which concern no case.
  const json own = site.case_after({});

  // The exact allowed set: for each action, the actors it is allowed to.
  // Every other pair is refused, with refusal()'s status. Two rows are not
  // requests but what one shows: queue_shows_case (the case is in the queue
  // of those staff, who read it) and my_cases_shows_case.
  const std::vector<std::string> all_staff(kStaff.begin(), kStaff.end());
  const std::map<std::string, std::vector<std::string>> allowed_to = {
      {"read", {"owner", "account_owner", "emp", "head", "coord", "auditor"}},
      {"assign", {"head", "coord"}},
      {"start", {"emp", "head"}},
      {"request_info", {"emp", "head"}},
      {"await_third_party", {"emp", "head"}},
      {"third_party_replied", {"emp", "head"}},
      {"answer", {"emp", "head"}},
      {"reject", {"emp", "head", "coord"}},
      {"transfer", {"emp", "head", "coord"}},
      {"add_note", {"emp", "head", "coord"}},
      {"reply", {"emp", "head", "coord"}},
      {"escalate", {"emp", "head", "coord"}},
      {"beneficiary_reply", {"owner", "account_owner"}},
      {"accept", {"owner", "account_owner"}},
      {"object", {"owner", "account_owner"}},
      {"decide_objection", {"head", "coord"}},
      {"upload_attachment", {"owner", "account_owner", "emp", "head", "coord"}},
      {"download_attachment", {"owner", "account_owner", "emp", "head", "coord", "auditor"}},
      {"queue", all_staff},
      {"queue_shows_case", {"emp", "head", "coord", "auditor"}},
      {"list_staff", {"admin", "auditor"}},
      {"add_staff", {"admin"}},
      {"update_staff", {"admin"}},
      {"read_audit", {"admin", "auditor"}},
      {"read_org", all_staff},
      {"replace_org", {"admin"}},
      {"my_cases", {"account_owner", "account_stranger"}},
      {"my_cases_shows_case", {"account_owner"}},
      {"claim", {"account_owner"}},
      {"file_case", kActors},
  };
  std::set<std::pair<std::string, std::string>> allowed;
  for (const auto& [action, actors] : allowed_to) {
    for (const auto& actor : actors) allowed.insert({actor, action});
  }

  // Each action, with the state its case must be in (nullopt: no case of
  // its own); each actor gets a fresh case in that state.
  const std::vector<std::pair<std::string, std::optional<std::vector<CaseAction>>>> actions = {
      {"read", std::vector{CaseAction::kAssign}},
      {"assign", std::vector{CaseAction::kAssign}},
      {"start", std::vector{CaseAction::kAssign}},
      {"request_info", std::vector{CaseAction::kAssign, CaseAction::kStart}},
      {"await_third_party", std::vector{CaseAction::kAssign, CaseAction::kStart}},
      {"third_party_replied",
       std::vector{CaseAction::kAssign, CaseAction::kStart, CaseAction::kAwaitThirdParty}},
      {"answer", std::vector{CaseAction::kAssign, CaseAction::kStart}},
      {"reject", std::vector{CaseAction::kAssign}},
      {"transfer", std::vector{CaseAction::kAssign}},
      {"add_note", std::vector{CaseAction::kAssign}},
      {"reply", std::vector{CaseAction::kAssign}},
      {"escalate", std::vector{CaseAction::kAssign}},
      {"beneficiary_reply",
       std::vector{CaseAction::kAssign, CaseAction::kStart, CaseAction::kRequestInfo}},
      {"accept", std::vector{CaseAction::kAssign, CaseAction::kStart, CaseAction::kAnswer}},
      {"object", std::vector{CaseAction::kAssign, CaseAction::kStart, CaseAction::kAnswer}},
      {"decide_objection", std::vector{CaseAction::kAssign, CaseAction::kStart, CaseAction::kAnswer,
                                       CaseAction::kObject}},
      {"upload_attachment", std::vector{CaseAction::kAssign}},
      {"download_attachment", std::vector{CaseAction::kAssign}},
      {"queue", std::vector{CaseAction::kAssign}},
      {"my_cases", std::vector{CaseAction::kAssign}},
      {"claim", std::vector{CaseAction::kAssign}},
      {"list_staff", std::nullopt},
      {"add_staff", std::nullopt},
      {"update_staff", std::nullopt},
      {"read_audit", std::nullopt},
      {"read_org", std::nullopt},
      {"replace_org", std::nullopt},
      {"file_case", std::nullopt},
  };
  const std::set<std::string> staff_actions = {
      "assign",           "start",   "request_info", "await_third_party", "third_party_replied",
      "answer",           "reject",  "transfer",     "add_note",          "reply",
      "decide_objection", "escalate"};
  auto reply_of = [](const httplib::Result& r) {
    REQUIRE(r);
    return Site::Reply{r->status, json::parse(r->body, nullptr, false), r->headers, r->body};
  };
  // Every tracking number in `path`'s list (the queue or "my cases"), page by page.
  auto listed = [&](const std::string& path, const httplib::Headers& headers) {
    std::set<std::string> numbers;
    for (int page = 1;; ++page) {
      auto r = site.get(path + "?per_page=100&page=" + std::to_string(page), headers);
      REQUIRE(r.status == 200);
      for (const auto& c : r.body["cases"]) numbers.insert(c["tracking_number"].get<std::string>());
      if (r.body["cases"].empty() || numbers.size() >= r.body["total"].get<std::size_t>()) break;
    }
    return numbers;
  };

  // Every row of the allowed set is an action below (or what one shows).
  for (const auto& [action, actors] : allowed_to) {
    INFO(action);
    CHECK((action.ends_with("_shows_case") ||
           std::ranges::count(actions, action, &decltype(actions)::value_type::first) == 1));
  }

  std::multiset<std::tuple<std::string, std::string, std::string>> denials;
  for (const auto& [action, setup] : actions) {
    for (const auto& actor : kActors) {
      // The case: the account_owner's is filed while signed in (and my_cases
      // lists one of theirs for everybody); a claim is of a case no account holds.
      json c = own;
      if (setup) {
        const bool of_account =
            action == "my_cases" || (actor == "account_owner" && action != "claim");
        c = of_account ? site.file_case(site.as("account_owner")) : site.case_after({});
        site.move(c["tracking_number"].get<std::string>(), *setup);
      }
      const std::string tn = c["tracking_number"];
      const std::string path = "/api/v1/cases/" + tn;
      httplib::Headers headers;
      if (actor == "stranger") headers = code_of(other);
      if (actor == "owner") headers = code_of(c);
      if (actor != "anonymous" && actor != "stranger" && actor != "owner") headers = site.as(actor);
      std::string file_id;
      const std::string pdf = pdf_file(3000);
      if (action == "download_attachment") {
        auto attached = in_write<json>(*site.store, [&](tawasul::storage::WriteTxn& txn) {
          return site.store->add_attachment(txn, tn, "beneficiary", "report.pdf", pdf,
                                            site.clock.now_ms());
        });
        REQUIRE(attached);
        file_id = (*attached)["id"];
      }
      const auto head_before = site.head();

      Site::Reply r;
      if (action == "read") {
        r = site.get(path, headers);
      } else if (staff_actions.count(action)) {
        r = site.request("POST", path + "/actions/" + action,
                         fields_for(*node::parse_action(action)), headers);
      } else if (action == "beneficiary_reply") {
        r = site.request("POST", path + "/reply", fields_for(CaseAction::kProvideInfo), headers);
      } else if (action == "accept") {
        r = site.request("POST", path + "/accept", nullptr, headers);
      } else if (action == "object") {
        r = site.request("POST", path + "/object", fields_for(CaseAction::kObject), headers);
      } else if (action == "upload_attachment") {
        r = reply_of(site.upload(tn, "scan.png", png_file(1000), "image/png", headers));
      } else if (action == "download_attachment") {
        r = reply_of(site.download(tn, file_id, headers));
      } else if (action == "queue" || action == "my_cases") {
        r = site.get(action == "queue" ? "/api/v1/queue" : "/api/v1/me/cases", headers);
      } else if (action == "claim") {
        const bool foreign = actor == "stranger" || actor == "account_stranger";
        r = site.request(
            "POST", "/api/v1/me/cases",
            json{{"tracking_number", tn}, {"access_code", (foreign ? other : c)["access_code"]}},
            headers);
      } else if (action == "list_staff") {
        r = site.get("/api/v1/staff", headers);
      } else if (action == "add_staff") {
        r = site.request("POST", "/api/v1/staff",
                         json{{"id", "new.member"},
                              {"name", "نورة القحطاني"},
                              {"unit", "KSU.SA"},
                              {"roles", {"employee"}},
                              {"password", "a long enough password"}},
                         headers);
      } else if (action == "update_staff") {
        r = site.request("PATCH", "/api/v1/staff/target", json{{"name", "اسم جديد"}}, headers);
      } else if (action == "read_audit") {
        r = site.get("/api/v1/audit", headers);
      } else if (action == "read_org") {
        r = site.get("/api/v1/org", headers);
      } else if (action == "replace_org") {
        r = site.request("PUT", "/api/v1/org", kTree, headers);
      } else if (action == "file_case") {
        r = site.request("POST", "/api/v1/cases", sample_request_json(), headers);
      } else {
        FAIL("no request for " << action);
      }

      INFO(actor << " → " << action << ": " << r.status << " " << r.text.substr(0, 300));
      if (allowed.count({actor, action})) {
        const bool creates =
            action == "upload_attachment" || action == "add_staff" || action == "file_case";
        REQUIRE(r.status == (creates ? 201 : 200));
        if (action == "download_attachment") CHECK(r.text == pdf);
        if (action == "read" || staff_actions.count(action) || action == "claim")
          CHECK(r.body["tracking_number"] == tn);
        if (action == "queue") {
          CHECK(listed("/api/v1/queue", headers).count(tn) ==
                allowed.count({actor, "queue_shows_case"}));
        }
        if (action == "my_cases") {
          CHECK(listed("/api/v1/me/cases", headers).count(tn) ==
                allowed.count({actor, "my_cases_shows_case"}));
        }
        if (action == "file_case") {
          // A call-centre agent's filing records the agent and the channel;
          // a signed-in beneficiary's is theirs; anyone else's is the portal's.
          const std::string filed = r.body["tracking_number"];
          const json view = site.store->staff_case_view(filed).value();
          CHECK(view["channel"] == (actor == "agent" ? "call_centre" : "portal"));
          CHECK(view.value("filed_by", "") == (actor == "agent" ? "agent" : ""));
          const bool account = actor == "account_owner" || actor == "account_stranger";
          CHECK(site.get("/api/v1/cases/" + filed, site.as(account ? actor : "account_owner"))
                    .status == (account ? 200 : 404));
        }
      } else {
        const int status = refusal(actor, action);
        CHECK(r.status == status);
        CHECK(r.body["error"]["code"] == (status == 401   ? "unauthorized"
                                          : status == 403 ? "forbidden"
                                                          : "not_found"));
        CHECK(site.head() == head_before);  // a refused request changes nothing
        if (status == 403) denials.insert({actor, audit_name(action), audit_target(action, tn)});
      }
    }
  }

  // Every 403, and nothing else, is in the audit log: who, what, on what.
  std::multiset<std::tuple<std::string, std::string, std::string>> audited;
  for (const auto& line : site.audit()) {
    if (line["event"] != "denied") continue;
    audited.emplace(line["staff"].get<std::string>(), line["action"].get<std::string>(),
                    line["target"].get<std::string>());
  }
  CHECK(audited == denials);
  CHECK(denials.size() == 93);  // the 403 cells of the matrix: none went missing
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
  // A member without the role is refused before the unit is looked at.
  CHECK(site.request("POST", "/api/v1/cases/" + tn + "/actions/assign", json{{"unit", "KSU.SA"}},
                     site.as("sa"))
            .status == 403);
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

json filing(const std::string& subject) {
  return json{{"subject", subject},
              {"description", "وصف كاف للطلب المقدم"},
              {"channel", "portal"},
              {"beneficiary", {{"name", "سارة"}, {"email", "sara@example.sa"}}}};
}

}  // namespace

TEST_CASE(
    "a service routes a new case to its unit with its default type — confidential cases need the "
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
  site.add_staff("fin.trusted", "KSU.SA.FIN", {"employee"}, true);  // the confidential grant
  auto trusted = site.get("/api/v1/cases/" + tn, site.as("fin.trusted"));
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
  // Near due once the sweeper has warned of them (80 % of their window).
  CHECK(site.get("/api/v1/queue?near_due=true", site.as("coord")).body["total"] == 0);
  {
    const auto keys = site.store->due(std::numeric_limits<std::int64_t>::max(), 100).value();
    REQUIRE(keys.size() == 6);
    std::int64_t last_warning = 0;
    for (const auto& key : keys) {
      CHECK(key.kind == "warning");
      last_warning = std::max(last_warning, key.due_ms);
    }
    site.clock.set(last_warning);
    node::Sweeper sweeper(*site.store, *site.writer, site.clock, node::SweeperOptions{}, {});
    CHECK(sweeper.run_once(site.clock.now_ms()).warned == 6);
  }
  site.login("coord");
  site.login("admin");
  auto near = site.get("/api/v1/queue?near_due=true", site.as("coord"));
  CHECK(near.body["total"] == 6);
  CHECK(near.body["cases"][0]["near_due"] == true);
  CHECK(near.body["cases"][0]["overdue"] == false);
  CHECK(site.get("/api/v1/queue?near_due=false", site.as("coord")).body["total"] == 0);
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
  CHECK(site.get("/api/v1/queue?near_due=soon", site.as("coord")).body["error"]["field"] ==
        "near_due");
  // An overdue case is no longer "near" its deadline.
  CHECK(site.get("/api/v1/queue?near_due=true", site.as("coord")).body["total"] == 0);
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

TEST_CASE("action texts that are missing, of the wrong type or too long are refused by name",
          "[access][http]") {
  Site site;
  site.add_staff("emp", "KSU.SA", {"employee"});
  json c = site.case_after({CaseAction::kAssign, CaseAction::kStart});
  const std::string path = "/api/v1/cases/" + c["tracking_number"].get<std::string>();
  const auto head = site.head();
  struct Bad {
    std::string action;
    json body;
    std::string code;
    std::string field;
  };
  const std::vector<Bad> cases = {
      {"answer", json::object(), "missing_field", "answer"},
      {"answer", json{{"answer", 42}}, "wrong_type", "answer"},
      {"answer", json{{"answer", ""}}, "invalid_length", "answer"},
      {"answer", json{{"answer", std::string(5001, 'a')}}, "invalid_length", "answer"},
      {"request_info", json{{"question", std::string(5001, 'a')}}, "invalid_length", "question"},
      {"add_note", json{{"text", std::string(5001, 'b')}}, "invalid_length", "text"},
      {"escalate", json::object(), "missing_field", "reason"},
  };
  for (const auto& bad : cases) {
    INFO(bad.action << " " << bad.body.dump(-1, ' ', false, json::error_handler_t::replace));
    auto r = site.request("POST", path + "/actions/" + bad.action, bad.body, site.as("emp"));
    CHECK(r.status == 400);
    CHECK(r.body["error"]["code"] == bad.code);
    CHECK(r.body["error"]["field"] == bad.field);
  }
  CHECK(site.head() == head);  // nothing written
}
