// Beneficiary accounts ("my cases", claiming a case with its access code) and
// the node administrator's management of staff accounts, over a real HttpApi.
#include <catch2/catch.hpp>

#include <set>

#include "http_site.hpp"
#include "node/time_util.hpp"

namespace {

using namespace tawasul::node::testing;
using nlohmann::json;
using tawasul::node::CaseAction;

const json kSara{
    {"name", "سارة الحربي"}, {"phone", "+966 55 123 4567"}, {"password", "my own long secret"}};

json filing(const std::string& subject) {
  return json{{"type", "inquiry"},
              {"subject", subject},
              {"description", "وصف كاف للطلب المقدم"},
              {"channel", "app"},
              {"beneficiary", {{"name", "سارة الحربي"}, {"phone", "+966551234567"}}}};
}

// A case's state as the store holds it (the fold of its events).
json state_of(Site& site, const std::string& tracking) {
  json found;
  REQUIRE(site.store->scan_cases([&](const json& state) {
    if (state["tracking_number"] != tracking) return true;
    found = state;
    return false;
  }));
  REQUIRE(found.is_object());
  return found;
}

// A two-unit tree (both with heads, so a case can climb) with the service
// "transcripts" (its own answer time: 2 days) and "records" (none), and `sla`
// as the node's policy (none when null).
json sla_tree(const json& sla) {
  json tree{{"version", 1},
            {"units",
             {{{"id", "KSU"},
               {"name", {{"ar", "جامعة الملك سعود"}, {"en", "King Saud University"}}},
               {"head_title", {{"ar", "مدير الجامعة"}, {"en", "University President"}}}},
              {{"id", "KSU.AR"},
               {"parent", "KSU"},
               {"name", {{"ar", "القبول والتسجيل"}, {"en", "Admission and Registration"}}},
               {"head_title", {{"ar", "عميد القبول والتسجيل"}, {"en", "Dean of Admission"}}}}}},
            {"services",
             {{{"id", "transcripts"},
               {"name", {{"ar", "السجل الأكاديمي"}, {"en", "Academic transcripts"}}},
               {"unit", "KSU.AR"},
               {"default_type", "demand"},
               {"answer_working_days", 2}},
              {{"id", "records"},
               {"name", {{"ar", "الوثائق"}, {"en", "Records"}}},
               {"unit", "KSU.AR"},
               {"default_type", "demand"}}}}};
  if (!sla.is_null()) tree["sla"] = sla;
  return tree;
}

}  // namespace

TEST_CASE("a beneficiary registers with a phone or e-mail — bad fields are named and write nothing",
          "[beneficiary][http]") {
  Site site;
  auto refuse = [&](json body, const std::string& field) {
    auto r = site.request("POST", "/api/v1/beneficiaries", body);
    CHECK(r.status == 400);
    CHECK(r.body["error"]["field"] == field);
  };
  refuse(json{{"name", "سارة"}, {"password", "my own long secret"}}, "phone");
  refuse(json{{"name", "سارة"}, {"phone", "0551234567"}, {"password", "my own long secret"}},
         "phone");  // not international
  refuse(json{{"name", "سارة"}, {"email", "sara@"}, {"password", "my own long secret"}}, "email");
  refuse(json{{"name", "س"}, {"phone", "+966551234567"}, {"password", "my own long secret"}},
         "name");
  refuse(json{{"name", "سارة"}, {"phone", "+966551234567"}, {"password", "short"}}, "password");
  refuse(json{{"name", "سارة"},
              {"phone", "+966551234567"},
              {"password", "my own long secret"},
              {"role", "node_admin"}},
         "role");
  refuse(json{{"name", "سارة"}, {"phone", 966551234567LL}, {"password", "my own long secret"}},
         "phone");
  CHECK_FALSE(site.store->beneficiaries().by_login("+966551234567"));

  auto created = site.request("POST", "/api/v1/beneficiaries", kSara);
  REQUIRE(created.status == 201);
  CHECK(created.body["kind"] == "beneficiary");
  CHECK(created.body["phone"] == "+9665*****567");  // masked, even to its owner
  CHECK_FALSE(created.body.contains("password"));
  // The same number, however typed, cannot register twice.
  json again = kSara;
  again["phone"] = "+966551234567";
  auto dup = site.request("POST", "/api/v1/beneficiaries", again);
  CHECK(dup.status == 409);
  CHECK(dup.body["error"]["code"] == "account_exists");
  // A scholarship student abroad, by e-mail.
  auto abroad = site.request("POST", "/api/v1/beneficiaries",
                             json{{"name", "Faisal Alqahtani"},
                                  {"email", "Faisal@Uni.EDU"},
                                  {"password", "another long secret"}});
  REQUIRE(abroad.status == 201);
  CHECK(abroad.body["email"] == "f****l@uni.edu");

  // The contact data is sealed at rest.
  site.writer->stop();
  const std::string raw = read_bytes(site.dir.path() / "store" / "data.mdb");
  CHECK(raw.find("+966551234567") == std::string::npos);
  CHECK(raw.find("faisal@uni.edu") == std::string::npos);
  site.writer->start();
}

TEST_CASE("a beneficiary signs in by phone or e-mail — failures are throttled and say nothing",
          "[beneficiary][http][auth]") {
  Site site;
  REQUIRE(site.request("POST", "/api/v1/beneficiaries", kSara).status == 201);
  REQUIRE(site.request("POST", "/api/v1/beneficiaries",
                       json{{"name", "Faisal"},
                            {"email", "faisal@uni.edu"},
                            {"password", "another long secret"}})
              .status == 201);
  auto by_phone =
      site.request("POST", "/api/v1/auth/beneficiary/login",
                   json{{"login", "+966-55-123-4567"}, {"password", "my own long secret"}});
  REQUIRE(by_phone.status == 200);
  CHECK(by_phone.headers.find("Set-Cookie")->second.find("HttpOnly") != std::string::npos);
  auto me = site.get("/api/v1/me", bearer(by_phone.body));
  REQUIRE(me.status == 200);
  CHECK(me.body["kind"] == "beneficiary");
  CHECK(me.body["name"] == "سارة الحربي");
  CHECK(site.request("POST", "/api/v1/auth/beneficiary/login",
                     json{{"login", "FAISAL@uni.edu"}, {"password", "another long secret"}})
            .status == 200);

  // A beneficiary's session opens nothing of the staff's.
  CHECK(site.get("/api/v1/queue", bearer(by_phone.body)).status == 401);
  CHECK(site.get("/api/v1/org", bearer(by_phone.body)).status == 401);
  const json c = site.case_after({CaseAction::kAssign});
  CHECK(site.request("POST",
                     "/api/v1/cases/" + c["tracking_number"].get<std::string>() + "/actions/start",
                     json::object(), bearer(by_phone.body))
            .status == 401);
  // ...and a staff sign-in with a beneficiary's login is refused.
  CHECK(site.request("POST", "/api/v1/auth/login",
                     json{{"id", "+966551234567"}, {"password", "my own long secret"}})
            .status == 401);

  auto wrong = site.request("POST", "/api/v1/auth/beneficiary/login",
                            json{{"login", "+966551234567"}, {"password", "not my secret!"}});
  auto nobody = site.request("POST", "/api/v1/auth/beneficiary/login",
                             json{{"login", "+966559999999"}, {"password", "not my secret!"}});
  CHECK(wrong.status == 401);
  CHECK(nobody.status == 401);
  CHECK(wrong.body["error"]["message"] == nobody.body["error"]["message"]);
  CHECK(site.request("POST", "/api/v1/auth/beneficiary/login", json{{"login", "+966551234567"}})
            .body["error"]["field"] == "password");
  for (int i = 1; i < tawasul::node::kLoginFailuresMax; ++i) {
    site.request("POST", "/api/v1/auth/beneficiary/login",
                 json{{"login", "+966551234567"}, {"password", "not my secret!"}});
  }
  auto locked = site.request("POST", "/api/v1/auth/beneficiary/login",
                             json{{"login", "+966551234567"}, {"password", "my own long secret"}});
  CHECK(locked.status == 429);
  CHECK(locked.headers.count("Retry-After") == 1);
  // The other account is not locked by her failures.
  CHECK(site.request("POST", "/api/v1/auth/beneficiary/login",
                     json{{"login", "faisal@uni.edu"}, {"password", "another long secret"}})
            .status == 200);
  site.clock.advance(tawasul::node::kLockoutMs + 1000);
  auto later = site.request("POST", "/api/v1/auth/beneficiary/login",
                            json{{"login", "+966551234567"}, {"password", "my own long secret"}});
  REQUIRE(later.status == 200);
  // Logout ends the session.
  CHECK(site.request("POST", "/api/v1/auth/logout", nullptr, bearer(later.body)).status == 204);
  CHECK(site.get("/api/v1/me", bearer(later.body)).status == 401);
}

TEST_CASE("my cases: filed while signed in, or claimed with the access code — no one else's",
          "[beneficiary][http]") {
  Site site;
  site.add_staff("emp", "KSU.SA", {"employee"});
  const auto sara = site.register_and_login("سارة الحربي", "+966551234567", "my own long secret");
  const auto faisal = site.register_and_login("Faisal", "faisal@uni.edu", "another long secret");
  CHECK(site.get("/api/v1/me/cases").status == 401);
  CHECK(site.get("/api/v1/me/cases", sara).body["total"] == 0);

  // Filed while signed in: hers at once.
  auto mine = site.request("POST", "/api/v1/cases", filing("استفسار عن السكن"), sara);
  REQUIRE(mine.status == 201);
  const std::string tn = mine.body["tracking_number"];
  site.clock.advance(60'000);
  // Filed without an account, with her own phone number: not hers until claimed
  // (a phone number alone proves nothing).
  auto anonymous = site.request("POST", "/api/v1/cases", filing("استفسار عن المكافأة"));
  REQUIRE(anonymous.status == 201);
  const std::string tn2 = anonymous.body["tracking_number"];
  auto list = site.get("/api/v1/me/cases", sara);
  REQUIRE(list.status == 200);
  REQUIRE(list.body["total"] == 1);
  CHECK(list.body["cases"][0]["tracking_number"] == tn);
  CHECK(list.body["cases"][0]["status_label"]["ar"] == "تم الاستلام");

  // Her session reads her case without the code; another account's does not.
  CHECK(site.get("/api/v1/cases/" + tn, sara).status == 200);
  CHECK(site.get("/api/v1/cases/" + tn, faisal).status == 404);
  CHECK(site.get("/api/v1/cases/" + tn2, sara).status == 404);

  // Claiming: a wrong code is the look-up's 404 and writes nothing.
  const auto before = site.head();
  auto bad = site.request("POST", "/api/v1/me/cases",
                          json{{"tracking_number", tn2}, {"access_code", "AAAAA-AAAAA"}}, sara);
  CHECK(bad.status == 404);
  CHECK(site.request("POST", "/api/v1/me/cases", json{{"tracking_number", tn2}}, sara)
            .body["error"]["field"] == "access_code");
  CHECK(site.request("POST", "/api/v1/me/cases",
                     json{{"tracking_number", tn2}, {"access_code", "x"}, {"owner", "me"}}, sara)
            .body["error"]["field"] == "owner");
  CHECK(site.request("POST", "/api/v1/me/cases",
                     json{{"tracking_number", tn2}, {"access_code", anonymous.body["access_code"]}})
            .status == 401);
  CHECK(site.head() == before);
  const json claim{{"tracking_number", tn2}, {"access_code", anonymous.body["access_code"]}};
  auto claimed = site.request("POST", "/api/v1/me/cases", claim, sara);
  REQUIRE(claimed.status == 200);
  CHECK(claimed.body["tracking_number"] == tn2);
  CHECK(site.head() == before + 1);  // one case.linked event
  // Claiming again changes nothing; another account cannot take it.
  CHECK(site.request("POST", "/api/v1/me/cases", claim, sara).status == 200);
  CHECK(site.head() == before + 1);
  auto taken = site.request("POST", "/api/v1/me/cases", claim, faisal);
  CHECK(taken.status == 409);
  CHECK(taken.body["error"]["code"] == "already_linked");
  auto both = site.get("/api/v1/me/cases", sara);
  REQUIRE(both.body["total"] == 2);
  CHECK(both.body["cases"][0]["tracking_number"] == tn2);  // the latest first
  CHECK(site.get("/api/v1/me/cases", faisal).body["total"] == 0);

  // Through the account she answers a question and accepts the answer, no code needed.
  REQUIRE(site.request("POST", "/api/v1/cases/" + tn + "/actions/start", json::object(),
                       site.as("emp"))
              .status == 403);  // not routed to emp's unit yet
  auto in_unit = [&](CaseAction a, const json& fields) { site.act(tn, a, fields, "emp"); };
  in_unit(CaseAction::kAssign, json{{"unit", "KSU.SA"}});
  in_unit(CaseAction::kStart, json{{"assignee", "emp"}});
  in_unit(CaseAction::kRequestInfo, json{{"question", "ما اسم السكن؟"}});
  CHECK(site.request("POST", "/api/v1/cases/" + tn + "/reply", json{{"reply", "سكن الطالبات"}},
                     faisal)
            .status == 404);
  auto replied =
      site.request("POST", "/api/v1/cases/" + tn + "/reply", json{{"reply", "سكن الطالبات"}}, sara);
  REQUIRE(replied.status == 200);
  CHECK(replied.body["status"] == "in_progress");
  in_unit(CaseAction::kAnswer, json{{"answer", "تم الحجز"}});
  auto accepted = site.request("POST", "/api/v1/cases/" + tn + "/accept", nullptr, sara);
  REQUIRE(accepted.status == 200);
  CHECK(accepted.body["status"] == "closed");

  // Staff see that the case has an account, never the account's index.
  auto staff_view = site.get("/api/v1/cases/" + tn2, site.as("emp"));
  CHECK(staff_view.body.dump().find("account_index") == std::string::npos);
}

TEST_CASE("the hub folds a claimed case like the node, and the chains verify", "[beneficiary]") {
  Site site;
  const auto sara = site.register_and_login("سارة الحربي", "+966551234567", "my own long secret");
  auto filed = site.request("POST", "/api/v1/cases", filing("استفسار"));
  REQUIRE(filed.status == 201);
  REQUIRE(site.request("POST", "/api/v1/me/cases",
                       json{{"tracking_number", filed.body["tracking_number"]},
                            {"access_code", filed.body["access_code"]}},
                       sara)
              .status == 200);
  tawasul::test::TempDir hub_dir{"hub"};
  auto hub_id = make_identity(hub_dir.path(), tawasul::node::Role::kHub, "HUB");
  auto hub = open_store(hub_dir.path(), hub_id);
  REQUIRE(hub->enroll(tawasul::federation::EnrolledNode{site.id.code, site.id.curve.public_key,
                                                        site.id.sign.public_key},
                      false, site.clock.now_ms()));
  auto events = site.store->read_events("KSU", 1, 1000, 1 << 20);
  REQUIRE(events);
  REQUIRE(events->size() == 2);
  auto stored = in_write<std::uint64_t>(*hub, [&](tawasul::storage::WriteTxn& txn) {
    return hub->store_remote(txn, "KSU", *events);
  });
  REQUIRE(stored);
  CHECK(*stored == 2);
  CHECK(hub->verify());
  CHECK(site.store->verify());
  // A second link of the same case is refused by the fold itself.
  auto again = in_write<json>(*site.store, [&](tawasul::storage::WriteTxn& txn) {
    return site.store->link_case(txn, filed.body["tracking_number"].get<std::string>(),
                                 filed.body["access_code"].get<std::string>(),
                                 "Bdeadbeefdeadbeefdead", site.clock.now_ms());
  });
  REQUIRE_FALSE(again);
  CHECK(again.error().code == "already_linked");
}

TEST_CASE("a node administrator changes roles, units and passwords and disables accounts",
          "[access][http][staff]") {
  Site site;
  site.add_staff("admin", "KSU", {"node_admin"});
  site.add_staff("auditor", "KSU", {"auditor"});
  site.add_staff("emp", "KSU.SA", {"employee"});
  site.add_staff("head", "KSU.SA", {"unit_head"});

  // Listing: administrators and auditors.
  auto listed = site.get("/api/v1/staff", site.as("admin"));
  REQUIRE(listed.status == 200);
  CHECK(listed.body["total"] == 4);
  CHECK(listed.body.dump().find("password") == std::string::npos);
  CHECK(site.get("/api/v1/staff", site.as("auditor")).status == 200);
  CHECK(site.get("/api/v1/staff", site.as("emp")).status == 403);
  CHECK(site.get("/api/v1/staff").status == 401);

  // Only an administrator changes a member; bad fields are named and change nothing.
  CHECK(site.request("PATCH", "/api/v1/staff/emp", json{{"roles", {"unit_head"}}}, site.as("head"))
            .status == 403);
  CHECK(site.request("PATCH", "/api/v1/staff/emp", json{{"roles", {"unit_head"}}}).status == 401);
  auto expect_field = [&](const json& patch, const std::string& field) {
    auto r = site.request("PATCH", "/api/v1/staff/emp", patch, site.as("admin"));
    CHECK(r.status == 400);
    CHECK(r.body["error"]["field"] == field);
  };
  expect_field(json{{"roles", {"king"}}}, "roles");
  expect_field(json{{"roles", json::array()}}, "roles");
  expect_field(json{{"disabled", "yes"}}, "disabled");
  expect_field(json{{"password", "short"}}, "password");
  expect_field(json{{"id", "emp2"}}, "id");
  expect_field(json{{"colour", "blue"}}, "colour");
  CHECK(site.request("PATCH", "/api/v1/staff/nobody", json{{"name", "أحد"}}, site.as("admin"))
            .status == 404);
  CHECK(site.store->staff().find("emp")->roles ==
        std::vector<tawasul::node::StaffRole>{tawasul::node::StaffRole::kEmployee});

  // A promotion takes effect on the member's next request.
  const json c = site.case_after({CaseAction::kAssign});
  const std::string tn = c["tracking_number"];
  CHECK(site.request("POST", "/api/v1/cases/" + tn + "/actions/assign",
                     json{{"unit", "KSU.SA"}, {"assignee", "emp"}}, site.as("emp"))
            .status == 403);
  auto promoted = site.request("PATCH", "/api/v1/staff/emp",
                               json{{"roles", {"employee", "unit_head"}}, {"confidential", true}},
                               site.as("admin"));
  REQUIRE(promoted.status == 200);
  CHECK(promoted.body["roles"] == json{"employee", "unit_head"});
  CHECK(promoted.body["confidential"] == true);
  CHECK(promoted.body["unit"] == "KSU.SA");  // unchanged fields stay
  CHECK(site.request("POST", "/api/v1/cases/" + tn + "/actions/assign",
                     json{{"unit", "KSU.SA"}, {"assignee", "emp"}}, site.as("emp"))
            .status == 200);

  // Disabling ends the member's sessions and refuses new ones; enabling restores sign-in.
  REQUIRE(site.request("PATCH", "/api/v1/staff/head", json{{"disabled", true}}, site.as("admin"))
              .status == 200);
  CHECK(site.get("/api/v1/me", site.as("head")).status == 401);
  CHECK(
      site.request("POST", "/api/v1/auth/login", json{{"id", "head"}, {"password", kStaffPassword}})
          .status == 401);
  REQUIRE(site.request("PATCH", "/api/v1/staff/head", json{{"disabled", false}}, site.as("admin"))
              .status == 200);
  site.login("head");
  CHECK(site.get("/api/v1/me", site.as("head")).status == 200);

  // A new password ends the old sessions; the new one signs in.
  REQUIRE(site.request("PATCH", "/api/v1/staff/head", json{{"password", "a brand new passphrase"}},
                       site.as("admin"))
              .status == 200);
  CHECK(site.get("/api/v1/me", site.as("head")).status == 401);
  CHECK(site.request("POST", "/api/v1/auth/login",
                     json{{"id", "head"}, {"password", "a brand new passphrase"}})
            .status == 200);

  // An administrator cannot lock themselves out.
  auto self =
      site.request("PATCH", "/api/v1/staff/admin", json{{"disabled", true}}, site.as("admin"));
  CHECK(self.status == 409);
  CHECK(self.body["error"]["code"] == "would_lock_out");
  CHECK(site.request("PATCH", "/api/v1/staff/admin", json{{"roles", {"auditor"}}}, site.as("admin"))
            .status == 409);

  // Every change is in the audit log with the record before and after; auditors read it.
  auto audit = site.get("/api/v1/audit?limit=1000", site.as("auditor"));
  REQUIRE(audit.status == 200);
  int updates = 0;
  for (const auto& e : audit.body["entries"]) {
    if (e["event"] != "staff_updated") continue;
    ++updates;
    CHECK(e.contains("before"));
    CHECK(e.contains("after"));
  }
  CHECK(updates == 4);
  CHECK(site.get("/api/v1/audit", site.as("emp")).status == 403);
  CHECK(site.get("/api/v1/audit?limit=0", site.as("admin")).body["error"]["field"] == "limit");
  auto last = site.get("/api/v1/audit?limit=1", site.as("admin"));
  REQUIRE(last.body["entries"].size() == 1);
}

TEST_CASE("a large organisation's tree is replaced over HTTP — beyond 2 MiB it is refused unread",
          "[access][http][org]") {
  Site site;
  site.add_staff("admin", "KSU", {"node_admin"});
  auto tree_of = [](int units) {
    json list = json::array({json{
        {"id", "KSU"}, {"name", {{"ar", "جامعة الملك سعود"}, {"en", "King Saud University"}}}}});
    for (int i = 0; i < units; ++i) {
      const std::string n = std::to_string(i);
      list.push_back(json{{"id", "KSU.D" + n},
                          {"parent", "KSU"},
                          {"name", {{"ar", "إدارة رقم " + n}, {"en", "Department number " + n}}}});
    }
    return json{{"version", 1}, {"units", list}};
  };
  const json big = tree_of(1500);  // about 160 KiB, past the 64 KiB of other routes
  REQUIRE(big.dump().size() > 64 * 1024);
  auto replaced = site.request("PUT", "/api/v1/org", big, site.as("admin"));
  INFO(replaced.body.dump().substr(0, 300));
  REQUIRE(replaced.status == 200);
  CHECK(site.store->org_tree()->size() == 1501);
  // Refused on its headers, before a byte of the body is read (a client that
  // kept sending would see the connection close under it: the headers say it all).
  auto headers_only = [&](const std::string& method, const std::string& path, std::size_t length) {
    return raw_exchange(site.port, method + " " + path + " HTTP/1.1\r\nHost: x\r\n" +
                                       "Authorization: Bearer " + site.tokens.at("admin") +
                                       "\r\nContent-Type: application/json\r\nContent-Length: " +
                                       std::to_string(length) + "\r\n\r\n");
  };
  const std::string refused = headers_only("PUT", "/api/v1/org", 2 * 1024 * 1024 + 1);
  CHECK(refused.starts_with("HTTP/1.1 413"));
  CHECK(refused.find("organisation tree is over 2048 KiB") != std::string::npos);
  CHECK(site.store->org_tree()->size() == 1501);  // unchanged
  // Other routes keep their 64 KiB.
  CHECK(headers_only("POST", "/api/v1/staff", big.dump().size()).starts_with("HTTP/1.1 413"));
}

TEST_CASE("a service may promise its own answer time, fixed in each case when it is filed",
          "[http][org][sla]") {
  Site site;
  site.add_staff("admin", "KSU", {"node_admin"});
  site.add_staff("coord", "KSU", {"coordinator"});
  json tree{
      {"version", 1},
      {"units",
       {{{"id", "KSU"}, {"name", {{"ar", "جامعة الملك سعود"}, {"en", "King Saud University"}}}},
        {{"id", "KSU.AR"},
         {"parent", "KSU"},
         {"name", {{"ar", "القبول والتسجيل"}, {"en", "Admission and Registration"}}}}}},
      {"services",
       {{{"id", "transcripts"},
         {"name", {{"ar", "السجل الأكاديمي"}, {"en", "Academic transcripts"}}},
         {"unit", "KSU.AR"},
         {"default_type", "demand"},
         {"answer_working_days", 2}}}}};
  json bad = tree;
  bad["services"][0]["answer_working_days"] = 61;
  auto refused = site.request("PUT", "/api/v1/org", bad, site.as("admin"));
  CHECK(refused.status == 400);
  CHECK(refused.body["error"]["field"] == "services[0].answer_working_days");
  REQUIRE(site.request("PUT", "/api/v1/org", tree, site.as("admin")).status == 200);
  CHECK(site.get("/api/v1/org", site.as("coord")).body["services"][0]["answer_working_days"] == 2);

  // Sunday 15 March 2026, 13:00 Riyadh: two working days is Tuesday 17 March, 15:00.
  json body = filing("طلب سجل أكاديمي");
  body["service"] = "transcripts";
  body.erase("type");
  auto filed = site.request("POST", "/api/v1/cases", body);
  REQUIRE(filed.status == 201);
  CHECK(filed.body["due_at"] == "2026-03-17T12:00:00Z");
  auto view = site.get("/api/v1/cases/" + filed.body["tracking_number"].get<std::string>(),
                       site.as("coord"));
  CHECK(view.body["sla"]["policy"] == "service:transcripts");
  CHECK(view.body["sla"]["answer_working_days"] == 2);
  // Without a service: the ministry's five working days — 16, 17, then the
  // Eid al-Fitr holiday (18–24 March), 25, 26 and Sunday 29 March.
  auto plain = site.request("POST", "/api/v1/cases", filing("استفسار عام"));
  CHECK(plain.body["due_at"] == "2026-03-29T12:00:00Z");
}

TEST_CASE(
    "the node's SLA policy is fixed into each case at filing: service, then type, then "
    "node, then the defaults",
    "[http][org][sla]") {
  Site site;
  site.add_staff("admin", "KSU", {"node_admin"});
  const auto cal = site.store->calendar();
  const std::int64_t now = kSiteStart;  // Sunday 15 March 2026, 13:00 Riyadh
  auto file = [&](json body) {
    auto filed = site.request("POST", "/api/v1/cases", body);
    INFO(filed.text);
    REQUIRE(filed.status == 201);
    return filed.body;
  };
  // The sla a case carries, its due times computed with the node's calendar.
  auto expect = [&](const std::string& policy, int answer, int first, int level, int objection,
                    int warn) {
    return json{{"policy", policy},
                {"answer_working_days", answer},
                {"first_response_working_days", first},
                {"level_working_days", level},
                {"objection_working_days", objection},
                {"warn_percent", warn},
                {"pause_for_third_party", false},
                {"first_response_due_ms", cal->add_working_days(now, first)}};
  };
  auto check_case = [&](const json& receipt, const json& sla) {
    const json state = state_of(site, receipt["tracking_number"]);
    CHECK(state["sla"] == sla);
    const std::int64_t due = cal->add_working_days(now, sla["answer_working_days"].get<int>());
    CHECK(state["due_at_ms"] == due);
    CHECK(receipt["due_at"] == tawasul::node::iso8601_utc(due));
  };

  // No org tree yet: the ministry's defaults.
  check_case(file(filing("استفسار قبل الشجرة")), expect("default", 5, 1, 3, 10, 80));

  const json policy{
      {"answer_working_days", 7},
      {"first_response_working_days", 2},
      {"level_working_days", 4},
      {"objection_working_days", 12},
      {"warn_percent", 70},
      {"types",
       {{"complaint", {{"answer_working_days", 4}, {"first_response_working_days", 1}}},
        {"inquiry", {{"level_working_days", 2}}}}}};
  REQUIRE(site.request("PUT", "/api/v1/org", sla_tree(policy), site.as("admin")).status == 200);

  // An inquiry: the type sets no answer time, so the node's 7 days; the type's level window.
  check_case(file(filing("استفسار")), expect("node", 7, 2, 2, 12, 70));
  // A complaint: the type's 4 days and first response of 1.
  json complaint = filing("شكوى");
  complaint["type"] = "complaint";
  check_case(file(complaint), expect("type:complaint", 4, 1, 4, 12, 70));
  // A complaint for a service with its own 2 days: the service wins the answer time only.
  complaint["service"] = "transcripts";
  check_case(file(complaint), expect("service:transcripts", 2, 1, 4, 12, 70));
  // The service's default type (demand, not in the policy) with the node's first response.
  json demand = filing("طلب سجل");
  demand.erase("type");
  demand["service"] = "transcripts";
  check_case(file(demand), expect("service:transcripts", 2, 2, 4, 12, 70));
  // A service without its own answer time: the type's, else the node's.
  demand["service"] = "records";
  check_case(file(demand), expect("node", 7, 2, 4, 12, 70));
  complaint["service"] = "records";
  check_case(file(complaint), expect("type:complaint", 4, 1, 4, 12, 70));

  // The policy is shown with the tree; a tree without one gives the defaults again.
  CHECK(site.get("/api/v1/org", site.as("admin")).body["sla"] == policy);
  REQUIRE(site.request("PUT", "/api/v1/org", sla_tree(nullptr), site.as("admin")).status == 200);
  CHECK_FALSE(site.get("/api/v1/org", site.as("admin")).body.contains("sla"));
  check_case(file(filing("استفسار بعد")), expect("default", 5, 1, 3, 10, 80));

  // A refused policy names its path and leaves the running tree as it was.
  json bad = sla_tree(json{{"types", {{"question", {{"answer_working_days", 3}}}}}});
  auto refused = site.request("PUT", "/api/v1/org", bad, site.as("admin"));
  CHECK(refused.status == 400);
  CHECK(refused.body["error"]["code"] == "invalid_org_tree");
  CHECK(refused.body["error"]["field"] == "sla.types.question");
  bad = sla_tree(json{{"answer_working_days", 2}, {"first_response_working_days", 3}});
  refused = site.request("PUT", "/api/v1/org", bad, site.as("admin"));
  CHECK(refused.status == 400);
  CHECK(refused.body["error"]["field"] == "sla.first_response_working_days");
  CHECK_FALSE(site.get("/api/v1/org", site.as("admin")).body.contains("sla"));
}

TEST_CASE("a policy changed after filing leaves the promises of filed cases as they were",
          "[http][org][sla]") {
  Site site;
  site.add_staff("admin", "KSU", {"node_admin"});
  const auto cal = site.store->calendar();
  json complaint = filing("شكوى قديمة");
  complaint["type"] = "complaint";
  complaint["service"] = "records";  // routed to KSU.AR: assigned at filing

  const json before{{"level_working_days", 2},
                    {"objection_working_days", 12},
                    {"types", {{"complaint", {{"answer_working_days", 4}}}}}};
  REQUIRE(site.request("PUT", "/api/v1/org", sla_tree(before), site.as("admin")).status == 200);
  auto filed = site.request("POST", "/api/v1/cases", complaint);
  REQUIRE(filed.status == 201);
  const std::string old_case = filed.body["tracking_number"];
  const json old_state = state_of(site, old_case);
  CHECK(old_state["sla"]["policy"] == "type:complaint");
  CHECK(old_state["due_at_ms"] == cal->add_working_days(kSiteStart, 4));

  const json after{{"answer_working_days", 6},
                   {"level_working_days", 5},
                   {"objection_working_days", 20},
                   {"warn_percent", 90},
                   {"types", {{"complaint", {{"answer_working_days", 9}}}}}};
  REQUIRE(site.request("PUT", "/api/v1/org", sla_tree(after), site.as("admin")).status == 200);

  // The filed case keeps its promise; a new one gets the new policy.
  json now_state = state_of(site, old_case);
  CHECK(now_state["sla"] == old_state["sla"]);
  CHECK(now_state["due_at_ms"] == old_state["due_at_ms"]);
  complaint["subject"] = "شكوى جديدة";
  auto fresh = site.request("POST", "/api/v1/cases", complaint);
  REQUIRE(fresh.status == 201);
  const json fresh_state = state_of(site, fresh.body["tracking_number"]);
  CHECK(fresh_state["sla"]["policy"] == "type:complaint");
  CHECK(fresh_state["sla"]["answer_working_days"] == 9);
  CHECK(fresh_state["sla"]["level_working_days"] == 5);
  CHECK(fresh_state["due_at_ms"] == cal->add_working_days(kSiteStart, 9));

  // The later windows of the old case come from its own sla: an escalation's
  // window is 2 working days (not 5), the objection window 12 (not 20).
  site.clock.advance(60 * 60 * 1000);
  site.act(old_case, CaseAction::kEscalate, {{"reason", "تأخر الرد"}});
  now_state = state_of(site, old_case);
  CHECK(now_state["level"] == 1);
  CHECK(now_state["due_at_ms"] == cal->add_working_days(site.clock.now_ms(), 2));
  site.move(old_case, {CaseAction::kStart, CaseAction::kAnswer});
  now_state = state_of(site, old_case);
  CHECK(now_state["status"] == "answered");
  CHECK(now_state["objection_deadline_ms"] == cal->add_working_days(site.clock.now_ms(), 12));
  CHECK(now_state["sla"] == old_state["sla"]);
}
