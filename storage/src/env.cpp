#include "storage/env.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>

namespace tawasul::storage {

Error lmdb_error(int rc, std::string_view what) {
  ErrorCode code = ErrorCode::kIo;
  switch (rc) {
    case MDB_NOTFOUND:
      code = ErrorCode::kNotFound;
      break;
    case MDB_MAP_FULL:
      code = ErrorCode::kMapFull;
      break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      code = ErrorCode::kCorrupt;
      break;
    case MDB_KEYEXIST:
      code = ErrorCode::kConflict;
      break;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      code = ErrorCode::kNoSpace;
      break;
    case MDB_BAD_VALSIZE:
    case EINVAL:
      code = ErrorCode::kInvalid;
      break;
    default:
      break;
  }
  return Error{code, std::string(what) + ": " + mdb_strerror(rc)};
}

namespace {
MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
std::string_view from_val(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}
}  // namespace

Result<std::unique_ptr<Env>> Env::open(const std::filesystem::path& dir, EnvOptions options) {
  if (!options.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return std::unexpected(
          Error{ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message()});
  }
  std::unique_ptr<Env> env(new Env());
  env->read_only_ = options.read_only;
  int rc = mdb_env_create(&env->env_);
  if (rc != 0) return std::unexpected(lmdb_error(rc, "mdb_env_create"));
  if ((rc = mdb_env_set_maxdbs(env->env_, options.max_dbs)) != 0)
    return std::unexpected(lmdb_error(rc, "mdb_env_set_maxdbs"));
  if ((rc = mdb_env_set_maxreaders(env->env_, 256)) != 0)
    return std::unexpected(lmdb_error(rc, "mdb_env_set_maxreaders"));
  // The stored map size (if the file is larger, LMDB keeps the larger one).
  if ((rc = mdb_env_set_mapsize(env->env_, options.map_size_bytes)) != 0)
    return std::unexpected(lmdb_error(rc, "mdb_env_set_mapsize"));
  // MDB_NOTLS: read transactions are not tied to threads (the HTTP pool hands
  // work between threads). No MDB_NOSYNC/MDB_NOMETASYNC: a commit is durable.
  unsigned flags = MDB_NOTLS | (options.read_only ? MDB_RDONLY : 0u);
  if ((rc = mdb_env_open(env->env_, dir.c_str(), flags, 0600)) != 0) {
    return std::unexpected(lmdb_error(rc, "cannot open store " + dir.string()));
  }
  // Reader slots of processes that died while reading would pin old pages forever.
  int dead = 0;
  if ((rc = mdb_reader_check(env->env_, &dead)) != 0)
    return std::unexpected(lmdb_error(rc, "mdb_reader_check"));
  env->stale_readers_cleared_ = dead;
  MDB_envinfo info{};
  mdb_env_info(env->env_, &info);
  env->map_size_ = info.me_mapsize;
  return env;
}

Env::~Env() {
  if (env_ != nullptr) mdb_env_close(env_);
}

Result<Dbi> Env::dbi(const std::string& name) {
  std::shared_lock lock(resize_mutex_);
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, read_only_ ? MDB_RDONLY : 0, &txn);
  if (rc != 0) return std::unexpected(lmdb_error(rc, "begin transaction to open database " + name));
  MDB_dbi handle = 0;
  rc = mdb_dbi_open(txn, name.c_str(), read_only_ ? 0 : MDB_CREATE, &handle);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return std::unexpected(lmdb_error(rc, "open database " + name));
  }
  if ((rc = mdb_txn_commit(txn)) != 0)
    return std::unexpected(lmdb_error(rc, "commit opening database " + name));
  return Dbi{handle};
}

Result<Txn> Env::begin_read() {
  std::shared_lock lock(resize_mutex_);
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map; adopt its size and retry once.
    lock.unlock();
    {
      std::unique_lock grow_lock(resize_mutex_);
      adopt_map_size();
    }
    lock.lock();
    rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  }
  if (rc != 0) return std::unexpected(lmdb_error(rc, "begin read transaction"));
  return Txn(this, txn, std::move(lock));
}

void Env::adopt_map_size() {
  mdb_env_set_mapsize(env_, 0);
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
}

Result<void> Env::grow() {
  std::unique_lock lock(resize_mutex_);
  std::size_t next = map_size_ * 2;
  int rc = mdb_env_set_mapsize(env_, next);
  if (rc != 0) return std::unexpected(lmdb_error(rc, "grow map to " + std::to_string(next)));
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
  return {};
}

Result<void> Env::write(const std::function<Result<void>(WriteTxn&)>& fn) {
  if (read_only_) return std::unexpected(Error{ErrorCode::kInvalid, "store opened read-only"});
  // Bounded: each retry doubles the map, so a handful of retries covers any sane growth.
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::shared_lock lock(resize_mutex_);
    MDB_txn* raw = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &raw);
    if (rc == MDB_MAP_RESIZED) {
      lock.unlock();
      std::unique_lock grow_lock(resize_mutex_);
      adopt_map_size();
      continue;
    }
    if (rc != 0) return std::unexpected(lmdb_error(rc, "begin write transaction"));
    WriteTxn txn(this, raw, std::move(lock));
    auto result = fn(txn);
    if (!result) {
      txn.abort();
      if (result.error().code != ErrorCode::kMapFull) return result;
      if (auto g = grow(); !g) return g;
      continue;
    }
    auto committed = txn.commit();
    if (!committed && committed.error().code == ErrorCode::kMapFull) {
      if (auto g = grow(); !g) return g;
      continue;
    }
    return committed;
  }
  return std::unexpected(Error{ErrorCode::kMapFull, "map could not grow enough"});
}

Txn::Txn(Txn&& other) noexcept
    : env_(other.env_),
      txn_(other.txn_),
      lock_(std::move(other.lock_)),
      writable_(other.writable_) {
  other.txn_ = nullptr;
}

Txn::~Txn() {
  abort();
}

void Txn::abort() {
  if (txn_ != nullptr) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
  if (lock_.owns_lock()) lock_.unlock();
}

Result<std::string_view> Txn::get(Dbi dbi, std::string_view key) const {
  MDB_val k = to_val(key);
  MDB_val v{};
  int rc = mdb_get(txn_, dbi.handle, &k, &v);
  if (rc != 0) return std::unexpected(lmdb_error(rc, "get"));
  return from_val(v);
}

std::optional<std::string_view> Txn::find(Dbi dbi, std::string_view key) const {
  auto r = get(dbi, key);
  if (!r) return std::nullopt;
  return *r;
}

namespace {
struct Cursor {
  MDB_cursor* c = nullptr;
  ~Cursor() {
    if (c != nullptr) mdb_cursor_close(c);
  }
};
}  // namespace

Result<void> Txn::scan(Dbi dbi, std::string_view from,
                       const std::function<bool(std::string_view, std::string_view)>& fn) const {
  Cursor cur;
  int rc = mdb_cursor_open(txn_, dbi.handle, &cur.c);
  if (rc != 0) return std::unexpected(lmdb_error(rc, "open cursor"));
  MDB_val k = to_val(from);
  MDB_val v{};
  rc = mdb_cursor_get(cur.c, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == 0) {
    if (!fn(from_val(k), from_val(v))) return {};
    rc = mdb_cursor_get(cur.c, &k, &v, MDB_NEXT);
  }
  if (rc != MDB_NOTFOUND) return std::unexpected(lmdb_error(rc, "scan"));
  return {};
}

Result<std::optional<std::pair<std::string_view, std::string_view>>> Txn::last_with_prefix(
    Dbi dbi, std::string_view prefix) const {
  Cursor cur;
  int rc = mdb_cursor_open(txn_, dbi.handle, &cur.c);
  if (rc != 0) return std::unexpected(lmdb_error(rc, "open cursor"));
  // Position just past the prefix range: prefix followed by 0xFF... is not a
  // valid bound for all prefixes, so seek to the first key >= prefix+1 instead.
  std::string upper(prefix);
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xFF) upper.pop_back();
  MDB_val k{};
  MDB_val v{};
  if (upper.empty()) {
    rc = mdb_cursor_get(cur.c, &k, &v, MDB_LAST);
  } else {
    upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
    k = to_val(upper);
    rc = mdb_cursor_get(cur.c, &k, &v, MDB_SET_RANGE);
    if (rc == 0) {
      rc = mdb_cursor_get(cur.c, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
      rc = mdb_cursor_get(cur.c, &k, &v, MDB_LAST);
    }
  }
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) return std::unexpected(lmdb_error(rc, "seek"));
  auto key = from_val(k);
  if (!key.starts_with(prefix)) return std::nullopt;
  return std::pair{key, from_val(v)};
}

Result<void> WriteTxn::put(Dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  int rc = mdb_put(txn_, dbi.handle, &k, &v, flags);
  if (rc != 0) return std::unexpected(lmdb_error(rc, "put"));
  return {};
}

Result<bool> WriteTxn::del(Dbi dbi, std::string_view key) {
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, dbi.handle, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return std::unexpected(lmdb_error(rc, "del"));
  return true;
}

Result<WriteTxn> WriteTxn::begin_child() {
  MDB_txn* child = nullptr;
  int rc = mdb_txn_begin(env_->raw(), txn_, 0, &child);
  if (rc != 0) return std::unexpected(lmdb_error(rc, "begin nested transaction"));
  return WriteTxn(env_, child);
}

Result<void> WriteTxn::commit() {
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;
  if (lock_.owns_lock()) lock_.unlock();
  if (rc != 0) return std::unexpected(lmdb_error(rc, "commit"));
  return {};
}

std::string encode_u64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return out;
}

std::uint64_t decode_u64(std::string_view bytes) {
  if (bytes.size() != 8) std::abort();  // callers pass keys they built themselves
  std::uint64_t v = 0;
  for (char c : bytes) v = v << 8 | static_cast<std::uint8_t>(c);
  return v;
}

}  // namespace tawasul::storage
