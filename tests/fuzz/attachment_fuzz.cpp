// Attachment names and upload bodies (POST /api/v1/cases/{tn}/attachments,
// node/attachments.hpp): the ?name= a client gives, its Content-Type and the
// first bytes of the body, checked as the upload handler checks them, then
// the name as a download is saved under and the header that carries it.
// Input: "<name>" ~~~ "<Content-Type>" ~~~ "<body>" (fuzz_util.hpp).
// Contract: nothing throws; a refused name is a 400 naming the field; an
// accepted name is a fixed point of the check, valid UTF-8 with no path
// separator or control character; the media type is lower-case without
// parameters; a sniffed type is one we take; the Content-Disposition header
// is printable ASCII whose quoted fallback cannot be broken out of.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "node/attachments.hpp"
#include "node/cases.hpp"

namespace {

namespace node = tawasul::node;

void check_accepted_name(const std::string& name) {
  FUZZ_CHECK(!name.empty() && !node::invalid_utf8_offset(name));
  FUZZ_CHECK(node::utf8_length(name) <= node::kAttachmentNameMaxChars);
  FUZZ_CHECK(name.find_first_of("/\\") == std::string::npos && name != "." && name != "..");
  FUZZ_CHECK(std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  }));
  auto again = node::check_attachment_name(name);
  FUZZ_CHECK(again && *again == name);
}

void check_media_type(std::string_view content_type) {
  const std::string type = node::media_type_of(content_type);
  FUZZ_CHECK(type.find(';') == std::string::npos);
  FUZZ_CHECK(std::none_of(type.begin(), type.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  FUZZ_CHECK(node::media_type_of(type) == type);
}

void check_disposition(const std::string& name, std::string_view media_type) {
  const std::string saved = node::download_filename(name, media_type);
  FUZZ_CHECK(saved.starts_with(name));
  const std::string header = node::attachment_disposition(saved);
  FUZZ_CHECK(std::all_of(header.begin(), header.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7F;
  }));
  constexpr std::string_view kOpen = "attachment; filename=\"";
  FUZZ_CHECK(header.starts_with(kOpen));
  const auto close = header.find('"', kOpen.size());
  FUZZ_CHECK(close != std::string::npos);
  FUZZ_CHECK(header.compare(close, 20, "\"; filename*=UTF-8''") == 0);
  FUZZ_CHECK(header.find_first_of("\"\\", close + 1) == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = tawasul::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 3);
  const std::string_view content_type = parts.size() > 1 ? parts[1] : std::string_view();
  const std::string_view body = parts.size() > 2 ? parts[2] : std::string_view();
  check_media_type(content_type);
  const auto sniffed = node::sniff_media_type(body);
  if (sniffed) FUZZ_CHECK(node::is_attachment_media_type(*sniffed));
  auto name = node::check_attachment_name(parts[0]);
  if (!name) {
    FUZZ_CHECK(tawasul::fuzz::is_client_error(name.error()) && name.error().status == 400);
    FUZZ_CHECK(name.error().field == "name");
    return 0;
  }
  check_accepted_name(*name);
  check_disposition(*name, sniffed.value_or(node::media_type_of(content_type)));
  return 0;
}
