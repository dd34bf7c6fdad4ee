// Staff and beneficiary actions over HTTP: login, logout, me, staff accounts,
// lifecycle actions on a case, and the beneficiary's reply and acceptance.
// Endpoints are listed in node/API.md.

#include <map>
#include <set>

#include "crypto/crypto.hpp"
#include "http_util.hpp"
#include "node/http_api.hpp"
#include "node/text_search.hpp"
#include "node/time_util.hpp"
#include "node/tracking.hpp"

namespace tawasul::node {

using nlohmann::json;

std::optional<StaffMember> HttpApi::authenticate(const http::Request& req) const {
  std::string token = bearer_token(req);
  if (token.empty()) return std::nullopt;
  return store_.staff().session(token, clock_.now_ms());
}

// Records a refusal in the audit log, in its own small transaction (the
// refused command itself wrote nothing).
void HttpApi::audit_denial(const StaffMember& who, const std::string& what,
                           const std::string& target) {
  const std::int64_t now = clock_.now_ms();
  writer_.submit(
      [this, who, what, target, now](storage::WriteTxn& txn) -> Result<json> {
        auto r = store_.staff().audit(
            txn, now,
            json{{"event", "denied"}, {"staff", who.id}, {"action", what}, {"target", target}});
        if (!r) return std::unexpected(r.error());
        return json{};
      },
      [](Result<json>) {});
}

AccessPolicy HttpApi::current_policy() {
  if (auto tree = store_.org_tree()) {
    return AccessPolicy(tree->root(), [tree](std::string_view unit, std::string_view ancestor) {
      return tree->in_subtree(unit, ancestor);
    });
  }
  return policy_;
}

void HttpApi::staff_routes() {
  auto& s = router_;

  s.Post("/api/v1/auth/login", [this](const http::Request& req, http::Response& res) {
    auto body = object_body(req);
    if (!body) return send_error(res, body.error());
    for (const char* field : {"id", "password"}) {
      if (!body->contains(field) || !(*body)[field].is_string()) {
        return send_error(
            res, Error::bad_request("missing_field", std::string(field) + " is required", field));
      }
    }
    const std::string id = (*body)["id"];
    const std::string password = (*body)["password"];
    const std::int64_t now = clock_.now_ms();
    if (auto until = store_.staff().locked_until(id, now)) {
      res.set_header("Retry-After", std::to_string((*until - now) / 1000 + 1));
      return send_error(
          res, Error{429, "too_many_attempts", "too many failed sign-ins; try again later", ""});
    }
    auto account = store_.staff().account(id);
    const auto verified = password_gate_->run([&] {
      return crypto::verify_password(account ? account->password_hash : dummy_hash(), password);
    });
    if (!verified) return send_busy(res);
    const bool ok = *verified && account && !account->member.disabled;
    if (!ok) {
      // Count the failure only for real accounts; say the same either way.
      if (account) {
        writer_.execute([this, id, now](storage::WriteTxn& txn) -> Result<json> {
          auto locked = store_.staff().record_failure(txn, id, now);
          if (!locked) return std::unexpected(locked.error());
          auto r = store_.staff().audit(txn, now, json{{"event", "login_failed"}, {"staff", id}});
          if (!r) return std::unexpected(r.error());
          return json{};
        });
      }
      return send_error(res, Error{401, "invalid_credentials", "wrong staff id or password", ""});
    }
    const std::string token = crypto::random_token();
    auto opened = writer_.execute([this, id, token, now](storage::WriteTxn& txn) -> Result<json> {
      if (auto r = store_.staff().open_session(txn, id, token, now); !r)
        return std::unexpected(r.error());
      if (auto r = store_.staff().clear_failures(txn, id); !r) return std::unexpected(r.error());
      if (auto r = store_.staff().audit(txn, now, json{{"event", "login"}, {"staff", id}}); !r) {
        return std::unexpected(r.error());
      }
      return json{};
    });
    if (!opened) return send_error(res, opened.error());
    res.set_header("Set-Cookie", session_cookie(token, kSessionLifetimeMs / 1000));
    send_json(res, 200,
              json{{"token", token},
                   {"expires_at", iso8601_utc(now + kSessionLifetimeMs)},
                   {"staff", account->member.to_json()}});
  });

  s.Post("/api/v1/auth/logout", [this](const http::Request& req, http::Response& res) {
    const std::string token = bearer_token(req);
    if (token.empty() || (!authenticate(req) && !authenticate_beneficiary(req)))
      return send_error(res, unauthorized());
    auto closed = writer_.execute([this, token](storage::WriteTxn& txn) -> Result<json> {
      if (auto r = store_.staff().close_session(txn, token); !r) return std::unexpected(r.error());
      return json{};
    });
    if (!closed) return send_error(res, closed.error());
    res.set_header("Set-Cookie", session_cookie("", 0));
    res.status = 204;
  });

  s.Get("/api/v1/me", [this](const http::Request& req, http::Response& res) {
    if (auto me = authenticate(req)) {
      json j = me->to_json();
      j["kind"] = "staff";
      return send_json(res, 200, j);
    }
    if (auto account = authenticate_beneficiary(req))
      return send_json(res, 200, account->to_json());
    send_error(res, unauthorized());
  });

  s.Post("/api/v1/staff", [this](const http::Request& req, http::Response& res) {
    auto me = authenticate(req);
    if (!me) return send_error(res, unauthorized());
    if (!me->has(StaffRole::kNodeAdmin)) {
      audit_denial(*me, "add_staff", "staff");
      return send_error(res, forbidden());
    }
    auto body = object_body(req);
    if (!body) return send_error(res, body.error());
    auto member = parse_staff_member(*body);
    if (!member) return send_error(res, member.error());
    if (!body->contains("password") || !(*body)["password"].is_string()) {
      return send_error(res,
                        Error::bad_request("missing_field", "password is required", "password"));
    }
    if (auto tree = store_.org_tree(); tree && !tree->unit(member->unit)) {
      return send_error(
          res, Error::bad_request("unknown_unit", "unit is not a unit of this node", "unit"));
    }
    const std::string password = (*body)["password"];
    if (auto ok = check_password(password); !ok) return send_error(res, ok.error());
    auto gated =
        password_gate_->run([&] { return crypto::hash_password(password, password_cost_); });
    if (!gated) return send_busy(res);
    auto hash = std::move(*gated);
    if (!hash) return send_error(res, Error::internal(hash.error().message));
    const std::int64_t now = clock_.now_ms();
    auto added = writer_.execute(
        [this, m = *member, h = *hash, now](storage::WriteTxn& txn) -> Result<json> {
          if (auto r = store_.staff().add(txn, m, h, now); !r) return std::unexpected(r.error());
          return m.to_json();
        });
    if (!added) return send_error(res, added.error());
    send_json(res, 201, *added);
  });

  // Staff accounts: administrators and auditors list them; a member reads
  // their own record through /api/v1/me.
  s.Get("/api/v1/staff", [this](const http::Request& req, http::Response& res) {
    auto me = authenticate(req);
    if (!me) return send_error(res, unauthorized());
    if (!me->has(StaffRole::kNodeAdmin) && !me->has(StaffRole::kAuditor)) {
      audit_denial(*me, "list_staff", "staff");
      return send_error(res, forbidden());
    }
    auto members = store_.staff().list();
    if (!members) return send_error(res, members.error());
    json out = json::array();
    for (const auto& m : *members) out.push_back(m.to_json());
    send_json(res, 200, json{{"total", out.size()}, {"staff", out}});
  });

  // A node administrator changes a member: name, unit, roles, confidential
  // grant, disabled, password. Only the fields sent change; the result is
  // validated whole. Disabling or a new password ends the member's sessions.
  s.Patch(R"(/api/v1/staff/([a-z0-9._-]+))", [this](const http::Request& req, http::Response& res) {
    auto me = authenticate(req);
    if (!me) return send_error(res, unauthorized());
    const std::string id = req.matches[1];
    if (!me->has(StaffRole::kNodeAdmin)) {
      audit_denial(*me, "update_staff", id);
      return send_error(res, forbidden());
    }
    auto body = object_body(req);
    if (!body) return send_error(res, body.error());
    auto current = store_.staff().find(id);
    if (!current) return send_error(res, Error::not_found("no staff member '" + id + "'"));
    if (body->contains("id")) {
      return send_error(res,
                        Error::bad_request("immutable_field",
                                           "a staff id cannot change; create a new account", "id"));
    }
    json merged = current->to_json();
    merged.erase("disabled");
    std::optional<bool> disabled;
    if (body->contains("disabled")) {
      if (!(*body)["disabled"].is_boolean()) {
        return send_error(
            res, Error::bad_request("wrong_type", "disabled must be true or false", "disabled"));
      }
      disabled = (*body)["disabled"].get<bool>();
      body->erase("disabled");
    }
    std::optional<std::string> password;
    if (body->contains("password")) {
      if (!(*body)["password"].is_string()) {
        return send_error(
            res, Error::bad_request("wrong_type", "password must be a string", "password"));
      }
      password = (*body)["password"].get<std::string>();
      if (auto ok = check_password(*password); !ok) return send_error(res, ok.error());
      body->erase("password");
    }
    for (auto it = body->begin(); it != body->end(); ++it) merged[it.key()] = it.value();
    auto member = parse_staff_member(merged);
    if (!member) return send_error(res, member.error());
    member->disabled = disabled.value_or(current->disabled);
    if (auto tree = store_.org_tree(); tree && !tree->unit(member->unit)) {
      return send_error(
          res, Error::bad_request("unknown_unit", "unit is not a unit of this node", "unit"));
    }
    // An administrator cannot lock themselves out: someone must remain who
    // can mend accounts (the command line can, too: `tawasul staff add`).
    if (id == me->id && (member->disabled || !member->has(StaffRole::kNodeAdmin))) {
      return send_error(res, Error::conflict("would_lock_out",
                                             "you cannot disable your own account or drop your "
                                             "own node_admin role; ask another administrator"));
    }
    std::optional<std::string> hash;
    if (password) {
      auto gated =
          password_gate_->run([&] { return crypto::hash_password(*password, password_cost_); });
      if (!gated) return send_busy(res);
      auto h = std::move(*gated);
      if (!h) return send_error(res, Error::internal(h.error().message));
      hash = *h;
    }
    const std::int64_t now = clock_.now_ms();
    auto updated =
        writer_.execute([this, m = *member, hash, now](storage::WriteTxn& txn) -> Result<json> {
          auto r = store_.staff().update(txn, m, hash, now);
          if (!r) return std::unexpected(r.error());
          return r->to_json();
        });
    if (!updated) return send_error(res, updated.error());
    send_json(res, 200, *updated);
  });

  // The node's audit log (sign-ins, denials, staff and org changes), the
  // latest `limit` entries: for administrators and auditors.
  s.Get("/api/v1/audit", [this](const http::Request& req, http::Response& res) {
    auto me = authenticate(req);
    if (!me) return send_error(res, unauthorized());
    if (!me->has(StaffRole::kNodeAdmin) && !me->has(StaffRole::kAuditor)) {
      audit_denial(*me, "read_audit", "audit");
      return send_error(res, forbidden());
    }
    std::size_t limit = 100;
    if (req.has_param("limit")) {
      const std::string v = req.get_param_value("limit");
      if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(v) < 1 || std::stoul(v) > 1000) {
        return send_error(res, Error::bad_request("invalid_paging", "limit is 1 to 1000", "limit"));
      }
      limit = std::stoul(v);
    }
    auto entries = store_.staff().audit_tail(limit);
    if (!entries) return send_error(res, entries.error());
    send_json(res, 200, json{{"entries", *entries}});
  });

  // The organisation tree: any signed-in staff member reads it; a node
  // administrator replaces it (validated whole; nothing changes on error).
  s.Get("/api/v1/org", [this](const http::Request& req, http::Response& res) {
    if (!authenticate(req)) return send_error(res, unauthorized());
    auto tree = store_.org_tree();
    if (!tree) return send_error(res, Error::not_found("no organisation tree is loaded yet"));
    send_json(res, 200, tree->to_json());
  });
  s.Put("/api/v1/org", [this](const http::Request& req, http::Response& res) {
    auto me = authenticate(req);
    if (!me) return send_error(res, unauthorized());
    if (!me->has(StaffRole::kNodeAdmin)) {
      audit_denial(*me, "replace_org_tree", "org");
      return send_error(res, forbidden());
    }
    if (!is_json_content_type(req)) {
      return send_error(res, Error{415, "unsupported_media_type",
                                   "send JSON (Content-Type: application/json)", ""});
    }
    auto tree = OrgTree::parse_text(req.body);
    if (!tree) return send_error(res, tree.error());
    const std::int64_t now = clock_.now_ms();
    auto stored = writer_.execute([this, &tree, now](storage::WriteTxn& txn) -> Result<json> {
      if (auto r = store_.set_org_tree(txn, *tree, now); !r) return std::unexpected(r.error());
      return json{};
    });
    if (!stored) return send_error(res, stored.error());
    send_json(res, 200, tree->to_json());
  });

  // The staff queue: cases the member may read, filtered, searched (Arabic
  // folded, text_search.hpp), due soonest first, a page at a time.
  s.Get("/api/v1/queue", [this](const http::Request& req, http::Response& res) {
    auto me = authenticate(req);
    if (!me) return send_error(res, unauthorized());
    const AccessPolicy policy = current_policy();
    std::map<std::string, std::string> filters;
    for (const char* key : {"status", "type", "service", "unit", "assignee", "channel"}) {
      if (req.has_param(key)) filters[key] = req.get_param_value(key);
    }
    if (filters.count("status") && !parse_status(filters["status"])) {
      return send_error(
          res, Error::bad_request("unknown_status", "status is not a case status", "status"));
    }
    if (filters.count("type") && !is_case_type(filters["type"])) {
      return send_error(res, Error::bad_request("unknown_type", "type is not a case type", "type"));
    }
    if (filters.count("channel") && !is_channel(filters["channel"])) {
      return send_error(
          res, Error::bad_request("unknown_channel", "channel is not a channel", "channel"));
    }
    const std::string overdue = req.get_param_value("overdue");
    const std::string near_due = req.get_param_value("near_due");
    for (const auto& [name, value] : {std::pair{"overdue", &overdue}, {"near_due", &near_due}}) {
      if (!value->empty() && *value != "true" && *value != "false") {
        return send_error(
            res, Error::bad_request("wrong_type", std::string(name) + " is true or false", name));
      }
    }
    const std::string query = req.get_param_value("q");
    if (invalid_utf8_offset(query) || utf8_length(query) > 200) {
      return send_error(
          res, Error::bad_request("invalid_query", "q is at most 200 characters of text", "q"));
    }
    auto number = [&](const char* key, int fallback, int max) -> std::optional<int> {
      if (!req.has_param(key)) return fallback;
      const std::string v = req.get_param_value(key);
      if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
      int n = std::stoi(v);
      if (n < 1 || n > max) return std::nullopt;
      return n;
    };
    auto page = number("page", 1, 100000);
    auto per_page = number("per_page", 25, 100);
    if (!page || !per_page) {
      return send_error(
          res, Error::bad_request("invalid_paging", "page is 1 or more; per_page is 1 to 100",
                                  !page ? "page" : "per_page"));
    }
    // A beneficiary's cases by phone, e-mail or national ID, through the blind index.
    std::optional<std::set<std::string>> by_contact;
    for (const char* field : {"phone", "email", "national_id"}) {
      if (!req.has_param(field)) continue;
      auto found = store_.find_by_contact(field, req.get_param_value(field));
      if (!found) return send_error(res, found.error());
      std::set<std::string> numbers(found->begin(), found->end());
      if (by_contact) {
        std::set<std::string> both;
        for (const auto& n : numbers) {
          if (by_contact->count(n)) both.insert(n);
        }
        numbers = both;
      }
      by_contact = numbers;
    }
    const std::int64_t now = clock_.now_ms();
    std::vector<json> hits;
    auto scanned = store_.scan_cases([&](const json& state) {
      if (by_contact && !by_contact->count(state["tracking_number"].get<std::string>()))
        return true;
      const std::string unit = state.value("unit", "");
      if (!policy.may_read(*me, CaseScope{unit, state.value("confidential", false)})) return true;
      for (const auto& [key, wanted] : filters) {
        const json& v = state.contains(key) ? state[key] : json();
        if (!v.is_string() || v.get<std::string>() != wanted) return true;
      }
      const bool open = state["status"] != "answered" && state["status"] != "closed";
      // A case waiting for the beneficiary has its clock stopped: not overdue.
      const bool is_overdue =
          open && !state.contains("sla_paused") && state["due_at_ms"].get<std::int64_t>() < now;
      if (overdue == "true" && !is_overdue) return true;
      if (overdue == "false" && is_overdue) return true;
      // Flagged by the pre-breach warning (node/SLA.md), and not yet late.
      const bool is_near_due =
          open && !is_overdue && !state.contains("sla_paused") && state.contains("sla_warned");
      if (near_due == "true" && !is_near_due) return true;
      if (near_due == "false" && is_near_due) return true;
      if (!query.empty() && !matches_query(state["subject"].get<std::string>() + " " +
                                               state["description"].get<std::string>(),
                                           query)) {
        return true;
      }
      hits.push_back(json{{"tracking_number", state["tracking_number"]},
                          {"type", state["type"]},
                          {"subject", state["subject"]},
                          {"status", state["status"]},
                          {"unit", state.value("unit", "")},
                          {"assignee", state.contains("assignee") ? state["assignee"] : json()},
                          {"channel", state["channel"]},
                          {"confidential", state.value("confidential", false)},
                          {"submitted_at_ms", state["submitted_at_ms"]},
                          {"due_at_ms", state["due_at_ms"]},
                          {"overdue", is_overdue},
                          {"near_due", is_near_due}});
      return true;
    });
    if (!scanned) return send_error(res, scanned.error());
    std::stable_sort(hits.begin(), hits.end(), [](const json& a, const json& b) {
      return a["due_at_ms"].get<std::int64_t>() < b["due_at_ms"].get<std::int64_t>();
    });
    json cases = json::array();
    const std::size_t first =
        static_cast<std::size_t>(*page - 1) * static_cast<std::size_t>(*per_page);
    for (std::size_t i = first; i < hits.size() && i < first + static_cast<std::size_t>(*per_page);
         ++i) {
      json c = hits[i];
      c["submitted_at"] = iso8601_utc(c["submitted_at_ms"].get<std::int64_t>());
      c["due_at"] = iso8601_utc(c["due_at_ms"].get<std::int64_t>());
      c["due_at_hijri"] = hijri_json(c["due_at_ms"].get<std::int64_t>());
      c.erase("submitted_at_ms");
      c.erase("due_at_ms");
      cases.push_back(c);
    }
    send_json(
        res, 200,
        json{{"total", hits.size()}, {"page", *page}, {"per_page", *per_page}, {"cases", cases}});
  });

  // A staff member moves a case through its lifecycle.
  s.Post(R"(/api/v1/cases/([^/]+)/actions/([a-z_]+))",
         [this](const http::Request& req, http::Response& res) {
           auto me = authenticate(req);
           if (!me) return send_error(res, unauthorized());
           const std::string tracking = to_upper_ascii(req.matches[1]);
           auto action = parse_action(std::string(req.matches[2]));
           if (!action || *action == CaseAction::kProvideInfo || *action == CaseAction::kClose ||
               *action == CaseAction::kObject) {
             return send_error(
                 res, Error::bad_request("unknown_action",
                                         "staff actions are assign, start, request_info, "
                                         "await_third_party, third_party_replied, answer, "
                                         "reject, transfer, add_note, reply, decide_objection, "
                                         "escalate",
                                         "action"));
           }
           auto fields = object_body(req);
           if (!fields) return send_error(res, fields.error());
           if (*action == CaseAction::kStart && !fields->contains("assignee"))
             (*fields)["assignee"] = me->id;
           // Units named by assign and transfer must exist in the org tree: checked
           // after the permission, so a member without the role learns nothing.
           auto tree = store_.org_tree();
           auto unknown_unit = [&]() -> Result<void> {
             for (const char* field : {"unit", "to_unit"}) {
               if (tree && fields->contains(field) && (*fields)[field].is_string() &&
                   !tree->unit((*fields)[field].get<std::string>())) {
                 return std::unexpected(Error::bad_request(
                     "unknown_unit", std::string(field) + " is not a unit of this node", field));
               }
             }
             return {};
           };
           const AccessPolicy policy = current_policy();
           const std::int64_t now = clock_.now_ms();
           const StaffMember who = *me;
           auto done = writer_.execute([&, who, now](storage::WriteTxn& txn) -> Result<json> {
             return store_.act_on_case(txn, tracking, *action, who.id, *fields, now,
                                       [&](const json& state) -> Result<void> {
                                         const std::string unit = state.value("unit", "");
                                         CaseScope scope{unit, state.value("confidential", false)};
                                         if (!policy.may_act(who, *action, scope)) {
                                           return std::unexpected(forbidden());
                                         }
                                         return unknown_unit();
                                       });
           });
           if (!done) {
             if (done.error().status == 403)
               audit_denial(who, std::string(action_name(*action)), tracking);
             return send_error(res, done.error());
           }
           send_json(res, 200, *done);
         });

  // The beneficiary answers the question asked, accepts the answer, or
  // objects to it.
  auto beneficiary_action = [this](CaseAction action, const char* field) {
    return [this, action, field](const http::Request& req, http::Response& res) {
      const std::string tracking = to_upper_ascii(req.matches[1]);
      // The code (or the account) first, with the same 404 as a look-up.
      if (auto found = beneficiary_case(req, tracking); !found)
        return send_error(res, found.error());
      auto body = object_body(req);
      if (!body) return send_error(res, body.error());
      json fields = json::object();
      if (action != CaseAction::kClose) {
        if (!body->contains(field) || !(*body)[field].is_string()) {
          return send_error(
              res, Error::bad_request("missing_field", std::string(field) + " is required", field));
        }
        const std::string text = (*body)[field];
        const std::size_t max = action == CaseAction::kObject ? 2000 : 5000;
        if (invalid_utf8_offset(text) || utf8_length(text) < 1 || utf8_length(text) > max) {
          return send_error(res, Error::bad_request("invalid_length",
                                                    std::string(field) + " must be 1 to " +
                                                        std::to_string(max) + " characters",
                                                    field));
        }
        fields[field] = text;
      } else {
        fields["reason"] = "accepted";
      }
      const std::int64_t now = clock_.now_ms();
      auto done = writer_.execute([&, now](storage::WriteTxn& txn) -> Result<json> {
        return store_.act_on_case(txn, tracking, action, "beneficiary", fields, now);
      });
      if (!done) return send_error(res, done.error());
      send_json(res, 200, *done);
    };
  };
  s.Post(R"(/api/v1/cases/([^/]+)/reply)", beneficiary_action(CaseAction::kProvideInfo, "reply"));
  s.Post(R"(/api/v1/cases/([^/]+)/accept)", beneficiary_action(CaseAction::kClose, "reason"));
  // The beneficiary objects to the answer, within its window (node/SLA.md).
  s.Post(R"(/api/v1/cases/([^/]+)/object)", beneficiary_action(CaseAction::kObject, "reason"));
}

}  // namespace tawasul::node
