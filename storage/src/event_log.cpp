#include "storage/event_log.hpp"

namespace tawasul::storage {
namespace {

// Key of an entry: u8 stream length, stream bytes, u64 big-endian seq. The
// length prefix keeps one stream's keys contiguous and ascending by seq.
std::string entry_key(std::string_view stream, std::uint64_t seq) {
  std::string key;
  key.reserve(1 + stream.size() + 8);
  key.push_back(static_cast<char>(stream.size()));
  key.append(stream);
  key.append(encode_u64(seq));
  return key;
}

bool valid_stream(std::string_view stream) {
  return !stream.empty() && stream.size() <= EventLog::kStreamMax;
}

}  // namespace

Result<EventLog> EventLog::open(Env& env) {
  auto log = env.dbi("log");
  if (!log) return std::unexpected(log.error());
  auto heads = env.dbi("log_heads");
  if (!heads) return std::unexpected(heads.error());
  return EventLog(*log, *heads);
}

Result<std::uint64_t> EventLog::head(const Txn& txn, std::string_view stream) const {
  auto v = txn.get(heads_, stream);
  if (!v) {
    if (v.error().code == ErrorCode::kNotFound) return 0;
    return std::unexpected(v.error());
  }
  if (v->size() != 8)
    return std::unexpected(
        Error{ErrorCode::kCorrupt, "log head of " + std::string(stream) + " is not 8 bytes"});
  return decode_u64(*v);
}

Result<void> EventLog::append(WriteTxn& txn, std::string_view stream, std::uint64_t seq,
                              std::string_view bytes) {
  if (!valid_stream(stream))
    return std::unexpected(Error{ErrorCode::kInvalid, "invalid stream name"});
  auto current = head(txn, stream);
  if (!current) return std::unexpected(current.error());
  if (seq != *current + 1) {
    return std::unexpected(Error{
        ErrorCode::kConflict, "stream " + std::string(stream) + " expects seq " +
                                  std::to_string(*current + 1) + ", got " + std::to_string(seq)});
  }
  if (auto r = txn.put(log_, entry_key(stream, seq), bytes, MDB_NOOVERWRITE); !r) return r;
  if (auto r = txn.put(heads_, stream, encode_u64(seq)); !r) return r;
  if (hook_) return hook_(txn, stream, seq, bytes);
  return {};
}

Result<std::string_view> EventLog::get(const Txn& txn, std::string_view stream,
                                       std::uint64_t seq) const {
  return txn.get(log_, entry_key(stream, seq));
}

Result<void> EventLog::scan(const Txn& txn, std::string_view stream, std::uint64_t from_seq,
                            const std::function<bool(std::uint64_t, std::string_view)>& fn) const {
  std::string prefix = entry_key(stream, 0).substr(0, 1 + stream.size());
  return txn.scan(log_, entry_key(stream, from_seq),
                  [&](std::string_view key, std::string_view value) {
                    if (!key.starts_with(prefix) || key.size() != prefix.size() + 8) return false;
                    return fn(decode_u64(key.substr(prefix.size())), value);
                  });
}

Result<void> EventLog::streams(
    const Txn& txn, const std::function<void(std::string_view, std::uint64_t)>& fn) const {
  Result<void> inner;
  auto r = txn.scan(heads_, "", [&](std::string_view key, std::string_view value) {
    if (value.size() != 8) {
      inner = std::unexpected(
          Error{ErrorCode::kCorrupt, "log head of " + std::string(key) + " is not 8 bytes"});
      return false;
    }
    fn(key, decode_u64(value));
    return true;
  });
  if (!r) return r;
  return inner;
}

}  // namespace tawasul::storage
