#include "node/http_api.hpp"

#include <httplib.h>

#include <algorithm>

#include "http_util.hpp"
#include "node/time_util.hpp"
#include "node/tracking.hpp"

namespace tawasul::node {

using nlohmann::json;

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
      server_(std::make_unique<httplib::Server>()) {
  routes();
}

HttpApi::~HttpApi() {
  stop();
}

Result<int> HttpApi::bind(const HttpOptions& options) {
  const int threads = std::max(1, options.threads);
  server_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<std::size_t>(threads));
  };
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(10000);
  server_->set_payload_max_length(kRequestBodyMax);
  server_->set_read_timeout(10, 0);
  server_->set_write_timeout(10, 0);
  int port = options.port == 0
                 ? server_->bind_to_any_port(options.host)
                 : (server_->bind_to_port(options.host, options.port) ? options.port : -1);
  if (port <= 0) {
    return std::unexpected(Error::internal("cannot listen for HTTP on " + options.host + ":" +
                                           std::to_string(options.port) + " (in use?)"));
  }
  return port;
}

void HttpApi::start() {
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void HttpApi::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpApi::routes() {
  auto& s = *server_;

  // Anything that ends in an error without a body of ours gets the JSON error shape.
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&,
                                                              httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    switch (res.status) {
      case 404:
        send_error(res, Error::not_found("no such endpoint"));
        break;
      case 413:
        send_error(res, Error{413, "body_too_large",
                              "the request body is over " + std::to_string(kRequestBodyMax / 1024) +
                                  " KiB",
                              ""});
        break;
      default:
        send_error(res, Error{res.status, "http_error", "the request could not be handled", ""});
        break;
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, Error::internal("internal error"));
  });

  staff_routes();

  s.Get("/api/v1/health", [this](const httplib::Request&, httplib::Response& res) {
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

  s.Post("/api/v1/cases", [this](const httplib::Request& req, httplib::Response& res) {
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
    }
    // A call-centre agent files on a caller's behalf: the case records the
    // agent and the call-centre channel. Other staff file as the beneficiary.
    if (auto me = authenticate(req); me && me->has(StaffRole::kCallCentreAgent)) {
      request->filed_by = me->id;
      request->channel = "call_centre";
    }
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

  s.Get(R"(/api/v1/cases/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string tracking = to_upper_ascii(req.matches[1]);
    TrackingError why{};
    if (!parse_tracking_number(tracking, &why)) {
      send_error(
          res,
          Error::bad_request(
              why == TrackingError::kCheckDigit ? "check_digit_mismatch"
                                                : "invalid_tracking_number",
              why == TrackingError::kCheckDigit
                  ? "the tracking number's check digit does not match: please check it for a typo"
                  : "a tracking number looks like KSU-26-0000042-7",
              "tracking_number"));
      return;
    }
    std::string code = req.get_header_value("X-Access-Code");
    if (code.empty()) code = req.get_param_value("access_code");
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
    auto found = store_.lookup_case(tracking, code);
    if (!found) {
      send_error(res, found.error());
      return;
    }
    res.set_header("Cache-Control", "no-store");
    send_json(res, 200, *found);
  });
}

}  // namespace tawasul::node
