#include "node/attachments.hpp"
#include "fold_util.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "node/cases.hpp"
#include "node/time_util.hpp"

namespace tawasul::node {

using nlohmann::json;

namespace {

struct Magic {
  std::string_view prefix;
  std::string_view media_type;
};

constexpr std::array<Magic, 3> kMagic = {{
    {std::string_view("%PDF-", 5), "application/pdf"},
    {std::string_view("\xFF\xD8\xFF", 3), "image/jpeg"},
    {std::string_view("\x89PNG\r\n\x1A\n", 8), "image/png"},
}};

// The extensions a saved file of each type may end in; the first is appended
// when the name ends in none of them.
std::array<std::string_view, 2> extensions(std::string_view media_type) {
  if (media_type == "application/pdf") return {".pdf", ""};
  if (media_type == "image/jpeg") return {".jpg", ".jpeg"};
  return {".png", ""};
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Decodes the code point starting at `s[i]` of valid UTF-8; advances `i`.
std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  std::uint32_t cp = c;
  if (c >= 0xF0) {
    n = 3;
    cp = c & 0x07;
  } else if (c >= 0xE0) {
    n = 2;
    cp = c & 0x0F;
  } else if (c >= 0xC0) {
    n = 1;
    cp = c & 0x1F;
  }
  for (std::size_t k = 1; k <= n && i + k < s.size(); ++k) {
    cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  }
  i += n + 1;
  return cp;
}

bool forbidden_in_name(std::uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return true;  // C0, DEL, C1
  if (cp == '/' || cp == '\\') return true;                                // path separators
  // Bidirectional embeddings, overrides and isolates.
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::optional<std::string_view> sniff_media_type(std::string_view bytes) {
  for (const auto& m : kMagic) {
    if (bytes.starts_with(m.prefix)) return m.media_type;
  }
  return std::nullopt;
}

bool is_attachment_media_type(std::string_view media_type) {
  return std::any_of(kMagic.begin(), kMagic.end(),
                     [&](const Magic& m) { return m.media_type == media_type; });
}

std::string media_type_of(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return lower_ascii(type);
}

Result<std::string> check_attachment_name(std::string_view raw, const std::string& field) {
  while (!raw.empty() && raw.front() == ' ') raw.remove_prefix(1);
  while (!raw.empty() && raw.back() == ' ') raw.remove_suffix(1);
  if (raw.empty()) {
    return std::unexpected(
        Error::bad_request("missing_field", field + " (the file name) is required", field));
  }
  if (invalid_utf8_offset(raw)) {
    return std::unexpected(
        Error::bad_request("invalid_utf8", field + " is not valid UTF-8", field));
  }
  const std::size_t chars = utf8_length(raw);
  if (chars > kAttachmentNameMaxChars) {
    return std::unexpected(Error::bad_request("invalid_length",
                                              field + " must be 1 to " +
                                                  std::to_string(kAttachmentNameMaxChars) +
                                                  " characters (got " + std::to_string(chars) + ")",
                                              field));
  }
  for (std::size_t i = 0; i < raw.size();) {
    if (forbidden_in_name(next_code_point(raw, i))) {
      return std::unexpected(Error::bad_request(
          "invalid_name",
          field + " must be a plain file name: no path separators or control characters", field));
    }
  }
  if (raw == "." || raw == "..") {
    return std::unexpected(
        Error::bad_request("invalid_name", field + " must be a file name", field));
  }
  return std::string(raw);
}

std::string download_filename(std::string_view name, std::string_view media_type) {
  const std::string lower = lower_ascii(name);
  const auto exts = extensions(media_type);
  for (std::string_view ext : exts) {
    if (!ext.empty() && lower.size() > ext.size() && lower.ends_with(ext)) return std::string(name);
  }
  return std::string(name) + std::string(exts[0]);
}

std::string attachment_disposition(std::string_view filename) {
  // The ASCII fallback for clients that ignore filename*: one '_' for each
  // character that is not plain printable ASCII, or is a quote, backslash or '%'.
  std::string fallback;
  for (std::size_t i = 0; i < filename.size();) {
    const auto c = static_cast<unsigned char>(filename[i]);
    if (c >= 0x80) {
      next_code_point(filename, i);
      fallback.push_back('_');
      continue;
    }
    fallback.push_back(
        c < 0x20 || c == 0x7F || c == '"' || c == '\\' || c == '%' ? '_' : static_cast<char>(c));
    ++i;
  }
  // RFC 8187 attr-char is kept; every other byte is percent-encoded.
  static constexpr std::string_view kAttrChars = "!#$&+-.^_`|~";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (char ch : filename) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       kAttrChars.find(ch) != std::string_view::npos;
    if (plain) {
      encoded.push_back(ch);
    } else {
      encoded.push_back('%');
      encoded.push_back(kHex[c >> 4]);
      encoded.push_back(kHex[c & 0x0F]);
    }
  }
  return "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''" + encoded;
}

Result<json> fold_attachment_added(const json& state, const crypto::Event& event,
                                   const json& payload) {
  const std::string kind = event.kind;
  if (auto origin = check_case_event_origin(state, event); !origin)
    return std::unexpected(origin.error());
  const std::string status = state["status"];
  if (status == "closed") {
    return std::unexpected(
        Error::conflict("transition_not_allowed",
                        "cannot add an attachment to a case that is closed; it allows: nothing"));
  }
  auto malformed = [&](const std::string& what) {
    return std::unexpected(Error::bad_request("malformed_event", kind + " " + what));
  };
  if (!payload.contains("by") || !payload["by"].is_string() ||
      payload["by"].get<std::string>().empty()) {
    return malformed("lacks by");
  }
  if (!payload.contains("attachment") || !payload["attachment"].is_object())
    return malformed("lacks attachment");
  const json& a = payload["attachment"];
  for (const char* key : {"id", "hash", "name", "media_type"}) {
    if (!a.contains(key) || !a[key].is_string())
      return malformed(std::string("lacks attachment.") + key);
  }
  const std::string id = a["id"];
  if (id.size() != 64 || !is_lower_hex(id) || a["hash"] != id)
    return malformed("has an invalid attachment.id");
  auto name = check_attachment_name(a["name"].get<std::string>());
  if (!name || *name != a["name"].get<std::string>())
    return malformed("has an invalid attachment.name");
  if (!is_attachment_media_type(a["media_type"].get<std::string>()))
    return malformed("has an unknown attachment.media_type");
  if (!a.contains("size") || !a["size"].is_number_unsigned() ||
      a["size"].get<std::uint64_t>() == 0 || a["size"].get<std::uint64_t>() > kAttachmentMax) {
    return malformed("has an invalid attachment.size");
  }
  const json attachments = state.contains("attachments") && state["attachments"].is_array()
                               ? state["attachments"]
                               : json::array();
  for (const auto& existing : attachments) {
    if (existing["id"] == id) {
      return std::unexpected(Error::conflict(
          "duplicate_attachment", "this file is already attached to the case (" + id + ")"));
    }
  }
  if (attachments.size() >= kAttachmentsPerCaseMax) {
    return std::unexpected(Error::conflict(
        "too_many_attachments",
        "a case holds at most " + std::to_string(kAttachmentsPerCaseMax) + " attachments"));
  }
  const json meta{
      {"id", id}, {"name", a["name"]}, {"media_type", a["media_type"]}, {"size", a["size"]}};
  json stored = meta;
  stored["added_at_ms"] = event.time_ms;
  stored["by"] = payload["by"];

  json s = state;
  s["attachments"] = attachments;
  s["attachments"].push_back(stored);
  s["updated_at_ms"] = event.time_ms;
  s["events"].push_back(json{{"origin", event.origin}, {"seq", event.seq}});
  s["history"].push_back(json{{"event", "attachment_added"},
                              {"at_ms", event.time_ms},
                              {"status", status},
                              {"by", payload["by"]},
                              {"attachment", meta}});
  return s;
}

json public_attachment(const json& stored) {
  return json{{"id", stored["id"]},
              {"name", stored["name"]},
              {"media_type", stored["media_type"]},
              {"size", stored["size"]},
              {"added_at", iso8601_utc(stored["added_at_ms"].get<std::int64_t>())},
              {"from", stored["by"] == "beneficiary" ? "beneficiary" : "staff"}};
}

}  // namespace tawasul::node
