#include "node/http_api.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

#include "http_util.hpp"
#include "node/time_util.hpp"
#include "node/tracking.hpp"

namespace tawasul::node {

using nlohmann::json;

namespace {

constexpr std::uint64_t kOrgTreeBodyMax = 2 * 1024 * 1024;

// Request bodies are bounded per route, before they are read: the server
// (node/http/server.hpp) holds every body to the largest any route takes (an
// attachment upload, kAttachmentMax), and the router's head check —
// body_refusal, run after the headers and before the body — holds every
// other route to kRequestBodyMax and refuses what it cannot bound: a
// Transfer-Encoding, or a body-carrying method without Content-Length.
bool is_upload(const http::Request& req) {
  constexpr std::string_view kPrefix = "/api/v1/cases/";
  constexpr std::string_view kSuffix = "/attachments";
  const std::string_view path = req.path;
  if (req.method != "POST" || !path.starts_with(kPrefix) || !path.ends_with(kSuffix) ||
      path.size() <= kPrefix.size() + kSuffix.size()) {
    return false;
  }
  const auto tracking = path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  return tracking.find('/') == std::string_view::npos;
}

Error body_too_large(const http::Request& req) {
  if (is_upload(req)) {
    return Error{413, "body_too_large",
                 "the file is over " + std::to_string(kAttachmentMax / (1024 * 1024)) + " MiB", ""};
  }
  return Error{413, "body_too_large",
               "the request body is over " + std::to_string(kRequestBodyMax / 1024) + " KiB", ""};
}

// Why a request's body is refused before it is read, if it is. The refusal
// closes the connection; the server first drains what the client still
// sends of a declared body (up to the largest limit), so a client that sends
// first and reads after still reads the answer.
std::optional<Error> body_refusal(const http::Request& req) {
  if (req.has_header("Transfer-Encoding")) {
    return Error{411, "length_required",
                 "send the body with a Content-Length; chunked bodies are not accepted", ""};
  }
  const bool carries_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                            req.method == "DELETE";
  if (!req.has_header("Content-Length")) {
    if (!carries_body) return std::nullopt;
    return Error{411, "length_required",
                 "send a Content-Length (0 for no body) with " + req.method + " requests", ""};
  }
  const std::string length = req.get_header_value("Content-Length");
  if (length.empty() || length.size() > 18 ||
      length.find_first_not_of("0123456789") != std::string::npos) {
    return Error::bad_request("invalid_content_length", "Content-Length is not a number");
  }
  const std::uint64_t n = std::stoull(length);
  if (is_upload(req)) {
    if (n > kAttachmentMax) return body_too_large(req);
    return std::nullopt;
  }
  // A large organisation's tree (thousands of units) is replaced whole.
  if (req.method == "PUT" && req.path == "/api/v1/org") {
    if (n > kOrgTreeBodyMax) {
      return Error{
          413, "body_too_large",
          "the organisation tree is over " + std::to_string(kOrgTreeBodyMax / 1024) + " KiB", ""};
    }
    return std::nullopt;
  }
  if (n > kRequestBodyMax) return body_too_large(req);
  return std::nullopt;
}

}  // namespace

HttpApi::HttpApi(NodeStore& store, Writer& writer, const Clock& clock,
                 std::function<json()> federation_status)
    : store_(store),
      writer_(writer),
      clock_(clock),
      federation_status_(std::move(federation_status)),
      policy_(store.identity().code,
              [](std::string_view unit, std::string_view ancestor) {
                return unit == ancestor ||
                       (unit.size() > ancestor.size() && unit.starts_with(ancestor) &&
                        unit[ancestor.size()] == '.');
              }),
      password_gate_(std::make_unique<BoundedGate>(core_count(), kPasswordQueue)) {
  routes();
}

HttpApi::~HttpApi() {
  stop();
}

Result<int> HttpApi::bind(const HttpOptions& options) {
  const std::size_t hashes = options.password_hashes == 0 ? core_count() : options.password_hashes;
  password_gate_ = std::make_unique<BoundedGate>(hashes, options.password_queue);
  http::ServerOptions server;
  server.host = options.host;
  server.port = options.port;
  server.handlers = static_cast<std::size_t>(std::max(1, options.threads));
  server.limits = options.limits;
  // The largest body any route takes; the others are held to kRequestBodyMax
  // before their body is read (body_refusal, in routes()).
  server.limits.body_bytes = std::max<std::uint64_t>(kAttachmentMax, kOrgTreeBodyMax);
  return server_.bind(server);
}

void HttpApi::start() {
  server_.start();
}

void HttpApi::stop() {
  server_.stop();
}

void HttpApi::routes() {
  auto& s = router_;

  // 404, 405 and a handler's exception get the JSON error shape from the
  // router; bodies are bounded per route before they are read.
  s.set_head_check([](const http::Request& req, bool) -> std::optional<http::Response> {
    auto refused = body_refusal(req);
    if (!refused) return std::nullopt;
    return http::error_response(*refused);
  });

  staff_routes();
  beneficiary_routes();
  attachment_routes();

  s.Get("/api/v1/health", [this](const http::Request&, http::Response& res) {
    auto stats = store_.stats();
    if (!stats) {
      send_error(res, stats.error());
      return;
    }
    const auto& id = store_.identity();
    json streams = json::object();
    for (const auto& [origin, head] : stats->streams) streams[origin] = head;
    json body{{"status", "ok"},        {"code", id.code},    {"role", role_name(id.role)},
              {"cases", stats->cases}, {"streams", streams}, {"now", iso8601_utc(clock_.now_ms())}};
    if (id.role == Role::kNode) {
      auto outbox = store_.outbox().counts();
      if (!outbox) return send_error(res, outbox.error());
      body["notifications"] = json{{"pending", outbox->pending}, {"failed", outbox->failed}};
    }
    if (federation_status_) body["federation"] = federation_status_();
    send_json(res, 200, body);
  });

  s.Post("/api/v1/cases", [this](const http::Request& req, http::Response& res) {
    if (!is_json_content_type(req)) {
      send_error(res, Error{415, "unsupported_media_type",
                            "send the case as JSON (Content-Type: application/json)", ""});
      return;
    }
    auto request = parse_filing_request(req.body);
    if (!request) {
      send_error(res, request.error());
      return;
    }
    // A service routes the case to its unit and gives it a default type.
    if (!request->service.empty()) {
      auto tree = store_.org_tree();
      const Service* service = tree ? tree->service(request->service) : nullptr;
      if (service == nullptr) {
        return send_error(
            res, Error::bad_request("unknown_service",
                                    "service is not in this node's service catalogue", "service"));
      }
      if (request->type.empty()) request->type = service->default_type;
      request->route_unit = service->unit;
      request->answer_working_days = service->answer_working_days;
    }
    // A call-centre agent files on a caller's behalf: the case records the
    // agent and the call-centre channel. Other staff file as the beneficiary.
    if (auto me = authenticate(req); me && me->has(StaffRole::kCallCentreAgent)) {
      request->filed_by = me->id;
      request->channel = "call_centre";
    } else {
      // The call-centre channel is the agents' alone: a case on it names
      // the agent who took the call (filed_by).
      if (request->channel == "call_centre") {
        return send_error(res, Error{403, "call_centre_agents_only",
                                     "only a call-centre agent's session files on the call_centre "
                                     "channel",
                                     "channel"});
      }
      if (auto account = authenticate_beneficiary(req)) {
        // A signed-in beneficiary's case is theirs: it appears in "my cases".
        request->account_index = store_.beneficiaries().account_index(account->id);
      }
    }
    // The access code's hash is Argon2id: made here, through the gate that
    // bounds such work, and not in the serial writer.
    auto access = password_gate_->run([] { return new_access_secret(); });
    if (!access) return send_busy(res);
    request->access = std::move(*access);
    const std::int64_t now = clock_.now_ms();
    // Answered only after the commit that holds the case (invariant 2).
    auto receipt = writer_.execute([this, r = std::move(*request), now](storage::WriteTxn& txn) {
      return store_.file_case(txn, r, now);
    });
    if (!receipt) {
      send_error(res, receipt.error());
      return;
    }
    res.set_header("Location", "/api/v1/cases/" + (*receipt)["tracking_number"].get<std::string>());
    send_json(res, 201, *receipt);
  });

  s.Get(R"(/api/v1/cases/([^/]+))", [this](const http::Request& req, http::Response& res) {
    const std::string tracking = to_upper_ascii(req.matches[1]);
    if (auto bad = tracking_number_error(tracking)) return send_error(res, *bad);
    if (auto bad = access_code_in_query(req)) return send_error(res, *bad);
    const std::string code = access_code_of(req);
    if (code.empty()) {
      // Staff read through their session, within their unit's subtree.
      if (auto me = authenticate(req)) {
        auto state = store_.staff_case_view(tracking);
        if (!state) return send_error(res, state.error());
        const std::string unit = state->value("unit", "");
        CaseScope scope{unit, state->value("confidential", false)};
        if (!current_policy().may_read(*me, scope)) {
          audit_denial(*me, "read", tracking);
          return send_error(res,
                            Error{403, "forbidden", "your role or unit does not allow this", ""});
        }
        res.set_header("Cache-Control", "no-store");
        return send_json(res, 200, *state);
      }
    }
    // The beneficiary: by the access code, or through their account.
    auto found = beneficiary_case(req, tracking);
    if (!found) {
      send_error(res, found.error());
      return;
    }
    res.set_header("Cache-Control", "no-store");
    send_json(res, 200, *found);
  });
}

}  // namespace tawasul::node
