// The embedded RocksDB database: one DB directory, one column family per kind of
// record (DESIGN.md "Storage"). Other folders see only this handle; the RocksDB
// types stay behind store/database_impl.hpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "hookd/errc.hpp"
#include "store/disk_space.hpp"

namespace hookd::store {

struct database_options {
  // Directory of the RocksDB files; created when missing.
  std::filesystem::path path;
  // fsync the WAL on every write batch. Off (the default) survives a crash of the
  // process (kill -9) but may lose the last writes on power loss; on survives
  // power loss at the cost of one fsync per group commit.
  bool fsync = false;
  // The free-space watch (store/disk_space.hpp): new work is refused under
  // space.min_free, and opening refuses under its floor.
  space_options space{};
};

class database {
 public:
  struct impl;

  // Opens (or creates) the database with every column family hookd uses. The error
  // is RocksDB's own explanation (for example that another process holds the lock).
  [[nodiscard]] static explained<std::unique_ptr<database>> open(const database_options& options);

  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  impl& internals() noexcept { return *impl_; }

  // Reads the free space again (unflushed memtables counted as used) and moves the
  // watch's state; the engine calls it a few times a second. Thread-safe.
  space_state check_space();
  const space_guard& space() const noexcept;

  // Statistics buckets that ended before `cutoff_ms` are dropped from now on, when
  // compaction meets them (at least daily). Retention sets it.
  void expire_stats_before(std::int64_t cutoff_ms);

  // RocksDB's own estimates, for /metrics.
  struct sizes {
    std::uint64_t sst_bytes = 0;
    std::uint64_t memtable_bytes = 0;
    std::uint64_t pending_compaction_bytes = 0;
    std::uint64_t due_keys = 0;  // entries of the due queue (an estimate)
  };
  sizes read_sizes() const;

 private:
  explicit database(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace hookd::store
