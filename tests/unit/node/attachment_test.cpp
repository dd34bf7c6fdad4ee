// Case attachments (node/attachments.hpp): the magic-byte table and file-name
// rules, the store (content-addressed blobs, the signed event, its fold at a
// node and at the hub) and the HTTP upload and download over a real HttpApi,
// with the body limits cpp-httplib needs help with.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <httplib.h>
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "http_site.hpp"
#include "node/attachments.hpp"
#include "node/tracking.hpp"

namespace {

namespace node = tawasul::node;
namespace storage = tawasul::storage;
using namespace tawasul::node::testing;
using nlohmann::json;
using node::CaseAction;
using tawasul::test::TempDir;

constexpr std::int64_t kStart = kSiteStart;

// Counts the files in a store's `blobs` database.
std::size_t blob_count(node::NodeStore& store) {
  auto dbi = store.env().dbi("blobs");
  REQUIRE(dbi);
  auto txn = store.env().begin_read();
  REQUIRE(txn);
  std::size_t n = 0;
  REQUIRE(txn->scan(*dbi, "", [&](std::string_view, std::string_view) {
    ++n;
    return true;
  }));
  return n;
}

struct NodeSite {
  TempDir dir{"attach"};
  node::Identity id;
  std::unique_ptr<node::NodeStore> store;
  explicit NodeSite(node::Role role = node::Role::kNode, const std::string& code = "KSU") {
    init_crypto();
    id = make_identity(dir.path(), role, code);
    store = open_store(dir.path(), id);
  }
  node::Result<json> attach(const std::string& tracking, const std::string& name,
                            const std::string& bytes, const std::string& by = "beneficiary") {
    return in_write<json>(*store, [&](storage::WriteTxn& txn) {
      return store->add_attachment(txn, tracking, by, name, bytes, kStart);
    });
  }
  void act(const std::string& tracking, CaseAction action, const json& fields) {
    auto r = in_write<json>(*store, [&](storage::WriteTxn& txn) {
      return store->act_on_case(txn, tracking, action, "system", fields, kStart);
    });
    REQUIRE(r);
  }
  std::uint64_t head() { return store->head(id.code).value(); }
};

}  // namespace

// --------------------------------------------------------------------------
// The rules

TEST_CASE("the media type comes from the magic bytes, never from a name or a claim",
          "[attachments]") {
  struct Row {
    std::string bytes;
    std::optional<std::string> type;
  };
  const std::vector<Row> table = {
      {pdf_file(), "application/pdf"},
      {std::string("%PDF-"), "application/pdf"},
      {jpeg_file(), "image/jpeg"},
      {std::string("\xFF\xD8\xFF", 3), "image/jpeg"},
      {png_file(), "image/png"},
      {std::string("\x89PNG\r\n\x1A\n", 8), "image/png"},
      {std::string("%PDF"), std::nullopt},                // magic cut short
      {std::string("\x89PNG\r\n\x1A", 7), std::nullopt},  // magic cut short
      {std::string("\xFF\xD8", 2), std::nullopt},         // magic cut short
      {std::string("%pdf-1.7"), std::nullopt},            // magic is case-sensitive
      {std::string(" %PDF-1.7"), std::nullopt},           // not at the start
      {std::string("hello, this is plain text"), std::nullopt},
      {std::string("<html><script>alert(1)</script>"), std::nullopt},
      {std::string("GIF89a\x01\x00", 8), std::nullopt},  // an image type we do not take
      {std::string("PK\x03\x04", 4), std::nullopt},      // a zip (or .docx)
      {std::string(), std::nullopt},
  };
  for (const auto& row : table) {
    INFO("bytes: " << row.bytes.substr(0, 12));
    auto got = node::sniff_media_type(row.bytes);
    if (row.type) {
      REQUIRE(got);
      CHECK(std::string(*got) == *row.type);
    } else {
      CHECK_FALSE(got);
    }
  }
  CHECK(node::media_type_of("Image/PNG; charset=binary") == "image/png");
  CHECK(node::media_type_of(" application/pdf ") == "application/pdf");
  CHECK(node::is_attachment_media_type("image/jpeg"));
  CHECK_FALSE(node::is_attachment_media_type("image/gif"));
}

TEST_CASE("file names are plain names: no paths, no control or bidi characters, 1 to 120",
          "[attachments]") {
  CHECK(node::check_attachment_name("report.pdf").value() == "report.pdf");
  CHECK(node::check_attachment_name("  صورة الهوية.jpg  ").value() == "صورة الهوية.jpg");
  CHECK(node::check_attachment_name(std::string(120, 'x')).has_value());
  std::string arabic;
  for (int i = 0; i < 120; ++i) arabic += "ب";  // 120 characters, 240 bytes
  CHECK(node::check_attachment_name(arabic).has_value());
  struct Bad {
    std::string name;
    std::string code;
  };
  const std::vector<Bad> refused = {
      {"", "missing_field"},
      {"   ", "missing_field"},
      {std::string(121, 'x'), "invalid_length"},
      {arabic + "ب", "invalid_length"},
      {"../../etc/passwd", "invalid_name"},
      {"dir/report.pdf", "invalid_name"},
      {"C:\\Users\\report.pdf", "invalid_name"},
      {"report\n.pdf", "invalid_name"},
      {std::string("report\0.pdf", 11), "invalid_name"},
      {"report\x7F.pdf", "invalid_name"},
      {"report\xC2\x85.pdf", "invalid_name"},        // C1 control (NEL)
      {"photo\xE2\x80\xAEgpj.exe", "invalid_name"},  // right-to-left override
      {"photo\xE2\x81\xA6x.pdf", "invalid_name"},    // left-to-right isolate
      {"..", "invalid_name"},
      {"bad\xC0\xAF.pdf", "invalid_utf8"},
  };
  for (const auto& bad : refused) {
    INFO("name: " << bad.name);
    auto r = node::check_attachment_name(bad.name);
    REQUIRE_FALSE(r);
    CHECK(r.error().status == 400);
    CHECK(r.error().code == bad.code);
    CHECK(r.error().field == "name");
  }
}

TEST_CASE("downloads are saved under a name that ends in their type's extension", "[attachments]") {
  CHECK(node::download_filename("report.pdf", "application/pdf") == "report.pdf");
  CHECK(node::download_filename("REPORT.PDF", "application/pdf") == "REPORT.PDF");
  CHECK(node::download_filename("photo.jpeg", "image/jpeg") == "photo.jpeg");
  CHECK(node::download_filename("photo.JPG", "image/jpeg") == "photo.JPG");
  CHECK(node::download_filename("scan.pdf", "image/png") == "scan.pdf.png");
  CHECK(node::download_filename("notes.html", "image/png") == "notes.html.png");
  CHECK(node::download_filename("pdf", "application/pdf") == "pdf.pdf");
  CHECK(node::attachment_disposition("report.pdf") ==
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
  CHECK(node::attachment_disposition("a \"b\" 100%.pdf") ==
        "attachment; filename=\"a _b_ 100_.pdf\"; filename*=UTF-8''a%20%22b%22%20100%25.pdf");
  CHECK(node::attachment_disposition("هوية.png") ==
        "attachment; filename=\"____.png\"; filename*=UTF-8''%D9%87%D9%88%D9%8A%D8%A9.png");
}

// --------------------------------------------------------------------------
// The store

TEST_CASE("an attachment is stored once by its hash, in one transaction with its event",
          "[attachments][store]") {
  NodeSite ksu;
  const json a = file_ok(*ksu.store, sample_request("first"), kStart);
  const json b = file_ok(*ksu.store, sample_request("second"), kStart);
  const std::string ta = a["tracking_number"], tb = b["tracking_number"];
  const std::string pdf = pdf_file(300'000);
  const std::string hash = tawasul::crypto::to_hex(
      tawasul::crypto::blake2b_256(tawasul::crypto::as_bytes(std::string_view(pdf))));

  auto added = ksu.attach(ta, "  تقرير طبي.pdf ", pdf);
  REQUIRE(added);
  CHECK((*added)["id"] == hash);
  CHECK((*added)["name"] == "تقرير طبي.pdf");
  CHECK((*added)["media_type"] == "application/pdf");
  CHECK((*added)["size"] == pdf.size());
  CHECK((*added)["added_at"] == "2026-03-15T10:00:00Z");
  CHECK((*added)["from"] == "beneficiary");
  CHECK(blob_count(*ksu.store) == 1);

  // The event carries the metadata, not the bytes.
  auto events = ksu.store->read_events("KSU", ksu.head(), 1, 1 << 30).value();
  REQUIRE(events.size() == 1);
  CHECK(events[0].size() < 2048);
  auto event = tawasul::crypto::decode_envelope(events[0]);
  REQUIRE(event);
  CHECK(event->kind == "case.attachment_added");
  const json payload = json::parse(event->payload);
  CHECK(payload["tracking_number"] == ta);
  CHECK(payload["by"] == "beneficiary");
  CHECK(payload["attachment"] == json{{"id", hash},
                                      {"hash", hash},
                                      {"name", "تقرير طبي.pdf"},
                                      {"media_type", "application/pdf"},
                                      {"size", pdf.size()}});

  // The same file on another case: a second event, still one blob.
  REQUIRE(ksu.attach(tb, "copy.pdf", pdf, "emp"));
  CHECK(blob_count(*ksu.store) == 1);
  auto file = ksu.store->read_attachment(tb, hash);
  REQUIRE(file);
  CHECK(file->bytes == pdf);
  CHECK(file->meta["name"] == "copy.pdf");
  CHECK(file->meta["from"] == "staff");
  // Upper-case hex finds it too; a hash the case does not list does not.
  std::string upper = hash;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(ksu.store->read_attachment(ta, upper).has_value());
  const std::string other = pdf_file(100, 'b');
  REQUIRE(ksu.attach(tb, "other.pdf", other));
  const std::string other_id = tawasul::crypto::to_hex(
      tawasul::crypto::blake2b_256(tawasul::crypto::as_bytes(std::string_view(other))));
  CHECK(ksu.store->read_attachment(ta, other_id).error().status == 404);  // not on this case
  CHECK(ksu.store->read_attachment(ta, "nothex").error().status == 404);

  // The case views list it: the staff view with who, the public one without.
  auto staff = ksu.store->staff_case_view(tb).value();
  REQUIRE(staff["attachments"].size() == 2);
  CHECK(staff["attachments"][0]["by"] == "emp");
  CHECK(staff["attachments"][0]["added_at"] == "2026-03-15T10:00:00Z");
  CHECK(staff["history"].back()["event"] == "attachment_added");
  auto public_view = ksu.store->lookup_case(tb, b["access_code"].get<std::string>()).value();
  REQUIRE(public_view["attachments"].size() == 2);
  CHECK(public_view["attachments"][0] == json{{"id", hash},
                                              {"name", "copy.pdf"},
                                              {"media_type", "application/pdf"},
                                              {"size", pdf.size()},
                                              {"added_at", "2026-03-15T10:00:00Z"},
                                              {"from", "staff"}});
  const json entry = public_view["history"][1];
  CHECK(entry["event"] == "attachment_added");
  CHECK(entry["from"] == "staff");
  CHECK(entry["attachment"]["name"] == "copy.pdf");
  CHECK(entry["event_label"]["en"] == "An attachment was added");
  CHECK(public_view.dump().find("\"emp\"") == std::string::npos);
  CHECK(ksu.store->verify().has_value());
}

TEST_CASE("refused attachments write nothing: duplicates, the eleventh, closed cases, bad files",
          "[attachments][store]") {
  NodeSite ksu;
  const json c = file_ok(*ksu.store, sample_request(), kStart);
  const std::string tn = c["tracking_number"];
  REQUIRE(ksu.attach(tn, "one.png", png_file(500, 'a')));
  const auto head = ksu.head();
  const auto blobs = blob_count(*ksu.store);
  auto refused = [&](const node::Result<json>& r, int status, const std::string& code) {
    REQUIRE_FALSE(r);
    CHECK(r.error().status == status);
    CHECK(r.error().code == code);
    CHECK(ksu.head() == head);
    CHECK(blob_count(*ksu.store) == blobs);
  };

  SECTION("the same file twice on one case") {
    refused(ksu.attach(tn, "again.png", png_file(500, 'a')), 409, "duplicate_attachment");
  }
  SECTION("empty, unknown content and a bad name") {
    refused(ksu.attach(tn, "empty.pdf", ""), 400, "empty_file");
    refused(ksu.attach(tn, "notes.pdf", "just some text, named .pdf"), 415,
            "unsupported_media_type");
    refused(ksu.attach(tn, "../x.pdf", pdf_file()), 400, "invalid_name");
    refused(ksu.attach(tn, "big.pdf", pdf_file(node::kAttachmentMax + 1)), 413, "body_too_large");
  }
  SECTION("a case that does not exist") {
    refused(ksu.attach(node::make_tracking_number("KSU", 2026, 99), "x.pdf", pdf_file()), 404,
            "not_found");
  }
  SECTION("the eleventh") {
    for (std::size_t i = 1; i < node::kAttachmentsPerCaseMax; ++i) {
      REQUIRE(ksu.attach(tn, "p" + std::to_string(i) + ".png",
                         png_file(500, static_cast<char>('b' + i))));
    }
    CHECK(ksu.store->staff_case_view(tn).value()["attachments"].size() == 10);
    const auto head10 = ksu.head();
    auto eleventh = ksu.attach(tn, "p11.png", png_file(500, 'z'));
    REQUIRE_FALSE(eleventh);
    CHECK(eleventh.error().status == 409);
    CHECK(eleventh.error().code == "too_many_attachments");
    CHECK(ksu.head() == head10);
  }
  SECTION("a closed case, in no other state") {
    ksu.act(tn, CaseAction::kAssign, {{"unit", "KSU.SA"}});
    REQUIRE(ksu.attach(tn, "assigned.pdf", pdf_file(100, 'c')));
    ksu.act(tn, CaseAction::kStart, {{"assignee", "emp"}});
    ksu.act(tn, CaseAction::kRequestInfo, {{"question", "?"}});
    REQUIRE(ksu.attach(tn, "waiting.pdf", pdf_file(100, 'd')));
    ksu.act(tn, CaseAction::kProvideInfo, {{"reply", "!"}});
    ksu.act(tn, CaseAction::kAnswer, {{"answer", "done"}});
    REQUIRE(ksu.attach(tn, "answered.pdf", pdf_file(100, 'e')));
    ksu.act(tn, CaseAction::kClose, {{"reason", "accepted"}});
    const auto closed_head = ksu.head();
    auto r = ksu.attach(tn, "late.pdf", pdf_file(100, 'f'));
    REQUIRE_FALSE(r);
    CHECK(r.error().status == 409);
    CHECK(r.error().message.find("closed") != std::string::npos);
    CHECK(ksu.head() == closed_head);
  }
}

TEST_CASE("the hub folds the node's attachment events into metadata, without the bytes",
          "[attachments][store][hub]") {
  NodeSite ksu;
  NodeSite hub(node::Role::kHub, "MOE");
  REQUIRE(hub.store->enroll(tawasul::federation::EnrolledNode{ksu.id.code, ksu.id.curve.public_key,
                                                              ksu.id.sign.public_key},
                            false, kStart));
  const json c = file_ok(*ksu.store, sample_request(), kStart);
  const std::string tn = c["tracking_number"];
  const std::string jpeg = jpeg_file(4000);
  auto added = ksu.attach(tn, "photo.jpg", jpeg);
  REQUIRE(added);
  auto events = ksu.store->read_events("KSU", 1, 100, 1 << 30).value();
  REQUIRE(events.size() == 2);
  auto stored = in_write<std::uint64_t>(*hub.store, [&](storage::WriteTxn& txn) {
    return hub.store->store_remote(txn, "KSU", std::span<const std::string>(events));
  });
  REQUIRE(stored);
  auto view = hub.store->lookup_case(tn, c["access_code"].get<std::string>());
  REQUIRE(view);
  REQUIRE((*view)["attachments"].size() == 1);
  CHECK((*view)["attachments"][0] == *added);
  CHECK(*view == ksu.store->lookup_case(tn, c["access_code"].get<std::string>()).value());
  CHECK(blob_count(*hub.store) == 0);
  auto file = hub.store->read_attachment(tn, (*added)["id"].get<std::string>());
  REQUIRE_FALSE(file);
  CHECK(file.error().code == "not_held_here");
  CHECK(file.error().message.find("KSU") != std::string::npos);
  CHECK(hub.store->verify().has_value());
  // A hub never attaches to a node's case.
  auto at_hub = hub.attach(tn, "x.pdf", pdf_file());
  REQUIRE_FALSE(at_hub);
  CHECK(at_hub.error().code == "not_owner");
}

TEST_CASE("the fold refuses malformed attachment events, so replicas obey the same rules",
          "[attachments][store]") {
  NodeSite ksu;
  const json c = file_ok(*ksu.store, sample_request(), kStart);
  const std::string tn = c["tracking_number"];
  const std::string id(64, 'a');
  const json good{{"tracking_number", tn},
                  {"by", "beneficiary"},
                  {"attachment",
                   {{"id", id},
                    {"hash", id},
                    {"name", "x.pdf"},
                    {"media_type", "application/pdf"},
                    {"size", 10}}}};
  auto append = [&](const json& payload) {
    return in_write<std::uint64_t>(*ksu.store, [&](storage::WriteTxn& txn) {
      return ksu.store->append_local(txn, node::kCaseAttachmentAdded, payload, kStart);
    });
  };
  std::vector<std::pair<std::string, json>> bad;
  json p = good;
  p["attachment"]["hash"] = std::string(64, 'b');
  bad.emplace_back("hash differs from id", p);
  p = good;
  p["attachment"]["id"] = std::string(64, 'A');
  p["attachment"]["hash"] = std::string(64, 'A');
  bad.emplace_back("upper-case id", p);
  p = good;
  p["attachment"]["name"] = "a/b.pdf";
  bad.emplace_back("name with a path", p);
  p = good;
  p["attachment"]["media_type"] = "text/html";
  bad.emplace_back("unknown type", p);
  p = good;
  p["attachment"]["size"] = node::kAttachmentMax + 1;
  bad.emplace_back("too large", p);
  p = good;
  p["attachment"]["size"] = 0;
  bad.emplace_back("empty", p);
  p = good;
  p.erase("by");
  bad.emplace_back("no by", p);
  for (const auto& [why, payload] : bad) {
    INFO(why);
    auto r = append(payload);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "malformed_event");
  }
  REQUIRE(append(good));
  auto twice = append(good);
  REQUIRE_FALSE(twice);
  CHECK(twice.error().code == "duplicate_attachment");
}

// --------------------------------------------------------------------------
// HTTP

namespace {

void require_error(const httplib::Result& r, int status, const std::string& code) {
  REQUIRE(r);
  INFO("status " << r->status << ", body: " << r->body);
  CHECK(r->status == status);
  CHECK_THAT(r->get_header_value("Content-Type"), Catch::StartsWith("application/json"));
  json j = json::parse(r->body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["error"]["code"] == code);
}

}  // namespace

TEST_CASE("the beneficiary uploads with the access code and downloads the same bytes",
          "[attachments][http]") {
  Site site;
  const json receipt = site.file_case();
  const std::string tn = receipt["tracking_number"];
  const std::string png = png_file(70'000);
  auto up = site.upload(tn, "صورة الإيصال.png", png, "image/png", code_of(receipt));
  REQUIRE(up);
  INFO(up->body);
  REQUIRE(up->status == 201);
  const json meta = json::parse(up->body);
  const std::string id = meta["id"];
  CHECK(id.size() == 64);
  CHECK(meta["name"] == "صورة الإيصال.png");
  CHECK(meta["media_type"] == "image/png");
  CHECK(meta["size"] == png.size());
  CHECK(meta["from"] == "beneficiary");
  CHECK(up->get_header_value("Location") == "/api/v1/cases/" + tn + "/attachments/" + id);

  auto down = site.download(tn, id, code_of(receipt));
  REQUIRE(down);
  REQUIRE(down->status == 200);
  CHECK(down->body == png);
  CHECK(down->get_header_value("Content-Type") == "image/png");
  // cpp-httplib's client percent-decodes header values: read this one raw.
  const std::string raw = raw_exchange(site.port,
                                       "GET /api/v1/cases/" + tn + "/attachments/" + id +
                                           " HTTP/1.1\r\nHost: x\r\nX-Access-Code: " +
                                           receipt["access_code"].get<std::string>() + "\r\n\r\n",
                                       true);
  CHECK(raw.starts_with("HTTP/1.1 200"));
  CHECK(raw.find(
            "\r\nContent-Disposition: attachment; filename=\"____ _______.png\"; "
            "filename*=UTF-8''%D8%B5%D9%88%D8%B1%D8%A9%20%D8%A7%D9%84%D8%A5%D9%8A%D8%B5%D8%A7%D9%"
            "84.png\r\n") != std::string::npos);
  CHECK(down->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK(down->get_header_value("Cache-Control") == "no-store");
  CHECK(down->get_header_value("Content-Security-Policy") == "default-src 'none'");
  // With the id in upper case too; never with the code in the URL.
  std::string upper = id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string code = receipt["access_code"];
  auto by_upper = site.client().Get(("/api/v1/cases/" + tn + "/attachments/" + upper).c_str(),
                                    {{"X-Access-Code", code}});
  REQUIRE(by_upper);
  CHECK(by_upper->status == 200);
  CHECK(by_upper->body == png);
  auto by_param = site.client().Get(
      ("/api/v1/cases/" + tn + "/attachments/" + upper + "?access_code=" + code).c_str());
  REQUIRE(by_param);
  CHECK(by_param->status == 400);

  // The case as the beneficiary sees it lists the file.
  auto view = site.client().Get(("/api/v1/cases/" + tn).c_str(), code_of(receipt));
  REQUIRE(view);
  const json v = json::parse(view->body);
  REQUIRE(v["attachments"].size() == 1);
  CHECK(v["attachments"][0]["id"] == id);
  CHECK(v["history"].back()["event"] == "attachment_added");

  // Wrong or missing codes: the look-up's 404, for upload and download alike.
  const json other = site.file_case();
  require_error(site.upload(tn, "x.pdf", pdf_file(), "application/pdf", code_of(other)), 404,
                "not_found");
  require_error(site.download(tn, id, code_of(other)), 404, "not_found");
  require_error(site.download(tn, id, {}), 404, "not_found");
  require_error(site.upload(tn, "x.pdf", pdf_file(), "application/pdf", {}), 401, "unauthorized");
  require_error(site.download(tn, std::string(64, '0'), code_of(receipt)), 404, "not_found");
  require_error(site.download(tn, id, code_of(other)), 404, "not_found");
  // Another case's file is not reachable through this one's code.
  require_error(site.download(other["tracking_number"], id, code_of(other)), 404, "not_found");
}

TEST_CASE("uploads are judged by their bytes: the declared type must agree with them",
          "[attachments][http]") {
  Site site;
  const json receipt = site.file_case();
  const std::string tn = receipt["tracking_number"];
  const auto before = site.head();

  SECTION("a PNG renamed .pdf and sent as a PDF") {
    require_error(site.upload(tn, "scan.pdf", png_file(), "application/pdf", code_of(receipt)), 415,
                  "media_type_mismatch");
  }
  SECTION("a text file named .pdf") {
    require_error(site.upload(tn, "notes.pdf", "these are my notes, not a PDF", "application/pdf",
                              code_of(receipt)),
                  415, "unsupported_media_type");
  }
  SECTION("a type we do not take") {
    require_error(site.upload(tn, "notes.txt", pdf_file(), "text/plain", code_of(receipt)), 415,
                  "unsupported_media_type");
    require_error(
        site.upload(tn, "x.pdf", pdf_file(), "application/octet-stream", code_of(receipt)), 415,
        "unsupported_media_type");
  }
  SECTION("a magic number cut short") {
    require_error(
        site.upload(tn, "x.png", std::string("\x89PNG\r\n", 6), "image/png", code_of(receipt)), 415,
        "unsupported_media_type");
  }
  SECTION("an empty file, a missing or bad name") {
    require_error(site.upload(tn, "x.pdf", "", "application/pdf", code_of(receipt)), 400,
                  "empty_file");
    auto no_name = site.client().Post(("/api/v1/cases/" + tn + "/attachments").c_str(),
                                      code_of(receipt), pdf_file(), "application/pdf");
    require_error(no_name, 400, "missing_field");
    require_error(site.upload(tn, "../../x.pdf", pdf_file(), "application/pdf", code_of(receipt)),
                  400, "invalid_name");
  }
  SECTION("a malformed tracking number") {
    require_error(site.upload("nope", "x.pdf", pdf_file(), "application/pdf", code_of(receipt)),
                  400, "invalid_tracking_number");
  }
  CHECK(site.head() == before);
  // A JPEG with parameters on its type is fine.
  auto ok = site.upload(tn, "photo.jpg", jpeg_file(), "Image/JPEG; q=1", code_of(receipt));
  REQUIRE(ok);
  CHECK(ok->status == 201);
}

TEST_CASE("body limits: 5 MiB for a file, 64 KiB for everything else, and no unbounded bodies",
          "[attachments][http][limits]") {
  Site site;
  const json receipt = site.file_case();
  const std::string tn = receipt["tracking_number"];

  SECTION("exactly 5 MiB is accepted; one byte more is 413") {
    const auto before = site.head();
    auto over = site.upload(tn, "big.pdf", pdf_file(node::kAttachmentMax + 1), "application/pdf",
                            code_of(receipt));
    require_error(over, 413, "body_too_large");
    CHECK(json::parse(over->body)["error"]["message"].get<std::string>().find("5 MiB") !=
          std::string::npos);
    CHECK(site.head() == before);
    auto exact = site.upload(tn, "big.pdf", pdf_file(node::kAttachmentMax), "application/pdf",
                             code_of(receipt));
    REQUIRE(exact);
    INFO(exact->body);
    CHECK(exact->status == 201);
    auto down = site.download(tn, json::parse(exact->body)["id"], code_of(receipt));
    REQUIRE(down);
    CHECK(down->body.size() == node::kAttachmentMax);
  }
  SECTION("a 100 KiB JSON body to the other routes is still 413") {
    auto j = sample_request_json();
    j["description"] = std::string(100 * 1024, 'x');
    const auto cases = site.store->stats().value().cases;
    auto r = site.client().Post("/api/v1/cases", j.dump(), "application/json");
    require_error(r, 413, "body_too_large");
    CHECK(json::parse(r->body)["error"]["message"].get<std::string>().find("64 KiB") !=
          std::string::npos);
    CHECK(site.store->stats().value().cases == cases);
    require_error(site.client().Post("/api/v1/auth/login", j.dump(), "application/json"), 413,
                  "body_too_large");
    // Just under the limit is read and judged on its content.
    j["description"] = std::string(60 * 1024, 'x');
    require_error(site.client().Post("/api/v1/cases", j.dump(), "application/json"), 400,
                  "invalid_length");
  }
  SECTION("chunked bodies are refused on every route: they cannot be bounded in advance") {
    const std::string chunk = "4000\r\n" + std::string(0x4000, 'x') + "\r\n";
    for (const std::string& head :
         {std::string("POST /api/v1/cases HTTP/1.1\r\nContent-Type: application/json\r\n"),
          "POST /api/v1/cases/" + tn + "/attachments?name=x.pdf HTTP/1.1\r\nX-Access-Code: " +
              receipt["access_code"].get<std::string>() +
              "\r\nContent-Type: application/pdf\r\n"}) {
      const std::string answer = raw_exchange(
          site.port, head + "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk);
      CHECK(answer.starts_with("HTTP/1.1 411"));
      CHECK(answer.find("length_required") != std::string::npos);
    }
  }
  SECTION("a POST without Content-Length is 411 at once, not read until the peer closes") {
    const std::string answer =
        raw_exchange(site.port,
                     "POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "\r\n{\"type\":");
    CHECK(answer.starts_with("HTTP/1.1 411"));
    CHECK(answer.find("length_required") != std::string::npos);
  }
  SECTION("an upload over the limit that waits for 100 Continue is refused before it is sent") {
    const std::string answer = raw_exchange(
        site.port, "POST /api/v1/cases/" + tn + "/attachments?name=x.pdf HTTP/1.1\r\nHost: x\r\n" +
                       "X-Access-Code: " + receipt["access_code"].get<std::string>() +
                       "\r\nContent-Type: application/pdf\r\nContent-Length: " +
                       std::to_string(node::kAttachmentMax + 1) +
                       "\r\nExpect: 100-continue\r\n\r\n");
    CHECK(answer.starts_with("HTTP/1.1 413"));
    CHECK(answer.find("body_too_large") != std::string::npos);
    const std::string ok = raw_exchange(
        site.port, "POST /api/v1/cases/" + tn + "/attachments?name=x.pdf HTTP/1.1\r\nHost: x\r\n" +
                       "Content-Type: application/pdf\r\nContent-Length: 10\r\n" +
                       "Expect: 100-continue\r\n\r\n");
    CHECK(ok.starts_with("HTTP/1.1 100"));
  }
  SECTION("a Content-Length that is not a number is 400") {
    const std::string answer = raw_exchange(
        site.port, "POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n");
    CHECK(answer.starts_with("HTTP/1.1 400"));
  }
}

TEST_CASE("staff attach within their scope — the public view names no staff member",
          "[attachments][http]") {
  Site site;
  site.add_staff("emp", "KSU.SA", {"employee"});
  site.add_staff("auditor", "KSU", {"auditor"});
  const json receipt = site.file_case();
  const std::string tn = receipt["tracking_number"];
  site.assign(tn, "KSU.SA");
  auto up = site.upload(tn, "رد الإدارة.pdf", pdf_file(), "application/pdf", site.as("emp"));
  REQUIRE(up);
  REQUIRE(up->status == 201);
  const std::string id = json::parse(up->body)["id"];
  CHECK(json::parse(up->body)["from"] == "staff");

  auto staff_view = site.client().Get(("/api/v1/cases/" + tn).c_str(), site.as("emp"));
  REQUIRE(staff_view);
  const json sv = json::parse(staff_view->body);
  CHECK(sv["attachments"][0]["by"] == "emp");
  CHECK(sv["attachments"][0]["from"] == "staff");
  auto public_view = site.client().Get(("/api/v1/cases/" + tn).c_str(), code_of(receipt));
  REQUIRE(public_view);
  const json pv = json::parse(public_view->body);
  CHECK(pv["attachments"][0]["from"] == "staff");
  CHECK(pv["attachments"][0]["name"] == "رد الإدارة.pdf");
  CHECK_FALSE(pv["attachments"][0].contains("by"));
  CHECK(public_view->body.find("\"emp\"") == std::string::npos);

  // The beneficiary downloads what staff attached; the auditor reads it too.
  auto down = site.download(tn, id, code_of(receipt));
  REQUIRE(down);
  CHECK(down->status == 200);
  CHECK(down->get_header_value("Content-Type") == "application/pdf");
  auto audited = site.download(tn, id, site.as("auditor"));
  REQUIRE(audited);
  CHECK(audited->status == 200);
  CHECK(audited->body == down->body);
}

TEST_CASE("a closed case takes no file — the eleventh and a duplicate are 409",
          "[attachments][http]") {
  Site site;
  site.add_staff("emp", "KSU.SA", {"employee"});
  const json receipt = site.file_case();
  const std::string tn = receipt["tracking_number"];
  site.assign(tn, "KSU.SA");
  for (std::size_t i = 0; i < node::kAttachmentsPerCaseMax; ++i) {
    auto r = site.upload(tn, "p" + std::to_string(i) + ".png",
                         png_file(1000, static_cast<char>('a' + i)), "image/png",
                         i % 2 ? site.as("emp") : code_of(receipt));
    REQUIRE(r);
    REQUIRE(r->status == 201);
  }
  require_error(site.upload(tn, "p0-again.png", png_file(1000, 'a'), "image/png", site.as("emp")),
                409, "duplicate_attachment");
  require_error(site.upload(tn, "p11.png", png_file(1000, 'z'), "image/png", code_of(receipt)), 409,
                "too_many_attachments");

  const json second = site.file_case();
  const std::string t2 = second["tracking_number"];
  site.assign(t2, "KSU.SA");
  site.act(t2, CaseAction::kStart, {{"assignee", "emp"}}, "emp");
  site.act(t2, CaseAction::kAnswer, {{"answer", "تم"}}, "emp");
  auto accepted = site.client().Post(("/api/v1/cases/" + t2 + "/accept").c_str(), code_of(second),
                                     "", "application/json");
  REQUIRE(accepted);
  REQUIRE(accepted->status == 200);
  for (const auto& who : {code_of(second), site.as("emp")}) {
    auto r = site.upload(t2, "late.pdf", pdf_file(), "application/pdf", who);
    require_error(r, 409, "transition_not_allowed");
    CHECK(json::parse(r->body)["error"]["message"].get<std::string>().find("closed") !=
          std::string::npos);
  }
}
