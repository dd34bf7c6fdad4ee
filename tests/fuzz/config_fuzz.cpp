// The INI configuration of `tawasul run --config FILE` (node/daemon.hpp):
// Boost.Program_options reads the file, then parse_run_options validates
// every value. Contract: a bad file is refused with an exception that says
// what is wrong (std::runtime_error or a program_options error, never a raw
// std::stoi or std::bad_alloc), and an accepted configuration holds only
// values inside their documented ranges.
#include <unistd.h>

#include <boost/program_options/errors.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "node/daemon.hpp"

namespace {

namespace node = tawasul::node;

// The file the input is written to: one per process, in the temp directory,
// removed when the run ends.
struct ConfigFile {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("tawasul-fuzz-" + std::to_string(getpid()) + ".ini");
  ~ConfigFile() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

const std::string& config_path() {
  static const ConfigFile file;
  static const std::string path = file.path.string();
  return path;
}

// The config may name calendar files to read; a device or a process file
// would block or never end, which is the operator's to avoid, not a bug.
bool names_a_special_file(std::string_view text) {
  for (std::string_view prefix : {"/dev", "/proc", "/sys", "/run"}) {
    if (text.find(prefix) != std::string_view::npos) return true;
  }
  return false;
}

void check_accepted(const node::DaemonConfig& c) {
  FUZZ_CHECK(!c.data.empty());
  FUZZ_CHECK(c.http_port >= 0 && c.http_port <= 65535);
  FUZZ_CHECK(c.http_threads >= 1 && c.http_threads <= 1024);
  FUZZ_CHECK(c.notify_timeout_s >= 1 && c.notify_timeout_s <= 300);
  FUZZ_CHECK(c.federation_listen.starts_with("tcp://") ||
             c.federation_listen.starts_with("ipc://"));
  FUZZ_CHECK(c.hub_endpoint.empty() || c.hub_endpoint.starts_with("tcp://") ||
             c.hub_endpoint.starts_with("ipc://"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (names_a_special_file(text)) return 0;
  {
    std::ofstream out(config_path(), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    FUZZ_CHECK(static_cast<bool>(out));
  }
  const char* argv[] = {"tawasul run", "--config", config_path().c_str()};
  try {
    check_accepted(node::parse_run_options(3, argv));
  } catch (const boost::program_options::error& e) {
    FUZZ_CHECK(*e.what() != '\0');
  } catch (const std::runtime_error& e) {
    FUZZ_CHECK(*e.what() != '\0');
  }
  return 0;
}
