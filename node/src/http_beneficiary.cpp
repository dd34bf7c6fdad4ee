// Beneficiary accounts over HTTP: registration, sign-in, and "my cases"
// (beneficiaries.hpp says what an account may see and why). Endpoints are
// listed in node/API.md.

#include <algorithm>

#include "crypto/crypto.hpp"
#include "http_util.hpp"
#include "node/http_api.hpp"
#include "node/time_util.hpp"
#include "node/tracking.hpp"

namespace tawasul::node {

using nlohmann::json;

std::optional<BeneficiaryAccount> HttpApi::authenticate_beneficiary(
    const http::Request& req) const {
  std::string token = bearer_token(req);
  if (token.empty()) return std::nullopt;
  auto id = store_.staff().beneficiary_session(token, clock_.now_ms());
  if (!id) return std::nullopt;
  auto account = store_.beneficiaries().find(*id);
  if (!account || account->disabled) return std::nullopt;
  return account;
}

Result<json> HttpApi::beneficiary_case(const http::Request& req,
                                       const std::string& tracking_number) const {
  const std::string code = access_code_of(req);
  if (code.empty()) {
    if (auto account = authenticate_beneficiary(req))
      return store_.account_case_view(tracking_number, account->id);
  }
  // The check is Argon2id (tracking.hpp): it waits for the password gate.
  auto found = password_gate_->run([&] { return store_.lookup_case(tracking_number, code); });
  if (!found)
    return std::unexpected(
        Error::unavailable("busy", "too many look-ups at once; try again in a second"));
  return std::move(*found);
}

void HttpApi::beneficiary_routes() {
  auto& s = router_;

  // Registration: name, phone and/or e-mail, password. The account is
  // node-local; its contact data is sealed like a case's.
  s.Post("/api/v1/beneficiaries", [this](const http::Request& req, http::Response& res) {
    auto body = object_body(req);
    if (!body) return send_error(res, body.error());
    auto registration = parse_registration(*body);
    if (!registration) return send_error(res, registration.error());
    auto gated = password_gate_->run(
        [&] { return crypto::hash_password(registration->password, password_cost_); });
    if (!gated) return send_busy(res);
    auto hash = std::move(*gated);
    if (!hash) return send_error(res, Error::internal(hash.error().message));
    const std::int64_t now = clock_.now_ms();
    auto added = writer_.execute([this, r = std::move(*registration), h = *hash,
                                  now](storage::WriteTxn& txn) -> Result<json> {
      auto account = store_.beneficiaries().add(txn, r, h, now);
      if (!account) return std::unexpected(account.error());
      return account->to_json();
    });
    if (!added) return send_error(res, added.error());
    send_json(res, 201, *added);
  });

  // Sign-in with the phone number or e-mail address and the password. The
  // same session machinery as staff: a Bearer token and an HttpOnly cookie;
  // five failures lock the login for a quarter of an hour.
  s.Post("/api/v1/auth/beneficiary/login", [this](const http::Request& req, http::Response& res) {
    auto body = object_body(req);
    if (!body) return send_error(res, body.error());
    for (const char* field : {"login", "password"}) {
      if (!body->contains(field) || !(*body)[field].is_string()) {
        return send_error(
            res, Error::bad_request("missing_field", std::string(field) + " is required", field));
      }
    }
    const std::string login = (*body)["login"];
    const std::string password = (*body)["password"];
    if (login.size() > 254) {
      return send_error(
          res, Error::bad_request("invalid_login", "login is a phone number or an e-mail address",
                                  "login"));
    }
    const std::int64_t now = clock_.now_ms();
    const std::string failure_key = store_.beneficiaries().failure_key(login);
    if (auto until = store_.staff().locked_until(failure_key, now)) {
      res.set_header("Retry-After", std::to_string((*until - now) / 1000 + 1));
      return send_error(
          res, Error{429, "too_many_attempts", "too many failed sign-ins; try again later", ""});
    }
    auto found = store_.beneficiaries().by_login(login);
    const auto verified = password_gate_->run([&] {
      return crypto::verify_password(found ? found->password_hash : dummy_hash(), password);
    });
    if (!verified) return send_busy(res);
    const bool ok = *verified && found && !found->account.disabled;
    if (!ok) {
      if (found) {
        writer_.execute([this, failure_key, now](storage::WriteTxn& txn) -> Result<json> {
          auto locked = store_.staff().record_failure(txn, failure_key, now);
          if (!locked) return std::unexpected(locked.error());
          return json{};
        });
      }
      return send_error(res, Error{401, "invalid_credentials",
                                   "wrong phone number, e-mail address or password", ""});
    }
    const std::string token = crypto::random_token();
    const std::string id = found->account.id;
    auto opened = writer_.execute(
        [this, id, token, failure_key, now](storage::WriteTxn& txn) -> Result<json> {
          if (auto r = store_.staff().open_beneficiary_session(txn, id, token, now); !r)
            return std::unexpected(r.error());
          if (auto r = store_.staff().clear_failures(txn, failure_key); !r)
            return std::unexpected(r.error());
          return json{};
        });
    if (!opened) return send_error(res, opened.error());
    res.set_header("Set-Cookie", session_cookie(token, kSessionLifetimeMs / 1000));
    send_json(res, 200,
              json{{"token", token},
                   {"expires_at", iso8601_utc(now + kSessionLifetimeMs)},
                   {"beneficiary", found->account.to_json()}});
  });

  // "My cases": the cases filed while signed in, and those claimed since;
  // the latest first.
  s.Get("/api/v1/me/cases", [this](const http::Request& req, http::Response& res) {
    auto account = authenticate_beneficiary(req);
    if (!account) return send_error(res, unauthorized());
    auto numbers = store_.cases_of_account(account->id);
    if (!numbers) return send_error(res, numbers.error());
    json cases = json::array();
    for (const auto& tn : *numbers) {
      auto view = store_.account_case_view(tn, account->id);
      if (!view) continue;
      cases.push_back(json{{"tracking_number", (*view)["tracking_number"]},
                           {"type", (*view)["type"]},
                           {"type_label", (*view)["type_label"]},
                           {"subject", (*view)["subject"]},
                           {"status", (*view)["status"]},
                           {"status_label", (*view)["status_label"]},
                           {"submitted_at", (*view)["submitted_at"]},
                           {"due_at", (*view)["due_at"]},
                           {"due_at_hijri", (*view)["due_at_hijri"]}});
    }
    // ISO-8601 UTC strings sort as the instants they name.
    std::stable_sort(cases.begin(), cases.end(), [](const json& a, const json& b) {
      return a["submitted_at"].get<std::string>() > b["submitted_at"].get<std::string>();
    });
    res.set_header("Cache-Control", "no-store");
    send_json(res, 200, json{{"total", cases.size()}, {"cases", cases}});
  });

  // Claims a case filed without the account: the access code proves it.
  s.Post("/api/v1/me/cases", [this](const http::Request& req, http::Response& res) {
    auto account = authenticate_beneficiary(req);
    if (!account) return send_error(res, unauthorized());
    auto body = object_body(req);
    if (!body) return send_error(res, body.error());
    for (auto it = body->begin(); it != body->end(); ++it) {
      if (it.key() != "tracking_number" && it.key() != "access_code") {
        return send_error(
            res, Error::bad_request("unknown_field", it.key() + " is not a known field", it.key()));
      }
    }
    for (const char* field : {"tracking_number", "access_code"}) {
      if (!body->contains(field) || !(*body)[field].is_string()) {
        return send_error(
            res, Error::bad_request("missing_field", std::string(field) + " is required", field));
      }
    }
    const std::string tracking = to_upper_ascii((*body)["tracking_number"].get<std::string>());
    if (auto bad = tracking_number_error(tracking)) return send_error(res, *bad);
    const std::string code = (*body)["access_code"];
    const std::string id = account->id;
    const std::int64_t now = clock_.now_ms();
    auto linked = writer_.execute([&, now](storage::WriteTxn& txn) -> Result<json> {
      return store_.link_case(txn, tracking, code, id, now);
    });
    if (!linked) return send_error(res, linked.error());
    send_json(res, 200, *linked);
  });
}

}  // namespace tawasul::node
