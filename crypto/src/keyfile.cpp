#include "crypto/keyfile.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tawasul::crypto {
namespace {

Error io_error(const std::filesystem::path& path, std::string_view what) {
  return Error{ErrorCode::kIo,
               std::string(what) + " " + path.string() + ": " + std::strerror(errno)};
}

// Writes `contents` to `path` with `mode` through a temporary file, fsync and rename.
Result<void> write_atomically(const std::filesystem::path& path, std::string_view contents,
                              mode_t mode, bool overwrite) {
  if (!overwrite && std::filesystem::exists(path)) {
    return std::unexpected(Error{ErrorCode::kIo, path.string() + " already exists"});
  }
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return std::unexpected(io_error(tmp, "cannot create"));
  // The umask may have narrowed the mode; set it exactly.
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    return std::unexpected(io_error(tmp, "cannot chmod"));
  }
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::unexpected(io_error(tmp, "cannot write"));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return std::unexpected(io_error(tmp, "cannot fsync"));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return std::unexpected(io_error(path, "cannot rename to"));
  return {};
}

}  // namespace

Result<void> write_secret_file(const std::filesystem::path& path, const KeyValues& values,
                               std::string_view header, bool overwrite) {
  for (const auto& [key, value] : values) {
    // A line break or '=' in a key, or a line break in a value, would not read back.
    if (key.empty() || key.find_first_of("=\n\r#") != std::string::npos ||
        value.find_first_of("\n\r") != std::string::npos ||
        key != key.substr(key.find_first_not_of(" \t"))) {
      return std::unexpected(
          Error{ErrorCode::kFormat, "key file entry '" + key + "' cannot be written as a line"});
    }
  }
  std::ostringstream out;
  std::istringstream lines{std::string(header)};
  for (std::string line; std::getline(lines, line);) out << "# " << line << "\n";
  for (const auto& [key, value] : values) out << key << " = " << value << "\n";
  return write_atomically(path, out.str(), 0600, overwrite);
}

Result<KeyValues> read_secret_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::unexpected(io_error(path, "cannot open"));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return std::unexpected(io_error(path, "cannot stat"));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::unexpected(
        Error{ErrorCode::kPermissions, path.string() + " is not a regular file"});
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::unexpected(Error{ErrorCode::kPermissions,
                                 path.string() + " has mode " + mode +
                                     "; secret key files must not be readable by group or others "
                                     "(chmod 600)"});
  }
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    return std::unexpected(
        Error{ErrorCode::kPermissions, path.string() + " is owned by another user"});
  }
  std::string contents;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::unexpected(io_error(path, "cannot read"));
    }
    if (n == 0) break;
    contents.append(buf, static_cast<std::size_t>(n));
    if (contents.size() > 64 * 1024) {
      ::close(fd);
      return std::unexpected(Error{ErrorCode::kFormat, path.string() + " is too large"});
    }
  }
  ::close(fd);
  KeyValues values;
  std::istringstream lines(contents);
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      return std::unexpected(
          Error{ErrorCode::kFormat,
                path.string() + ":" + std::to_string(number) + ": expected key = value"});
    }
    auto trim = [](std::string s) {
      auto b = s.find_first_not_of(" \t\r");
      auto e = s.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    values[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return values;
}

Result<void> write_public_file(const std::filesystem::path& path, std::string_view contents) {
  return write_atomically(path, contents, 0644, true);
}

}  // namespace tawasul::crypto
