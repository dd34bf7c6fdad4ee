// The filing request decoder (POST /api/v1/cases): parse_filing_request.
// Contract: it never throws; a refusal is a 4xx naming its code (and the
// field, when one field is at fault); an accepted request re-encodes to a
// body that parses to the same request (normal forms are fixed points), and
// its case.filed payload serialises.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "fuzz_util.hpp"
#include "node/cases.hpp"

namespace {

using nlohmann::json;
using tawasul::node::FilingRequest;

json encode(const FilingRequest& r) {
  json beneficiary{{"name", r.beneficiary.name}};
  if (r.beneficiary.phone) beneficiary["phone"] = *r.beneficiary.phone;
  if (r.beneficiary.email) beneficiary["email"] = *r.beneficiary.email;
  if (r.beneficiary.national_id) beneficiary["national_id"] = *r.beneficiary.national_id;
  json body{{"subject", r.subject},
            {"description", r.description},
            {"channel", r.channel},
            {"beneficiary", beneficiary},
            {"contact_preference", r.contact_preference},
            {"confidential", r.confidential}};
  if (!r.type.empty()) body["type"] = r.type;
  if (!r.service.empty()) body["service"] = r.service;
  return body;
}

bool same(const FilingRequest& a, const FilingRequest& b) {
  return a.type == b.type && a.subject == b.subject && a.description == b.description &&
         a.channel == b.channel && a.service == b.service &&
         a.contact_preference == b.contact_preference && a.confidential == b.confidential &&
         a.beneficiary.name == b.beneficiary.name && a.beneficiary.phone == b.beneficiary.phone &&
         a.beneficiary.email == b.beneficiary.email &&
         a.beneficiary.national_id == b.beneficiary.national_id;
}

// Codes about the body as a whole; every other refusal names its field.
bool names_no_field(const std::string& code) {
  return code == "body_too_large" || code == "malformed_json" || code == "invalid_utf8";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = tawasul::crypto::initialize();
  FUZZ_CHECK(ready);
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = tawasul::node::parse_filing_request(body);
  if (!parsed) {
    FUZZ_CHECK(tawasul::fuzz::is_client_error(parsed.error()));
    FUZZ_CHECK(names_no_field(parsed.error().code) || !parsed.error().field.empty());
    return 0;
  }
  const std::string again = encode(*parsed).dump();
  auto reparsed = tawasul::node::parse_filing_request(again);
  FUZZ_CHECK(reparsed.has_value());
  FUZZ_CHECK(same(*parsed, *reparsed));
  static const tawasul::crypto::SealKey seal_key{};
  const auto payload =
      tawasul::node::case_filed_payload(*parsed, "KSU-2026-000001", {}, 0, 0, seal_key);
  FUZZ_CHECK(!payload.dump().empty());
  return 0;
}
