// The append-only event log.
//
// What it is: for every stream (named by an origin node's code) a gap-free
// sequence 1, 2, 3, ... of opaque event bytes (signed envelopes — the log does
// not look inside them). Entries are never changed or removed.
//
// The apply hook: `append` calls the hook inside the same write transaction,
// so the caller's views change atomically with the log (DESIGN.md invariant 1).
// If the hook fails, append fails and the caller must abort its transaction.
//
// Thread rules: as for Env — use it from the thread that owns the transaction.
// The layout on disk is in storage/FORMAT.md.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "storage/env.hpp"

namespace tawasul::storage {

class EventLog {
 public:
  using ApplyHook = std::function<Result<void>(WriteTxn&, std::string_view stream,
                                               std::uint64_t seq, std::string_view bytes)>;

  // Opens (creates) the log's databases. Call during set-up.
  static Result<EventLog> open(Env& env);

  void set_apply_hook(ApplyHook hook) { hook_ = std::move(hook); }

  // Appends `bytes` as entry `seq` of `stream`; seq must be head(stream) + 1,
  // otherwise kConflict and nothing is written.
  Result<void> append(WriteTxn& txn, std::string_view stream, std::uint64_t seq,
                      std::string_view bytes);

  // Last sequence number of `stream`; 0 when it has none.
  Result<std::uint64_t> head(const Txn& txn, std::string_view stream) const;
  // kNotFound when the entry does not exist.
  Result<std::string_view> get(const Txn& txn, std::string_view stream, std::uint64_t seq) const;
  // Visits entries from `from_seq` on, in order, while `fn` returns true.
  Result<void> scan(const Txn& txn, std::string_view stream, std::uint64_t from_seq,
                    const std::function<bool(std::uint64_t seq, std::string_view bytes)>& fn) const;
  // Visits every stream with its head, in name order.
  Result<void> streams(
      const Txn& txn,
      const std::function<void(std::string_view stream, std::uint64_t head)>& fn) const;

  static constexpr std::size_t kStreamMax = 16;

 private:
  EventLog(Dbi log, Dbi heads) : log_(log), heads_(heads) {}
  Dbi log_;
  Dbi heads_;
  ApplyHook hook_;
};

}  // namespace tawasul::storage
