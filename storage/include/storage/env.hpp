// tawasul::storage — an LMDB environment with RAII transactions.
//
// Lifecycle (LMDB's own): Env::open → dbi() for each named database during
// set-up → begin_read()/write() → the transaction commits or aborts when its
// scope ends. One Env per data directory per process; never fork() with it open.
//
// Thread rules: an Env is shared by all threads. Read transactions may be
// opened on any thread (MDB_NOTLS) and must stay short; a thread must not
// hold one while it calls write() (map growth would wait for it forever). Only one write
// transaction exists at a time (LMDB serialises them). A write transaction or
// read transaction belongs to the thread that uses it.
//
// Map growth: the map starts large (address space only, the file stays sparse).
// When a write hits MDB_MAP_FULL, `Env::write` aborts, doubles the map while no
// transaction of this process is open, and runs the write function again; the
// function must therefore be re-runnable (its effects live only in the txn).
#pragma once

#include <lmdb.h>

#include <mutex>

#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace tawasul::storage {

// kNoSpace: the disk (or the file-size limit) is full; nothing was committed.
enum class ErrorCode { kNotFound, kMapFull, kNoSpace, kIo, kCorrupt, kConflict, kInvalid };

struct Error {
  ErrorCode code;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

// Turns an LMDB return code into our error, naming what was being done.
Error lmdb_error(int rc, std::string_view what);

struct EnvOptions {
  std::size_t map_size_bytes = std::size_t{1} << 30;
  unsigned max_dbs = 32;
  bool read_only = false;
};

// A named database handle; valid for the Env's lifetime.
struct Dbi {
  MDB_dbi handle = 0;
};

class Txn;
class WriteTxn;

class Env {
 public:
  // Opens (creating if needed, unless read_only) the environment in `dir` and
  // clears stale reader slots left by crashed processes (mdb_reader_check).
  static Result<std::unique_ptr<Env>> open(const std::filesystem::path& dir, EnvOptions options);
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  // Opens or creates a named database. Call during set-up, before other threads use the Env.
  Result<Dbi> dbi(const std::string& name);

  Result<Txn> begin_read();

  // Runs `fn` inside one write transaction and commits (durably: fsync).
  // If `fn` returns an error the transaction is aborted and the error returned.
  // On MDB_MAP_FULL the map grows and `fn` runs again.
  Result<void> write(const std::function<Result<void>(WriteTxn&)>& fn);

  int stale_readers_cleared() const { return stale_readers_cleared_; }
  std::size_t map_size_bytes() const { return map_size_; }
  MDB_env* raw() { return env_; }

 private:
  Env() = default;
  Result<void> grow();
  // REQUIRES: resize_mutex_ held exclusively. Takes the size another process set.
  void adopt_map_size();

  MDB_env* env_ = nullptr;
  bool read_only_ = false;
  std::size_t map_size_ = 0;
  int stale_readers_cleared_ = 0;
  // Held shared by every open transaction, exclusively while resizing the map.
  std::shared_mutex resize_mutex_;
  friend class Txn;
};

// A transaction. Read-only unless it is a WriteTxn. Values returned as
// string_view point into the map and stay valid until the transaction ends.
class Txn {
 public:
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&&) = delete;
  ~Txn();

  // kNotFound when the key is absent.
  Result<std::string_view> get(Dbi dbi, std::string_view key) const;
  std::optional<std::string_view> find(Dbi dbi, std::string_view key) const;

  // Visits keys >= `from` in order while `fn` returns true.
  Result<void> scan(
      Dbi dbi, std::string_view from,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  // The greatest key with the given prefix, if any.
  Result<std::optional<std::pair<std::string_view, std::string_view>>> last_with_prefix(
      Dbi dbi, std::string_view prefix) const;

  MDB_txn* raw() const { return txn_; }
  // False for a WriteTxn (and its nested children): what it sees may still
  // be rolled back.
  bool read_only() const { return !writable_; }

 protected:
  Txn(Env* env, MDB_txn* txn, std::shared_lock<std::shared_mutex> lock)
      : env_(env), txn_(txn), lock_(std::move(lock)) {}
  Txn(Env* env, MDB_txn* txn) : env_(env), txn_(txn) {}
  void abort();

  Env* env_ = nullptr;
  MDB_txn* txn_ = nullptr;
  std::shared_lock<std::shared_mutex> lock_;
  bool writable_ = false;
  friend class Env;
};

class WriteTxn : public Txn {
 public:
  Result<void> put(Dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
  // Returns false when the key was absent.
  Result<bool> del(Dbi dbi, std::string_view key);

  // Runs `fn` in a nested transaction: its writes become part of this
  // transaction only if it succeeds. Lets one command in a group commit fail
  // without aborting the others.
  template <class T>
  Result<T> nested(const std::function<Result<T>(WriteTxn&)>& fn) {
    auto child = begin_child();
    if (!child) return std::unexpected(child.error());
    auto result = fn(*child);
    if (!result) {
      child->abort();
      return result;
    }
    if (auto c = child->commit(); !c) return std::unexpected(c.error());
    return result;
  }

 private:
  WriteTxn(Env* env, MDB_txn* txn, std::shared_lock<std::shared_mutex> lock)
      : Txn(env, txn, std::move(lock)) {
    writable_ = true;
  }
  WriteTxn(Env* env, MDB_txn* txn) : Txn(env, txn) { writable_ = true; }
  Result<WriteTxn> begin_child();
  Result<void> commit();
  friend class Env;
};

// Big-endian encodings so keys sort numerically.
std::string encode_u64(std::uint64_t v);
std::uint64_t decode_u64(std::string_view bytes);

}  // namespace tawasul::storage
