// Secret files: small `key = value` text files holding key material.
//
// A secret file is written with mode 0600 (atomically: temporary file, fsync,
// rename) and refused on read when its mode lets the group or others read or
// write it, or when it is not a regular file owned by the current user.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "crypto/crypto.hpp"

namespace tawasul::crypto {

using KeyValues = std::map<std::string, std::string>;

// Writes `values` as `key = value` lines under a comment header. Fails if the
// file exists unless `overwrite`.
Result<void> write_secret_file(const std::filesystem::path& path, const KeyValues& values,
                               std::string_view header, bool overwrite = false);

// Reads a secret file; refuses group/world-accessible files with kPermissions.
Result<KeyValues> read_secret_file(const std::filesystem::path& path);

// Writes a public (0644) file atomically.
Result<void> write_public_file(const std::filesystem::path& path, std::string_view contents);

}  // namespace tawasul::crypto
