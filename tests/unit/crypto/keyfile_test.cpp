// Unit tests for secret key files (crypto/keyfile.hpp).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "crypto/crypto.hpp"
#include "crypto/keyfile.hpp"
#include "test_support.hpp"

namespace {

namespace crypto = tawasul::crypto;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using tawasul::test::TempDir;

void init() {
  REQUIRE(crypto::initialize());
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Writes `contents` with mode 0600, bypassing write_secret_file.
void write_raw(const fs::path& path, const std::string& contents) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    REQUIRE(out);
    out << contents;
  }
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
}

const crypto::KeyValues kSample{
    {"sign_secret", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
    {"curve_secret", "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"},
    {"node", "BEY01"},
    {"with_equals", "a=b=c"},
    {"empty", ""},
};

// Restores the process umask at scope end.
struct UmaskGuard {
  explicit UmaskGuard(mode_t m) : old(::umask(m)) {}
  ~UmaskGuard() { ::umask(old); }
  mode_t old;
};

}  // namespace

TEST_CASE("write_secret_file creates the file with mode 0600", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "node.key";
  REQUIRE(crypto::write_secret_file(path, kSample, "node keys"));
  CHECK(mode_of(path) == 0600);
  CHECK(fs::is_regular_file(path));
  // Written through a temporary file that does not linger.
  CHECK_FALSE(fs::exists(dir / "node.key.tmp"));
}

TEST_CASE("write_secret_file uses mode 0600 even under a permissive umask", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "node.key";
  {
    UmaskGuard guard(0);
    REQUIRE(crypto::write_secret_file(path, kSample, "node keys"));
  }
  CHECK(mode_of(path) == 0600);
}

TEST_CASE("a secret file round-trips its keys and values", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "node.key";
  REQUIRE(crypto::write_secret_file(path, kSample, "Tawasul node keys\nkeep this file secret"));
  auto read = crypto::read_secret_file(path);
  REQUIRE(read);
  CHECK(*read == kSample);
  // The header is written as comment lines.
  auto text = slurp(path);
  CHECK_THAT(text, Contains("# Tawasul node keys\n# keep this file secret\n"));
}

TEST_CASE("an empty secret file reads as no values", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "empty.key";
  REQUIRE(crypto::write_secret_file(path, {}, ""));
  auto read = crypto::read_secret_file(path);
  REQUIRE(read);
  CHECK(read->empty());
}

TEST_CASE("write_secret_file refuses to overwrite unless asked to", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "node.key";
  REQUIRE(crypto::write_secret_file(path, {{"a", "1"}}, "first"));
  auto before = slurp(path);

  auto again = crypto::write_secret_file(path, {{"a", "2"}}, "second");
  REQUIRE_FALSE(again);
  CHECK(slurp(path) == before);
  auto still = crypto::read_secret_file(path);
  REQUIRE(still);
  CHECK(still->at("a") == "1");

  REQUIRE(crypto::write_secret_file(path, {{"a", "2"}}, "second", /*overwrite=*/true));
  auto now = crypto::read_secret_file(path);
  REQUIRE(now);
  CHECK(*now == crypto::KeyValues{{"a", "2"}});
  CHECK(mode_of(path) == 0600);
}

TEST_CASE("overwriting a group-readable file leaves it at mode 0600", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "node.key";
  write_raw(path, "a = 1\n");
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  REQUIRE(crypto::write_secret_file(path, {{"a", "2"}}, "", /*overwrite=*/true));
  CHECK(mode_of(path) == 0600);
  auto read = crypto::read_secret_file(path);
  REQUIRE(read);
  CHECK(read->at("a") == "2");
}

TEST_CASE("read_secret_file refuses a file readable by group or others", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "node.key";
  REQUIRE(crypto::write_secret_file(path, kSample, "node keys"));
  for (mode_t mode : {mode_t{0640}, mode_t{0604}, mode_t{0660}, mode_t{0620}, mode_t{0602},
                      mode_t{0644}, mode_t{0610}, mode_t{0601}}) {
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    INFO("mode " << octal);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    auto read = crypto::read_secret_file(path);
    REQUIRE_FALSE(read);
    CHECK(read.error().code == crypto::ErrorCode::kPermissions);
    CHECK_THAT(read.error().message, Contains("chmod 600"));
  }
  // Back to 0600 it reads again.
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  CHECK(crypto::read_secret_file(path));
}

TEST_CASE("read_secret_file accepts an owner-only file stricter than 0600", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "node.key";
  REQUIRE(crypto::write_secret_file(path, kSample, "node keys"));
  REQUIRE(::chmod(path.c_str(), 0400) == 0);
  auto read = crypto::read_secret_file(path);
  REQUIRE(read);
  CHECK(*read == kSample);
}

TEST_CASE("read_secret_file refuses a symlink, even to a valid secret file", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto target = dir / "node.key";
  auto link = dir / "link.key";
  REQUIRE(crypto::write_secret_file(target, kSample, "node keys"));
  fs::create_symlink(target, link);
  REQUIRE(crypto::read_secret_file(target));
  auto read = crypto::read_secret_file(link);
  CHECK_FALSE(read);
}

TEST_CASE("read_secret_file refuses a directory", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto sub = dir / "keys";
  fs::create_directory(sub);
  REQUIRE(::chmod(sub.c_str(), 0700) == 0);
  auto read = crypto::read_secret_file(sub);
  REQUIRE_FALSE(read);
  INFO(read.error().message);
}

TEST_CASE("read_secret_file reports a missing file as an I/O error", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto read = crypto::read_secret_file(dir / "absent.key");
  REQUIRE_FALSE(read);
  CHECK(read.error().code == crypto::ErrorCode::kIo);
}

TEST_CASE("a malformed line is a format error naming its line number", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "node.key";
  write_raw(path, "# header\n\nnode = BEY01\nthis line has no equals sign\nother = 1\n");
  auto read = crypto::read_secret_file(path);
  REQUIRE_FALSE(read);
  CHECK(read.error().code == crypto::ErrorCode::kFormat);
  CHECK_THAT(read.error().message, Contains(":4:"));
}

TEST_CASE("read_secret_file skips comments and blank lines and trims whitespace", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "node.key";
  write_raw(path, "# a comment = not a value\n\n  node\t=  BEY01  \r\nx=1\n");
  auto read = crypto::read_secret_file(path);
  REQUIRE(read);
  CHECK(*read == crypto::KeyValues{{"node", "BEY01"}, {"x", "1"}});
}

TEST_CASE("write_public_file writes mode 0644 and replaces the contents", "[keyfile]") {
  init();
  TempDir dir("keyfile");
  auto path = dir / "node.pub";
  REQUIRE(crypto::write_public_file(path, "first\n"));
  CHECK(mode_of(path) == 0644);
  CHECK(slurp(path) == "first\n");
  REQUIRE(crypto::write_public_file(path, "second\n"));
  CHECK(slurp(path) == "second\n");
  CHECK(mode_of(path) == 0644);
}
