// Unit tests for filing requests, UTF-8 checks and the case fold (node/cases.hpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "crypto/envelope.hpp"
#include "node/cases.hpp"
#include "node/error.hpp"
#include "node/tracking.hpp"

namespace {

namespace node = tawasul::node;
namespace crypto = tawasul::crypto;
using nlohmann::json;

struct CryptoInit {
  CryptoInit() {
    if (!crypto::initialize()) throw std::runtime_error("libsodium failed to initialise");
  }
};
const CryptoInit crypto_init;

// "Repeat" an (ASCII or UTF-8) piece `n` times.
std::string repeat(std::string_view piece, std::size_t n) {
  std::string out;
  out.reserve(piece.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += piece;
  return out;
}

// A complete, valid request; tests change one thing at a time.
json valid_request() {
  return json{{"type", "complaint"},
              {"subject", "  تأخر صرف المكافأة الشهرية  "},
              {"description", "لم تصرف مكافأة شهر رمضان حتى الآن رغم مراجعة الكلية مرتين."},
              {"channel", "portal"},
              {"beneficiary",
               {{"name", " محمد بن عبدالله العتيبي "},
                {"phone", "+966501234567"},
                {"email", "m.alotaibi@example.sa"},
                {"national_id", "1012345678"}}}};
}

node::Result<node::FilingRequest> parse(const json& j) {
  return node::parse_filing_request(j.dump());
}

// Expects a refusal with the given status, code and field.
void require_refused(const node::Result<node::FilingRequest>& r, int status,
                     const std::string& code, const std::string& field) {
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().status == status);
  CHECK(r.error().code == code);
  CHECK(r.error().field == field);
  CHECK_FALSE(r.error().message.empty());
}

void require_refused(const json& body, int status, const std::string& code,
                     const std::string& field) {
  INFO("body: " << body.dump());
  require_refused(parse(body), status, code, field);
}

// Every key anywhere in `j`, recursively.
void collect_keys(const json& j, std::vector<std::string>& keys) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      keys.push_back(it.key());
      collect_keys(it.value(), keys);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collect_keys(v, keys);
  }
}

}  // namespace

// --------------------------------------------------------------------------
// parse_filing_request: the accepted request
// --------------------------------------------------------------------------

TEST_CASE("a valid Arabic filing request parses and is trimmed", "[cases][parse]") {
  auto r = parse(valid_request());
  REQUIRE(r.has_value());
  CHECK(r->type == "complaint");
  CHECK(r->subject == "تأخر صرف المكافأة الشهرية");
  CHECK(r->description == "لم تصرف مكافأة شهر رمضان حتى الآن رغم مراجعة الكلية مرتين.");
  CHECK(r->channel == "portal");
  CHECK(r->beneficiary.name == "محمد بن عبدالله العتيبي");
  REQUIRE(r->beneficiary.phone.has_value());
  CHECK(*r->beneficiary.phone == "+966501234567");
  REQUIRE(r->beneficiary.email.has_value());
  CHECK(*r->beneficiary.email == "m.alotaibi@example.sa");
  REQUIRE(r->beneficiary.national_id.has_value());
  CHECK(*r->beneficiary.national_id == "1012345678");
}

TEST_CASE("every case type and channel is accepted", "[cases][parse]") {
  for (const char* type : {"inquiry", "suggestion", "remark", "complaint", "demand", "praise"}) {
    CHECK(node::is_case_type(type));
    auto j = valid_request();
    j["type"] = type;
    INFO(type);
    CHECK(parse(j).has_value());
  }
  for (const char* channel : {"portal", "app", "call_centre", "walk_in", "email"}) {
    CHECK(node::is_channel(channel));
    auto j = valid_request();
    j["channel"] = channel;
    INFO(channel);
    CHECK(parse(j).has_value());
  }
  CHECK_FALSE(node::is_case_type("Complaint"));
  CHECK_FALSE(node::is_channel("fax"));
}

TEST_CASE("optional beneficiary fields may be absent, null or empty", "[cases][parse]") {
  SECTION("phone only") {
    auto j = valid_request();
    j["beneficiary"].erase("email");
    j["beneficiary"].erase("national_id");
    auto r = parse(j);
    REQUIRE(r.has_value());
    CHECK(r->beneficiary.phone.has_value());
    CHECK_FALSE(r->beneficiary.email.has_value());
    CHECK_FALSE(r->beneficiary.national_id.has_value());
  }
  SECTION("email only, phone null") {
    auto j = valid_request();
    j["beneficiary"]["phone"] = nullptr;
    auto r = parse(j);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->beneficiary.phone.has_value());
    CHECK(r->beneficiary.email.has_value());
  }
  SECTION("email only, phone empty") {
    auto j = valid_request();
    j["beneficiary"]["phone"] = "   ";
    auto r = parse(j);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->beneficiary.phone.has_value());
  }
}

// --------------------------------------------------------------------------
// parse_filing_request: refusals
// --------------------------------------------------------------------------

TEST_CASE("malformed JSON and non-objects are refused", "[cases][parse]") {
  require_refused(node::parse_filing_request(R"({"type": "complaint", )"), 400, "malformed_json",
                  "");
  require_refused(node::parse_filing_request(""), 400, "malformed_json", "");
  require_refused(node::parse_filing_request("{'type': 'complaint'}"), 400, "malformed_json", "");
  require_refused(node::parse_filing_request("[1, 2, 3]"), 400, "malformed_json", "");
  require_refused(node::parse_filing_request("\"a string\""), 400, "malformed_json", "");
  require_refused(node::parse_filing_request("42"), 400, "malformed_json", "");
  require_refused(node::parse_filing_request("null"), 400, "malformed_json", "");
}

TEST_CASE("unknown fields are refused and named", "[cases][parse]") {
  SECTION("top level") {
    auto j = valid_request();
    j["priority"] = "high";
    require_refused(j, 400, "unknown_field", "priority");
  }
  SECTION("inside beneficiary") {
    auto j = valid_request();
    j["beneficiary"]["age"] = 31;
    require_refused(j, 400, "unknown_field", "beneficiary.age");
  }
}

TEST_CASE("missing required fields are refused and named", "[cases][parse]") {
  for (const char* field : {"type", "subject", "description", "channel", "beneficiary"}) {
    SECTION(std::string("absent: ") + field) {
      auto j = valid_request();
      j.erase(field);
      require_refused(j, 400, "missing_field", field);
    }
    SECTION(std::string("null: ") + field) {
      auto j = valid_request();
      j[field] = nullptr;
      require_refused(j, 400, "missing_field", field);
    }
  }
  SECTION("beneficiary.name absent") {
    auto j = valid_request();
    j["beneficiary"].erase("name");
    require_refused(j, 400, "missing_field", "beneficiary.name");
  }
  SECTION("beneficiary.name null") {
    auto j = valid_request();
    j["beneficiary"]["name"] = nullptr;
    require_refused(j, 400, "missing_field", "beneficiary.name");
  }
}

TEST_CASE("fields of the wrong JSON type are refused and named", "[cases][parse]") {
  SECTION("number for subject") {
    auto j = valid_request();
    j["subject"] = 12345;
    require_refused(j, 400, "wrong_type", "subject");
  }
  SECTION("array for description") {
    auto j = valid_request();
    j["description"] = json::array({"a", "b"});
    require_refused(j, 400, "wrong_type", "description");
  }
  SECTION("string for beneficiary") {
    auto j = valid_request();
    j["beneficiary"] = "محمد العتيبي";
    require_refused(j, 400, "wrong_type", "beneficiary");
  }
  SECTION("number for beneficiary.phone") {
    auto j = valid_request();
    j["beneficiary"]["phone"] = 966501234567;
    require_refused(j, 400, "wrong_type", "beneficiary.phone");
  }
  SECTION("bool for beneficiary.name") {
    auto j = valid_request();
    j["beneficiary"]["name"] = true;
    require_refused(j, 400, "wrong_type", "beneficiary.name");
  }
}

TEST_CASE("unknown type and channel values are refused", "[cases][parse]") {
  SECTION("type") {
    auto j = valid_request();
    j["type"] = "rant";
    require_refused(j, 400, "unknown_type", "type");
  }
  SECTION("channel") {
    auto j = valid_request();
    j["channel"] = "fax";
    require_refused(j, 400, "unknown_channel", "channel");
  }
}

TEST_CASE("subject length is measured in characters, not bytes", "[cases][parse][utf8]") {
  const std::string alef = "ا";  // U+0627, 2 bytes in UTF-8
  REQUIRE(alef.size() == 2);

  SECTION("200 Arabic characters (400 bytes) are accepted") {
    auto j = valid_request();
    std::string subject = repeat(alef, 200);
    REQUIRE(subject.size() == 400);
    j["subject"] = subject;
    auto r = parse(j);
    REQUIRE(r.has_value());
    CHECK(r->subject == subject);
  }
  SECTION("201 Arabic characters are refused") {
    auto j = valid_request();
    j["subject"] = repeat(alef, 201);
    require_refused(j, 400, "invalid_length", "subject");
  }
  SECTION("200 ASCII characters accepted, 201 refused") {
    auto j = valid_request();
    j["subject"] = repeat("x", 200);
    CHECK(parse(j).has_value());
    j["subject"] = repeat("x", 201);
    require_refused(j, 400, "invalid_length", "subject");
  }
  SECTION("3 characters accepted, 2 refused (after trimming)") {
    auto j = valid_request();
    j["subject"] = "شكر";
    CHECK(parse(j).has_value());
    j["subject"] = "  شك  ";
    require_refused(j, 400, "invalid_length", "subject");
    j["subject"] = "ab";
    require_refused(j, 400, "invalid_length", "subject");
    j["subject"] = "      ";
    require_refused(j, 400, "invalid_length", "subject");
  }
  SECTION("emoji count as one character each") {
    auto j = valid_request();
    j["subject"] = repeat("\xF0\x9F\x98\x80", 200);  // 800 bytes
    CHECK(parse(j).has_value());
  }
  SECTION("description too short") {
    auto j = valid_request();
    j["description"] = "قصير";
    require_refused(j, 400, "invalid_length", "description");
  }
  SECTION("beneficiary.name too short") {
    auto j = valid_request();
    j["beneficiary"]["name"] = "م";
    require_refused(j, 400, "invalid_length", "beneficiary.name");
  }
}

TEST_CASE("control characters are refused in the subject but the description keeps line breaks",
          "[cases][parse]") {
  SECTION("subject with a control character") {
    for (std::string bad :
         {std::string("abc\x01xyz"), std::string("abc\nxyz"), std::string("abc\txyz"),
          std::string("abc\x7Fxyz"), std::string("abc") + '\0' + "xyz"}) {
      auto j = valid_request();
      j["subject"] = bad;
      require_refused(j, 400, "invalid_characters", "subject");
    }
  }
  SECTION("description with newlines and tabs") {
    auto j = valid_request();
    j["description"] = "السطر الأول\nالسطر الثاني\r\n\tالسطر الثالث";
    auto r = parse(j);
    REQUIRE(r.has_value());
    CHECK(r->description == "السطر الأول\nالسطر الثاني\r\n\tالسطر الثالث");
  }
  SECTION("description with another control character") {
    auto j = valid_request();
    j["description"] = "السطر الأول\x07السطر الثاني";
    require_refused(j, 400, "invalid_characters", "description");
  }
  SECTION("name with a control character") {
    auto j = valid_request();
    j["beneficiary"]["name"] = "محمد\x1B العتيبي";
    require_refused(j, 400, "invalid_characters", "beneficiary.name");
  }
}

TEST_CASE("phone numbers are normalised to E.164", "[cases][parse][phone]") {
  auto phone_of = [](const std::string& raw) -> std::optional<std::string> {
    auto j = valid_request();
    j["beneficiary"]["phone"] = raw;
    auto r = parse(j);
    if (!r) return std::nullopt;
    return r->beneficiary.phone;
  };
  CHECK(phone_of("+966 50-123-4567") == std::optional<std::string>("+966501234567"));
  CHECK(phone_of("+966 (50) 123.4567") == std::optional<std::string>("+966501234567"));
  CHECK(phone_of("  +966501234567  ") == std::optional<std::string>("+966501234567"));
  CHECK(phone_of("+12025550123") == std::optional<std::string>("+12025550123"));
  // 8 and 15 digits are the bounds.
  CHECK(phone_of("+12345678") == std::optional<std::string>("+12345678"));
  CHECK(phone_of("+123456789012345") == std::optional<std::string>("+123456789012345"));
}

TEST_CASE("invalid phone numbers are refused", "[cases][parse][phone]") {
  for (const char* bad : {"966501234567", "0501234567", "+0966501234567", "+96650abc4567", "+12345",
                          "+1234567", "+1234567890123456", "++966501234567", "+966+501234567"}) {
    auto j = valid_request();
    j["beneficiary"]["phone"] = bad;
    INFO(bad);
    require_refused(j, 400, "invalid_phone", "beneficiary.phone");
  }
}

TEST_CASE("e-mail addresses are checked and their domain lower-cased", "[cases][parse][email]") {
  SECTION("valid, domain folded") {
    auto j = valid_request();
    j["beneficiary"]["email"] = "M.AlOtaibi@Example.SA";
    auto r = parse(j);
    REQUIRE(r.has_value());
    CHECK(*r->beneficiary.email == "M.AlOtaibi@example.sa");
  }
  SECTION("invalid") {
    for (const char* bad :
         {"not-an-email", "a@b", "@example.sa", "a@@example.sa", "a@b@example.sa", "a@.example.sa",
          "a@example.sa.", "a@example..sa", "a b@example.sa", "a@exa mple.sa", "a,b@example.sa"}) {
      auto j = valid_request();
      j["beneficiary"]["email"] = bad;
      INFO(bad);
      require_refused(j, 400, "invalid_email", "beneficiary.email");
    }
  }
}

TEST_CASE("a way to reach the beneficiary is required", "[cases][parse]") {
  auto j = valid_request();
  j["beneficiary"].erase("phone");
  j["beneficiary"].erase("email");
  require_refused(j, 400, "missing_field", "beneficiary.phone");
  j["beneficiary"]["phone"] = "";
  j["beneficiary"]["email"] = nullptr;
  require_refused(j, 400, "missing_field", "beneficiary.phone");
}

TEST_CASE("national IDs are upper-cased and checked", "[cases][parse]") {
  SECTION("normalised") {
    auto j = valid_request();
    j["beneficiary"]["national_id"] = " ab12345c ";
    auto r = parse(j);
    REQUIRE(r.has_value());
    CHECK(*r->beneficiary.national_id == "AB12345C");
  }
  SECTION("five characters accepted, twenty accepted") {
    auto j = valid_request();
    j["beneficiary"]["national_id"] = "p1234";
    CHECK(parse(j).has_value());
    j["beneficiary"]["national_id"] = repeat("9", 20);
    CHECK(parse(j).has_value());
  }
  SECTION("refused") {
    for (const char* bad : {"1234", "A12", "1012-345678", "1012 345678", "10123/45678", "N°12345",
                            "123456789012345678901"}) {
      auto j = valid_request();
      j["beneficiary"]["national_id"] = bad;
      INFO(bad);
      require_refused(j, 400, "invalid_national_id", "beneficiary.national_id");
    }
  }
}

TEST_CASE("invalid UTF-8 in the body is refused naming the field", "[cases][parse][utf8]") {
  SECTION("inside subject") {
    std::string body = valid_request().dump();
    auto at = body.find("تأخر");
    REQUIRE(at != std::string::npos);
    body.insert(at, "\xFF");
    require_refused(node::parse_filing_request(body), 400, "invalid_utf8", "subject");
  }
  SECTION("a truncated sequence inside description") {
    std::string body = valid_request().dump();
    auto at = body.find("لم تصرف");
    REQUIRE(at != std::string::npos);
    body.insert(at, "\xD8");  // lead byte, followed by another lead byte
    require_refused(node::parse_filing_request(body), 400, "invalid_utf8", "description");
  }
  SECTION("inside beneficiary.name: the field is named by its full path") {
    std::string body = valid_request().dump();
    auto at = body.find("محمد");
    REQUIRE(at != std::string::npos);
    body.insert(at, "\xFF");
    require_refused(node::parse_filing_request(body), 400, "invalid_utf8", "beneficiary.name");
  }
  SECTION("a surrogate inside subject") {
    std::string body = valid_request().dump();
    auto at = body.find("تأخر");
    body.insert(at, "\xED\xA0\x80");
    require_refused(node::parse_filing_request(body), 400, "invalid_utf8", "subject");
  }
}

TEST_CASE("a body over kRequestBodyMax is refused with 413", "[cases][parse]") {
  auto j = valid_request();
  j["description"] = repeat("x", node::kRequestBodyMax);
  std::string body = j.dump();
  REQUIRE(body.size() > node::kRequestBodyMax);
  auto r = node::parse_filing_request(body);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().status == 413);
  CHECK(r.error().code == "body_too_large");

  // Size is checked before anything else: even garbage gets 413.
  auto garbage = node::parse_filing_request(std::string(node::kRequestBodyMax + 1, '\xFF'));
  REQUIRE_FALSE(garbage.has_value());
  CHECK(garbage.error().status == 413);
}

TEST_CASE("error values render as the JSON error shape", "[cases][error]") {
  auto e = node::Error::bad_request("missing_field", "subject is required", "subject");
  auto j = e.to_json();
  CHECK(j["error"]["code"] == "missing_field");
  CHECK(j["error"]["message"] == "subject is required");
  CHECK(j["error"]["field"] == "subject");
  auto nf = node::Error::not_found("nothing here").to_json();
  CHECK(nf["error"]["code"] == "not_found");
  CHECK_FALSE(nf["error"].contains("field"));
  CHECK(node::Error::not_found("x").status == 404);
  CHECK(node::Error::conflict("c", "x").status == 409);
  CHECK(node::Error::unavailable("c", "x").status == 503);
  CHECK(node::Error::internal("x").status == 500);
}

// --------------------------------------------------------------------------
// invalid_utf8_offset and utf8_length
// --------------------------------------------------------------------------

TEST_CASE("invalid_utf8_offset accepts valid UTF-8", "[utf8]") {
  CHECK_FALSE(node::invalid_utf8_offset("").has_value());
  CHECK_FALSE(node::invalid_utf8_offset("plain ASCII text").has_value());
  CHECK_FALSE(node::invalid_utf8_offset("مرحبا بكم في تواصل").has_value());
  CHECK_FALSE(node::invalid_utf8_offset("\xF0\x9F\x98\x80 emoji \xF0\x9F\x87\xB8\xF0\x9F\x87\xA6")
                  .has_value());
  CHECK_FALSE(node::invalid_utf8_offset("\xC2\x80").has_value());      // U+0080, smallest 2-byte
  CHECK_FALSE(node::invalid_utf8_offset("\xE0\xA0\x80").has_value());  // U+0800, smallest 3-byte
  CHECK_FALSE(
      node::invalid_utf8_offset("\xED\x9F\xBF").has_value());  // U+D7FF, just below surrogates
  CHECK_FALSE(
      node::invalid_utf8_offset("\xEE\x80\x80").has_value());  // U+E000, just above surrogates
  CHECK_FALSE(node::invalid_utf8_offset("\xEF\xBF\xBF").has_value());  // U+FFFF
  CHECK_FALSE(
      node::invalid_utf8_offset("\xF0\x90\x80\x80").has_value());  // U+10000, smallest 4-byte
  CHECK_FALSE(
      node::invalid_utf8_offset("\xF4\x8F\xBF\xBF").has_value());  // U+10FFFF, the last code point
}

TEST_CASE("invalid_utf8_offset finds the first invalid byte", "[utf8]") {
  using Off = std::optional<std::size_t>;
  // Overlong encodings.
  CHECK(node::invalid_utf8_offset("\xC0\xAF") == Off(0));
  CHECK(node::invalid_utf8_offset("\xC1\xBF") == Off(0));
  CHECK(node::invalid_utf8_offset("ab\xE0\x80\xAF") == Off(2));
  CHECK(node::invalid_utf8_offset("\xE0\x9F\xBF") == Off(0));
  CHECK(node::invalid_utf8_offset("\xF0\x80\x80\xAF") == Off(0));
  CHECK(node::invalid_utf8_offset("\xF0\x8F\xBF\xBF") == Off(0));
  // UTF-16 surrogates.
  CHECK(node::invalid_utf8_offset("\xED\xA0\x80") == Off(0));
  CHECK(node::invalid_utf8_offset("x\xED\xBF\xBF") == Off(1));
  CHECK(node::invalid_utf8_offset("\xED\xA0\xBD\xED\xB8\x80") == Off(0));  // CESU-8 pair
  // Truncated sequences.
  CHECK(node::invalid_utf8_offset("\xD8") == Off(0));
  CHECK(node::invalid_utf8_offset("abc\xE2\x82") == Off(3));
  CHECK(node::invalid_utf8_offset("\xF0\x9F\x98") == Off(0));
  CHECK(node::invalid_utf8_offset("\xD8x") == Off(0));
  CHECK(node::invalid_utf8_offset("\xE2\x82x") == Off(0));
  // Beyond U+10FFFF and bytes that never start a sequence.
  CHECK(node::invalid_utf8_offset("\xF4\x90\x80\x80") == Off(0));
  CHECK(node::invalid_utf8_offset("\xF5\x80\x80\x80") == Off(0));
  CHECK(node::invalid_utf8_offset("\xF7\xBF\xBF\xBF") == Off(0));
  CHECK(node::invalid_utf8_offset("\xF8\x88\x80\x80\x80") == Off(0));
  CHECK(node::invalid_utf8_offset("\xFF") == Off(0));
  CHECK(node::invalid_utf8_offset("\xFE") == Off(0));
  // A continuation byte on its own.
  CHECK(node::invalid_utf8_offset("\x80") == Off(0));
  CHECK(node::invalid_utf8_offset("مرحبا\xBF") == Off(10));
  // Valid text, then an error: the offset is the error's.
  CHECK(node::invalid_utf8_offset("\xF0\x9F\x98\x80\xC0\x80") == Off(4));
}

TEST_CASE("utf8_length counts code points", "[utf8]") {
  CHECK(node::utf8_length("") == 0);
  CHECK(node::utf8_length("abc") == 3);
  CHECK(node::utf8_length("مرحبا") == 5);
  CHECK(std::string("مرحبا").size() == 10);
  CHECK(node::utf8_length("\xF0\x9F\x98\x80") == 1);
  CHECK(node::utf8_length("a\xC2\x80\xE0\xA0\x80\xF0\x90\x80\x80z") == 5);
  CHECK(node::utf8_length("تواصل 2026 ✓") == 12);
}

// --------------------------------------------------------------------------
// fold_case_event and public_case_view
// --------------------------------------------------------------------------

namespace {

struct FiledFixture {
  crypto::SealKey seal_key = crypto::generate_seal_key();
  node::FilingRequest request;
  std::string tracking = node::make_tracking_number("KSU", 2026, 42);
  std::string access_code = node::generate_access_code();
  std::int64_t submitted = 1'772'000'000'000;  // 2026-02-25
  std::int64_t due = submitted + 7 * 86'400'000LL;
  json payload;
  crypto::Event event;

  FiledFixture() {
    auto parsed = parse(valid_request());
    REQUIRE(parsed.has_value());
    request = *parsed;
    auto normalized = node::normalize_access_code(access_code);
    REQUIRE(normalized.has_value());
    payload = node::case_filed_payload(
        request, tracking, tawasul::crypto::to_hex(node::access_code_hash(tracking, *normalized)),
        submitted, due, seal_key);
    event.origin = "KSU";
    event.seq = 7;
    event.time_ms = static_cast<std::uint64_t>(submitted);
    event.kind = node::kCaseFiled;
    event.payload = payload.dump();
  }
};

}  // namespace

TEST_CASE("case_filed_payload seals personal data bound to the case and field", "[cases][fold]") {
  FiledFixture f;
  const std::string dumped = f.payload.dump();
  CHECK(dumped.find("+966501234567") == std::string::npos);
  CHECK(dumped.find("m.alotaibi@example.sa") == std::string::npos);
  CHECK(dumped.find("1012345678") == std::string::npos);
  CHECK(f.payload["subject"] == f.request.subject);
  CHECK(f.payload["tracking_number"] == f.tracking);
  CHECK(f.payload["beneficiary"]["name"] == f.request.beneficiary.name);
  CHECK_FALSE(f.payload["beneficiary"].contains("phone"));
  REQUIRE(f.payload["beneficiary"].contains("phone_sealed"));
  REQUIRE(f.payload["beneficiary"].contains("email_sealed"));
  REQUIRE(f.payload["beneficiary"].contains("national_id_sealed"));

  auto sealed = crypto::from_hex(f.payload["beneficiary"]["phone_sealed"].get<std::string>());
  REQUIRE(sealed.has_value());
  auto opened = crypto::open_sealed(f.seal_key, *sealed, crypto::as_bytes(f.tracking + "/phone"));
  REQUIRE(opened.has_value());
  CHECK(std::string(opened->begin(), opened->end()) == "+966501234567");
  // Bound to its field and its case.
  CHECK_FALSE(crypto::open_sealed(f.seal_key, *sealed, crypto::as_bytes(f.tracking + "/email"))
                  .has_value());
  CHECK_FALSE(
      crypto::open_sealed(f.seal_key, *sealed,
                          crypto::as_bytes(node::make_tracking_number("KSU", 2026, 43) + "/phone"))
          .has_value());

  SECTION("absent personal data is not sealed") {
    f.request.beneficiary.email.reset();
    f.request.beneficiary.national_id.reset();
    auto p = node::case_filed_payload(f.request, f.tracking, crypto::to_hex(crypto::Hash256{}),
                                      f.submitted, f.due, f.seal_key);
    CHECK(p["beneficiary"].contains("phone_sealed"));
    CHECK_FALSE(p["beneficiary"].contains("email_sealed"));
    CHECK_FALSE(p["beneficiary"].contains("national_id_sealed"));
  }
}

TEST_CASE("filing folds into a submitted case with one history entry", "[cases][fold]") {
  FiledFixture f;
  auto state = node::fold_case_event(json(), f.event, f.payload);
  REQUIRE(state.has_value());
  CHECK((*state)["status"] == "submitted");
  CHECK((*state)["owner"] == "KSU");
  CHECK((*state)["tracking_number"] == f.tracking);
  CHECK((*state)["updated_at_ms"] == f.submitted);
  REQUIRE((*state)["history"].size() == 1);
  CHECK((*state)["history"][0]["event"] == "filed");
  CHECK((*state)["history"][0]["status"] == "submitted");
  CHECK((*state)["history"][0]["at_ms"] == f.submitted);
  REQUIRE((*state)["events"].size() == 1);
  CHECK((*state)["events"][0]["origin"] == "KSU");
  CHECK((*state)["events"][0]["seq"] == 7);

  SECTION("filing the same case twice is refused") {
    auto again = node::fold_case_event(*state, f.event, f.payload);
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().status == 409);
    CHECK(again.error().code == "duplicate_case");
  }
}

TEST_CASE("fold_case_event refuses malformed and unknown events", "[cases][fold]") {
  FiledFixture f;
  SECTION("a filing without a subject") {
    json p = f.payload;
    p.erase("subject");
    auto r = node::fold_case_event(json(), f.event, p);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == "malformed_event");
  }
  SECTION("a filing whose submitted time is not an integer") {
    json p = f.payload;
    p["submitted_at_ms"] = "yesterday";
    auto r = node::fold_case_event(json(), f.event, p);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == "malformed_event");
  }
  SECTION("a filing whose beneficiary has no name") {
    // A replicated filing is still checked: the view shows beneficiary.name.
    json p = f.payload;
    p["beneficiary"].erase("name");
    auto r = node::fold_case_event(json(), f.event, p);
    REQUIRE_FALSE(r.has_value());  // else public_case_view(*r) reads a missing key
    CHECK(r.error().code == "malformed_event");
  }
  SECTION("a filing whose type is not a case type") {
    json p = f.payload;
    p["type"] = "rant";
    auto r = node::fold_case_event(json(), f.event, p);
    CHECK_FALSE(r.has_value());
  }
  SECTION("a filing without a beneficiary") {
    json p = f.payload;
    p.erase("beneficiary");
    auto r = node::fold_case_event(json(), f.event, p);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == "malformed_event");
  }
  SECTION("an unknown kind") {
    crypto::Event e = f.event;
    e.kind = "case.vanished";
    auto r = node::fold_case_event(json(), e, f.payload);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == "unknown_event");
  }
}

TEST_CASE("public_case_view shows no sealed data, no access hash and no contact details",
          "[cases][fold]") {
  FiledFixture f;
  auto state = node::fold_case_event(json(), f.event, f.payload);
  REQUIRE(state.has_value());
  REQUIRE(state->contains("access_hash"));  // the state holds it; the view must not

  json view = node::public_case_view(*state);
  std::vector<std::string> keys;
  collect_keys(view, keys);
  for (const auto& key : keys) {
    INFO("key: " << key);
    CHECK(key != "access_hash");
    CHECK_FALSE((key.size() >= 7 && key.compare(key.size() - 7, 7, "_sealed") == 0));
    CHECK(key != "phone");
    CHECK(key != "email");
    CHECK(key != "national_id");
  }
  const std::string dumped = view.dump();
  CHECK(dumped.find("+966501234567") == std::string::npos);
  CHECK(dumped.find("m.alotaibi@example.sa") == std::string::npos);
  CHECK(dumped.find("1012345678") == std::string::npos);
  CHECK(dumped.find((*state)["access_hash"].get<std::string>()) == std::string::npos);

  CHECK(view["tracking_number"] == f.tracking);
  CHECK(view["owner"] == "KSU");
  CHECK(view["status"] == "submitted");
  CHECK(view["subject"] == f.request.subject);
  CHECK(view["beneficiary"] == json{{"name", f.request.beneficiary.name}});
  CHECK(view["type_label"]["ar"] == "شكوى");
  CHECK(view["type_label"]["en"] == "Complaint");
  CHECK(view["submitted_at"] == "2026-02-25T06:13:20Z");
  REQUIRE(view["history"].size() == 1);
  CHECK(view["history"][0]["event"] == "filed");
  CHECK(view["history"][0]["status"] == "submitted");
}
