// Case attachments over HTTP: the upload (beneficiary with the access code,
// or staff who may act on the case) and the download (whoever may read the
// case). The rules are in node/attachments.hpp and node/access.hpp; the
// endpoints in node/API.md.

#include "http_util.hpp"
#include "node/attachments.hpp"
#include "node/http_api.hpp"

namespace tawasul::node {

using nlohmann::json;

namespace {

std::string lower_ascii(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The file of an upload: its name and that its declared type is one we
// take and agrees with what its first bytes say. Every refusal is a 4xx.
Result<std::string> check_upload(const http::Request& req) {
  if (!req.has_param("name")) {
    return std::unexpected(Error::bad_request(
        "missing_field", "name (the file name) is required: ?name=report.pdf", "name"));
  }
  auto name = check_attachment_name(req.get_param_value("name"));
  if (!name) return std::unexpected(name.error());
  const std::string declared = media_type_of(req.get_header_value("Content-Type"));
  if (!is_attachment_media_type(declared)) {
    return std::unexpected(Error{415, "unsupported_media_type",
                                 "send the file's bytes as the body, with Content-Type "
                                 "application/pdf, image/jpeg or image/png",
                                 ""});
  }
  if (req.body.empty())
    return std::unexpected(Error::bad_request("empty_file", "the file is empty", "file"));
  auto sniffed = sniff_media_type(req.body);
  if (!sniffed) {
    return std::unexpected(Error{415, "unsupported_media_type",
                                 "the file is not a PDF, JPEG or PNG (judged by its content, "
                                 "not its name)",
                                 ""});
  }
  if (*sniffed != declared) {
    return std::unexpected(Error{415, "media_type_mismatch",
                                 "the file's content is " + std::string(*sniffed) + ", not the " +
                                     declared + " it was sent as",
                                 ""});
  }
  return name;
}

}  // namespace

void HttpApi::attachment_routes() {
  auto& s = router_;

  // Upload: the raw file is the body, its name in ?name=. The beneficiary
  // uploads with the access code (also right after filing: the receipt gives
  // the code, so "upload on filing" is file, then upload); staff with a
  // session, when their role acts on cases and the case is in their scope.
  s.Post(R"(/api/v1/cases/([^/]+)/attachments)", [this](const http::Request& req,
                                                        http::Response& res) {
    const std::string tracking = to_upper_ascii(req.matches[1]);
    if (auto bad = tracking_number_error(tracking)) return send_error(res, *bad);
    if (auto bad = access_code_in_query(req)) return send_error(res, *bad);
    const std::string code = access_code_of(req);
    std::optional<StaffMember> me;
    const AccessPolicy policy = current_policy();
    if (code.empty() && !(me = authenticate(req))) {
      // A signed-in beneficiary uploads to the cases of their account.
      if (!authenticate_beneficiary(req)) {
        return send_error(res,
                          Error{401, "unauthorized",
                                "sign in, or send the case's access code in X-Access-Code", ""});
      }
      if (auto found = beneficiary_case(req, tracking); !found)
        return send_error(res, found.error());
    } else if (me) {
      // Refused before the file is looked at, and audited, like every staff denial.
      auto state = store_.staff_case_view(tracking);
      if (!state) return send_error(res, state.error());
      if (!policy.may_attach(
              *me, CaseScope{state->value("unit", ""), state->value("confidential", false)})) {
        audit_denial(*me, "upload_attachment", tracking);
        return send_error(res, forbidden());
      }
    } else if (auto found = beneficiary_case(req, tracking); !found) {
      return send_error(res, found.error());  // the same 404 as a look-up
    }
    auto name = check_upload(req);
    if (!name) return send_error(res, name.error());
    const std::int64_t now = clock_.now_ms();
    const std::string by = me ? me->id : "beneficiary";
    // Answered only after the commit that holds both the file and its event.
    auto added = writer_.execute([&](storage::WriteTxn& txn) -> Result<json> {
      return store_.add_attachment(
          txn, tracking, by, *name, req.body, now, [&](const json& state) -> Result<void> {
            if (me && !policy.may_attach(*me, CaseScope{state.value("unit", ""),
                                                        state.value("confidential", false)})) {
              return std::unexpected(forbidden());
            }
            return {};
          });
    });
    if (!added) {
      if (me && added.error().status == 403) audit_denial(*me, "upload_attachment", tracking);
      return send_error(res, added.error());
    }
    res.set_header("Location", "/api/v1/cases/" + tracking + "/attachments/" +
                                   (*added)["id"].get<std::string>());
    send_json(res, 201, *added);
  });

  // Download: the readers of GET /cases/{n}. Always a download, never shown
  // inline: files from beneficiaries must not render in the console's origin.
  s.Get(R"(/api/v1/cases/([^/]+)/attachments/([^/]+))", [this](const http::Request& req,
                                                               http::Response& res) {
    const std::string tracking = to_upper_ascii(req.matches[1]);
    if (auto bad = tracking_number_error(tracking)) return send_error(res, *bad);
    const std::string id = lower_ascii(req.matches[2]);
    if (auto bad = access_code_in_query(req)) return send_error(res, *bad);
    const std::string code = access_code_of(req);
    bool allowed = false;
    if (code.empty()) {
      if (auto me = authenticate(req)) {
        auto state = store_.staff_case_view(tracking);
        if (!state) return send_error(res, state.error());
        if (!current_policy().may_read(
                *me, CaseScope{state->value("unit", ""), state->value("confidential", false)})) {
          audit_denial(*me, "download_attachment", tracking);
          return send_error(res, forbidden());
        }
        allowed = true;
      }
    }
    if (!allowed) {  // the beneficiary: the access code, or their account
      if (auto found = beneficiary_case(req, tracking); !found)
        return send_error(res, found.error());
    }
    auto file = store_.read_attachment(tracking, id);
    if (!file) return send_error(res, file.error());
    const std::string media_type = file->meta["media_type"];
    res.status = 200;
    res.set_header("Content-Disposition", attachment_disposition(download_filename(
                                              file->meta["name"].get<std::string>(), media_type)));
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Security-Policy", "default-src 'none'");
    res.set_content(file->bytes, media_type);
  });
}

}  // namespace tawasul::node
