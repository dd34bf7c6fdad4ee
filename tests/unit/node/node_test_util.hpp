// Helpers shared by the node unit tests: a store in a temporary directory,
// filing a case in one write transaction, dates as milliseconds.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "node/cases.hpp"
#include "node/error.hpp"
#include "node/identity.hpp"
#include "node/node_store.hpp"
#include "storage/env.hpp"

namespace tawasul::node::testing {

inline void init_crypto() {
  static const bool ok = crypto::initialize();
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

// Milliseconds since the epoch of a UTC date and time.
inline std::int64_t utc_ms(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  namespace ch = std::chrono;
  const ch::sys_days date{ch::year(y) / ch::month(m) / ch::day(d)};
  const auto tp = date + ch::hours(hh) + ch::minutes(mm) + ch::seconds(ss);
  return ch::duration_cast<ch::milliseconds>(tp.time_since_epoch()).count();
}

inline FilingRequest sample_request(const std::string& subject = "تأخر صرف المكافأة الشهرية") {
  FilingRequest r;
  r.type = "complaint";
  r.subject = subject;
  r.description = "لم تصرف مكافأة شهر رمضان حتى الآن رغم مراجعة الكلية مرتين.";
  r.channel = "portal";
  r.beneficiary.name = "محمد بن عبدالله العتيبي";
  r.beneficiary.phone = "+966501234567";
  r.beneficiary.email = "m.alotaibi@example.sa";
  r.beneficiary.national_id = "1012345678";
  return r;
}

inline nlohmann::json sample_request_json(
    const std::string& subject = "تأخر صرف المكافأة الشهرية") {
  return nlohmann::json{
      {"type", "complaint"},
      {"subject", subject},
      {"description", "لم تصرف مكافأة شهر رمضان حتى الآن رغم مراجعة الكلية مرتين."},
      {"channel", "portal"},
      {"beneficiary",
       {{"name", "محمد بن عبدالله العتيبي"},
        {"phone", "+966 50-123-4567"},
        {"email", "m.alotaibi@example.sa"},
        {"national_id", "1012345678"}}}};
}

inline Identity make_identity(const std::filesystem::path& dir, Role role,
                              const std::string& code) {
  auto id = create_identity(dir, role, code);
  if (!id) FAIL("create_identity(" << code << ") failed: " << id.error().message);
  return *id;
}

inline std::unique_ptr<NodeStore> open_store(const std::filesystem::path& dir, const Identity& id) {
  auto store = NodeStore::open(dir, id);
  if (!store) FAIL("NodeStore::open failed: " << store.error().message);
  return std::move(*store);
}

// Runs `fn` (returning Result<T>) in one write transaction of `store`; aborts
// the transaction when it fails and returns its outcome either way.
template <class T, class Fn>
Result<T> in_write(NodeStore& store, Fn&& fn) {
  Result<T> out = std::unexpected(Error::internal("not run"));
  auto written = store.env().write([&](storage::WriteTxn& txn) -> storage::Result<void> {
    out = fn(txn);
    if (!out)
      return std::unexpected(storage::Error{storage::ErrorCode::kInvalid, out.error().message});
    return {};
  });
  if (out && !written) return std::unexpected(from_storage(written.error()));
  return out;
}

inline Result<nlohmann::json> file(NodeStore& store, const FilingRequest& request,
                                   std::int64_t now_ms) {
  return in_write<nlohmann::json>(
      store, [&](storage::WriteTxn& txn) { return store.file_case(txn, request, now_ms); });
}

inline nlohmann::json file_ok(NodeStore& store, const FilingRequest& request, std::int64_t now_ms) {
  auto r = file(store, request, now_ms);
  if (!r) FAIL("file_case failed: " << r.error().code << ": " << r.error().message);
  return *r;
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) FAIL("cannot read " << path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) FAIL("cannot write " << path);
}

// Files of `size` bytes whose first bytes are the magic number of their type;
// `seed` varies the rest, so two files of one type need not be the same.
inline std::string file_of(std::string_view magic, std::size_t size, char seed = 'a') {
  std::string bytes(magic.substr(0, std::min(magic.size(), size)));
  bytes.reserve(size);
  for (std::size_t i = bytes.size(); i < size; ++i)
    bytes.push_back(static_cast<char>(seed + static_cast<char>(i % 23)));
  return bytes;
}
inline std::string pdf_file(std::size_t size = 2048, char seed = 'a') {
  return file_of("%PDF-1.7\n", size, seed);
}
inline std::string png_file(std::size_t size = 2048, char seed = 'a') {
  return file_of(std::string_view("\x89PNG\r\n\x1A\n", 8), size, seed);
}
inline std::string jpeg_file(std::size_t size = 2048, char seed = 'a') {
  return file_of("\xFF\xD8\xFF\xE0", size, seed);
}

}  // namespace tawasul::node::testing
