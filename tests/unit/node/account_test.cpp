// Beneficiary accounts ("my cases", claiming a case with its access code) and
// the node administrator's management of staff accounts, over a real HttpApi.
#include <catch2/catch.hpp>

#include <set>

#include "http_site.hpp"

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
