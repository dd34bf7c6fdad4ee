// Case attachments: the files a beneficiary or staff member adds to a case
// (PDF, JPEG, PNG), and the rules every node and the hub apply to them.
//
// A file's bytes live in the node's `blobs` database, keyed by their
// BLAKE2b-256 (content-addressed: the same file is stored once); the case
// records it through a signed `case.attachment_added` event that carries only
// the metadata — id (the hash), name, media type, size — so the event stays
// small when it replicates to the hub. The type is decided by the file's
// first bytes (its magic number), never by its name or the Content-Type a
// client claims.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/envelope.hpp"
#include "node/error.hpp"

namespace tawasul::node {

inline constexpr std::size_t kAttachmentMax = 5 * 1024 * 1024;  // bytes of one file
inline constexpr std::size_t kAttachmentsPerCaseMax = 10;
inline constexpr std::size_t kAttachmentNameMaxChars = 120;
inline constexpr const char* kCaseAttachmentAdded = "case.attachment_added";

// "application/pdf", "image/jpeg" or "image/png" from the file's magic
// bytes (%PDF-, FF D8 FF, 89 50 4E 47 0D 0A 1A 0A); nullopt for anything else,
// including a magic number cut short.
std::optional<std::string_view> sniff_media_type(std::string_view bytes);
bool is_attachment_media_type(std::string_view media_type);

// The media type of a Content-Type header value, lower-cased and without
// parameters ("Image/PNG; x=y" → "image/png").
std::string media_type_of(std::string_view content_type);

// Checks a file name as a client gives it: surrounding spaces are trimmed;
// it must then be 1..120 characters of valid UTF-8 with no path separators
// (/ \), no control characters (C0, DEL, C1), no Unicode bidirectional
// controls (they disguise extensions: "photo<U+202E>gpj.exe") and not be "." or
// "..". Refusals are 400s naming `field`.
Result<std::string> check_attachment_name(std::string_view raw, const std::string& field = "name");

// The name a download is saved under: the stored name, with the extension
// of its media type appended unless it already ends in one (a PNG named
// "notes.html" is saved as "notes.html.png", so no file is ever opened as
// a type it is not).
std::string download_filename(std::string_view name, std::string_view media_type);

// A Content-Disposition value that always downloads, never renders inline:
// attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded> (RFC 6266/8187).
std::string attachment_disposition(std::string_view filename);

// Folds `case.attachment_added` into a filed case: the origin must own the
// case, the case must not be closed, the metadata must be well formed, the
// case must hold fewer than 10 attachments and not this hash already.
// Appends to state["attachments"] and adds a history entry; the status does
// not change.
Result<nlohmann::json> fold_attachment_added(const nlohmann::json& state,
                                             const crypto::Event& event,
                                             const nlohmann::json& payload);

// An attachment as the beneficiary sees it: {id, name, media_type, size,
// added_at, from} — `from` is "beneficiary" or "staff", never a staff id.
nlohmann::json public_attachment(const nlohmann::json& stored);

}  // namespace tawasul::node
