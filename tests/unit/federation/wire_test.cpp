// Unit tests for the wire messages of federation protocol version 1
// (federation/wire.hpp): headers, control bodies and Z85 keys.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>

#include "crypto/crypto.hpp"
#include "federation/wire.hpp"

namespace {

namespace crypto = tawasul::crypto;
namespace federation = tawasul::federation;
using federation::MessageType;

std::string frame(std::uint8_t version, std::uint8_t type) {
  return std::string{static_cast<char>(version), static_cast<char>(type)};
}

// A JSON object padded with spaces to exactly `size` bytes.
std::string padded(const std::string& json, std::size_t size) {
  REQUIRE(json.size() <= size);
  return json + std::string(size - json.size(), ' ');
}

}  // namespace

TEST_CASE("wire: every message type's header encodes to two bytes and parses back", "[wire]") {
  auto type = GENERATE(MessageType::kHello, MessageType::kWelcome, MessageType::kEvents,
                       MessageType::kAck, MessageType::kNack, MessageType::kCalendar);
  auto header = federation::encode_header(type);
  REQUIRE(header.size() == 2);
  CHECK(static_cast<std::uint8_t>(header[0]) == federation::kProtocolVersion);
  CHECK(static_cast<std::uint8_t>(header[1]) == static_cast<std::uint8_t>(type));
  auto parsed = federation::parse_header(header);
  REQUIRE(parsed);
  CHECK(*parsed == type);
}

TEST_CASE("wire: the header values are those of PROTOCOL.md", "[wire]") {
  CHECK(federation::kProtocolVersion == 1);
  CHECK(federation::encode_header(MessageType::kHello) == frame(1, 1));
  CHECK(federation::encode_header(MessageType::kWelcome) == frame(1, 2));
  CHECK(federation::encode_header(MessageType::kEvents) == frame(1, 3));
  CHECK(federation::encode_header(MessageType::kAck) == frame(1, 4));
  CHECK(federation::encode_header(MessageType::kNack) == frame(1, 5));
  CHECK(federation::encode_header(MessageType::kCalendar) == frame(1, 6));
}

TEST_CASE("wire: headers of the wrong size, version or type are refused", "[wire]") {
  SECTION("wrong size") {
    CHECK_FALSE(federation::parse_header(""));
    CHECK_FALSE(federation::parse_header(std::string(1, '\x01')));
    CHECK_FALSE(federation::parse_header(frame(1, 1) + '\x00'));
    CHECK_FALSE(federation::parse_header(frame(1, 3) + frame(1, 3)));
  }
  SECTION("version 2 (and 0, 255)") {
    for (std::uint8_t version : {std::uint8_t{0}, std::uint8_t{2}, std::uint8_t{255}}) {
      auto parsed = federation::parse_header(frame(version, 1));
      REQUIRE_FALSE(parsed);
      CHECK_FALSE(parsed.error().empty());
    }
  }
  SECTION("type 0 and 7 (and 255)") {
    for (std::uint8_t type : {std::uint8_t{0}, std::uint8_t{7}, std::uint8_t{255}}) {
      auto parsed = federation::parse_header(frame(1, type));
      REQUIRE_FALSE(parsed);
      CHECK_FALSE(parsed.error().empty());
    }
  }
}

TEST_CASE("wire: HELLO encodes and parses back", "[wire]") {
  federation::Hello hello{"KSU", 41, 57};
  auto parsed = federation::parse_hello(federation::encode(hello));
  REQUIRE(parsed);
  CHECK(parsed->code == "KSU");
  CHECK(parsed->acked == 41);
  CHECK(parsed->head == 57);

  federation::Hello big{"ABCDEFGHIJKLMNOP", 0, std::numeric_limits<std::uint64_t>::max()};
  auto parsed_big = federation::parse_hello(federation::encode(big));
  REQUIRE(parsed_big);
  CHECK(parsed_big->code == big.code);
  CHECK(parsed_big->acked == 0);
  CHECK(parsed_big->head == std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("wire: WELCOME/ACK cursor encodes and parses back", "[wire]") {
  for (std::uint64_t c :
       {std::uint64_t{0}, std::uint64_t{57}, std::numeric_limits<std::uint64_t>::max()}) {
    auto parsed = federation::parse_cursor(federation::encode(federation::Cursor{c}));
    REQUIRE(parsed);
    CHECK(parsed->cursor == c);
  }
}

TEST_CASE("wire: NACK encodes and parses back", "[wire]") {
  federation::Nack nack{41, "gap", "expected event 42, got 44 — \"quoted\" \\ and مرحبا"};
  auto parsed = federation::parse_nack(federation::encode(nack));
  REQUIRE(parsed);
  CHECK(parsed->cursor == 41);
  CHECK(parsed->reason == "gap");
  CHECK(parsed->message == nack.message);

  for (const char* reason :
       {"gap", "fork", "bad_signature", "malformed", "wrong_origin", "unavailable"}) {
    auto p = federation::parse_nack(federation::encode(federation::Nack{7, reason, ""}));
    REQUIRE(p);
    CHECK(p->reason == reason);
    CHECK(p->cursor == 7);
    CHECK(p->message.empty());
  }
}

TEST_CASE("wire: control bodies ignore unknown fields", "[wire]") {
  auto hello = federation::parse_hello(R"({"code":"KSU","acked":1,"head":2,"future":{"x":[1,2]}})");
  REQUIRE(hello);
  CHECK(hello->code == "KSU");
  auto cursor = federation::parse_cursor(R"({"cursor":9,"note":"later versions add fields"})");
  REQUIRE(cursor);
  CHECK(cursor->cursor == 9);
}

TEST_CASE("wire: bodies that are not JSON objects are refused", "[wire]") {
  for (const char* body :
       {"", "not json", "{", R"({"cursor":1)", "\xff\xfe", R"({"cursor":1} trailing)"}) {
    INFO("body: " << body);
    CHECK_FALSE(federation::parse_cursor(body));
    CHECK_FALSE(federation::parse_hello(body));
    CHECK_FALSE(federation::parse_nack(body));
  }
  for (const char* body : {"[]", R"([{"cursor":1}])", "1", "\"cursor\"", "null", "true"}) {
    INFO("body: " << body);
    CHECK_FALSE(federation::parse_cursor(body));
    CHECK_FALSE(federation::parse_hello(body));
    CHECK_FALSE(federation::parse_nack(body));
  }
}

TEST_CASE("wire: bodies with missing fields are refused", "[wire]") {
  CHECK_FALSE(federation::parse_cursor("{}"));
  CHECK_FALSE(federation::parse_cursor(R"({"cursur":1})"));
  CHECK_FALSE(federation::parse_hello(R"({"acked":1,"head":2})"));
  CHECK_FALSE(federation::parse_hello(R"({"code":"KSU","head":2})"));
  CHECK_FALSE(federation::parse_hello(R"({"code":"KSU","acked":1})"));
  CHECK_FALSE(federation::parse_nack(R"({"reason":"gap","message":""})"));
  CHECK_FALSE(federation::parse_nack(R"({"cursor":1,"message":""})"));
  CHECK_FALSE(federation::parse_nack(R"({"cursor":1,"reason":"gap"})"));
}

TEST_CASE("wire: bodies with fields of the wrong type are refused", "[wire]") {
  SECTION("negative numbers") {
    CHECK_FALSE(federation::parse_cursor(R"({"cursor":-1})"));
    CHECK_FALSE(federation::parse_hello(R"({"code":"KSU","acked":-1,"head":2})"));
    CHECK_FALSE(federation::parse_hello(R"({"code":"KSU","acked":1,"head":-2})"));
    CHECK_FALSE(federation::parse_nack(R"({"cursor":-5,"reason":"gap","message":""})"));
  }
  SECTION("a string cursor") {
    CHECK_FALSE(federation::parse_cursor(R"({"cursor":"5"})"));
    CHECK_FALSE(federation::parse_nack(R"({"cursor":"5","reason":"gap","message":""})"));
    CHECK_FALSE(federation::parse_hello(R"({"code":"KSU","acked":"1","head":2})"));
  }
  SECTION("fractions, booleans, null, objects") {
    CHECK_FALSE(federation::parse_cursor(R"({"cursor":1.5})"));
    CHECK_FALSE(federation::parse_cursor(R"({"cursor":true})"));
    CHECK_FALSE(federation::parse_cursor(R"({"cursor":null})"));
    CHECK_FALSE(federation::parse_cursor(R"({"cursor":{"n":1}})"));
    CHECK_FALSE(federation::parse_cursor(R"({"cursor":[1]})"));
  }
  SECTION("numbers beyond 64 bits") {
    CHECK_FALSE(federation::parse_cursor(R"({"cursor":18446744073709551616})"));
  }
  SECTION("non-string code, reason or message") {
    CHECK_FALSE(federation::parse_hello(R"({"code":7,"acked":1,"head":2})"));
    CHECK_FALSE(federation::parse_hello(R"({"code":null,"acked":1,"head":2})"));
    CHECK_FALSE(federation::parse_nack(R"({"cursor":1,"reason":4,"message":""})"));
    CHECK_FALSE(federation::parse_nack(R"({"cursor":1,"reason":"gap","message":["x"]})"));
  }
  SECTION("a code longer than any node code") {
    CHECK_FALSE(federation::parse_hello(R"({"code":"ABCDEFGHIJKLMNOPQ","acked":1,"head":2})"));
  }
}

TEST_CASE("wire: control bodies over kControlBodyMax are refused", "[wire]") {
  REQUIRE(federation::kControlBodyMax == 4096);
  const std::string cursor = R"({"cursor":5})";
  const std::string hello = federation::encode(federation::Hello{"KSU", 1, 2});
  const std::string nack = federation::encode(federation::Nack{1, "gap", "m"});

  SECTION("exactly the limit is accepted") {
    CHECK(federation::parse_cursor(padded(cursor, federation::kControlBodyMax)));
    CHECK(federation::parse_hello(padded(hello, federation::kControlBodyMax)));
    CHECK(federation::parse_nack(padded(nack, federation::kControlBodyMax)));
  }
  SECTION("one byte over is refused") {
    CHECK_FALSE(federation::parse_cursor(padded(cursor, federation::kControlBodyMax + 1)));
    CHECK_FALSE(federation::parse_hello(padded(hello, federation::kControlBodyMax + 1)));
    CHECK_FALSE(federation::parse_nack(padded(nack, federation::kControlBodyMax + 1)));
  }
  SECTION("a long message field makes a large body") {
    std::string huge = R"({"cursor":1,"reason":"gap","message":")" + std::string(5000, 'x') + "\"}";
    CHECK_FALSE(federation::parse_nack(huge));
  }
}

TEST_CASE("wire: z85 round-trips a CURVE key", "[wire][z85]") {
  REQUIRE(crypto::initialize());
  for (int i = 0; i < 16; ++i) {
    crypto::CurvePublicKey key{};
    crypto::random_bytes(key);
    auto text = federation::z85_encode(key);
    REQUIRE(text.size() == 40);
    auto back = federation::z85_decode(text);
    REQUIRE(back);
    CHECK(*back == key);
  }
  auto generated = crypto::CurveKeyPair::generate();
  auto back = federation::z85_decode(federation::z85_encode(generated.public_key));
  REQUIRE(back);
  CHECK(*back == generated.public_key);
}

TEST_CASE("wire: z85 matches the test vector of ZeroMQ RFC 32", "[wire][z85]") {
  // RFC 32: bytes 86 4F D2 6F B5 59 F7 5B encode to "HelloWorld"; zero bytes to "00000".
  crypto::CurvePublicKey key{};
  const std::uint8_t vector[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
  std::copy(std::begin(vector), std::end(vector), key.begin());
  const std::string text = "HelloWorld" + std::string(30, '0');
  CHECK(federation::z85_encode(key) == text);
  auto back = federation::z85_decode(text);
  REQUIRE(back);
  CHECK(*back == key);
}

TEST_CASE("wire: z85 refuses texts of the wrong length or with invalid characters", "[wire][z85]") {
  REQUIRE(crypto::initialize());
  crypto::CurvePublicKey key{};
  crypto::random_bytes(key);
  const std::string good = federation::z85_encode(key);
  REQUIRE(federation::z85_decode(good));

  SECTION("39 and 41 characters, and other lengths") {
    CHECK_FALSE(federation::z85_decode(good.substr(0, 39)));
    CHECK_FALSE(federation::z85_decode(good + "0"));
    CHECK_FALSE(federation::z85_decode(""));
    CHECK_FALSE(federation::z85_decode(good.substr(0, 35)));
    CHECK_FALSE(federation::z85_decode(good + "00000"));
  }
  SECTION("characters outside the Z85 alphabet") {
    for (char bad : {' ', '"', '\'', ',', ';', '\\', '_', '`', '|', '~', '\x7f', '\n'}) {
      for (std::size_t pos : {std::size_t{0}, std::size_t{17}, std::size_t{39}}) {
        std::string text = good;
        text[pos] = bad;
        INFO("char " << static_cast<int>(bad) << " at " << pos);
        CHECK_FALSE(federation::z85_decode(text));
      }
    }
    std::string non_ascii = good;
    non_ascii[10] = '\xC3';
    CHECK_FALSE(federation::z85_decode(non_ascii));
  }
  SECTION("a group whose value exceeds 32 bits") {
    // "#####" is 85^5 - 1 > 2^32 - 1.
    CHECK_FALSE(federation::z85_decode("#####" + good.substr(5)));
  }
}

// Regression: zmq_z85_decode reads a C string, so a NUL at offset 5, 10, ..., 35
// once ended the text early and a key that was mostly zeros decoded "fine".
TEST_CASE("wire: z85 refuses a 40-character text with an embedded NUL", "[wire][z85]") {
  REQUIRE(crypto::initialize());
  crypto::CurvePublicKey key{};
  crypto::random_bytes(key);
  const std::string good = federation::z85_encode(key);
  for (std::size_t pos : {std::size_t{0}, std::size_t{3}, std::size_t{10}, std::size_t{35}}) {
    std::string text = good;
    text[pos] = '\0';
    REQUIRE(text.size() == 40);
    INFO("NUL at " << pos);
    CHECK_FALSE(federation::z85_decode(text));
  }
}

TEST_CASE("wire: HELLO carries the national calendar version, optionally", "[wire][calendar]") {
  auto parsed = federation::parse_hello(federation::encode(federation::Hello{"KSU", 1, 2, 7}));
  REQUIRE(parsed);
  CHECK(parsed->calendar_version == 7);
  // A node that predates CALENDAR sends no calendar_version: read as 0.
  auto old = federation::parse_hello(R"({"code":"KSU","acked":1,"head":2})");
  REQUIRE(old);
  CHECK(old->calendar_version == 0);
  CHECK_FALSE(
      federation::parse_hello(R"({"code":"KSU","acked":1,"head":2,"calendar_version":-1})"));
  CHECK_FALSE(
      federation::parse_hello(R"({"code":"KSU","acked":1,"head":2,"calendar_version":"3"})"));
}

TEST_CASE("wire: a signed national calendar verifies only as signed", "[wire][calendar]") {
  REQUIRE(crypto::initialize());
  const auto hub = crypto::SigningKeyPair::generate();
  const auto other = crypto::SigningKeyPair::generate();
  const std::string text = "close 2027-01-11 \"إغلاق\" \"Closure\"\n";
  auto signed_calendar = federation::sign_calendar(hub.secret_key, 3, text);
  CHECK(signed_calendar.version == 3);
  CHECK(signed_calendar.text == text);
  CHECK(federation::verify_calendar(signed_calendar, hub.public_key));
  CHECK_FALSE(federation::verify_calendar(signed_calendar, other.public_key));

  // The version and the text are both covered.
  auto bumped = signed_calendar;
  bumped.version = 4;
  CHECK_FALSE(federation::verify_calendar(bumped, hub.public_key));
  auto edited = signed_calendar;
  edited.text += "close 2027-01-12 \"إغلاق\" \"Closure\"\n";
  CHECK_FALSE(federation::verify_calendar(edited, hub.public_key));
  auto flipped = signed_calendar;
  flipped.signature[10] ^= 1;
  CHECK_FALSE(federation::verify_calendar(flipped, hub.public_key));

  // Domain separated: the message starts with the domain, then the version.
  auto message = federation::calendar_signing_message(3, text);
  CHECK(message.starts_with(federation::kCalendarSignDomain));
  CHECK(message.size() == federation::kCalendarSignDomain.size() + 8 + text.size());
  CHECK(message.substr(federation::kCalendarSignDomain.size(), 8) ==
        std::string("\0\0\0\0\0\0\0\3", 8));
}

TEST_CASE("wire: CALENDAR frames parse back and malformed ones are refused", "[wire][calendar]") {
  REQUIRE(crypto::initialize());
  const auto hub = crypto::SigningKeyPair::generate();
  auto c = federation::sign_calendar(hub.secret_key, 2, "weekend fri sat\n");
  const std::string body = federation::encode_calendar_body(c);
  const std::string signature(reinterpret_cast<const char*>(c.signature.data()), 64);
  auto parsed = federation::parse_calendar(body, c.text, signature);
  REQUIRE(parsed);
  CHECK(parsed->version == 2);
  CHECK(parsed->text == c.text);
  CHECK(parsed->signature == c.signature);
  CHECK(federation::verify_calendar(*parsed, hub.public_key));

  SECTION("version 0 or missing or not a number") {
    CHECK_FALSE(federation::parse_calendar(R"({"version":0})", c.text, signature));
    CHECK_FALSE(federation::parse_calendar(R"({})", c.text, signature));
    CHECK_FALSE(federation::parse_calendar(R"({"version":"2"})", c.text, signature));
    CHECK_FALSE(federation::parse_calendar("[2]", c.text, signature));
  }
  SECTION("empty or oversize text") {
    CHECK_FALSE(federation::parse_calendar(body, "", signature));
    CHECK(federation::parse_calendar(body, std::string(federation::kCalendarTextMax, '#'),
                                     signature));
    CHECK_FALSE(federation::parse_calendar(body, std::string(federation::kCalendarTextMax + 1, '#'),
                                           signature));
  }
  SECTION("a signature of the wrong size") {
    CHECK_FALSE(federation::parse_calendar(body, c.text, signature.substr(0, 63)));
    CHECK_FALSE(federation::parse_calendar(body, c.text, signature + "x"));
    CHECK_FALSE(federation::parse_calendar(body, c.text, ""));
  }
}
