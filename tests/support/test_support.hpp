// Helpers for hermetic tests: a temporary directory removed at scope end, a
// free TCP port found at run time, and waiting on a condition with a deadline.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace tawasul::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object goes out of scope (unless TAWASUL_KEEP_TEST_DIRS is set).
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "t");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_port();

// Polls `condition` every few milliseconds until it holds or `deadline` passes.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds deadline = std::chrono::seconds(20));

}  // namespace tawasul::test
