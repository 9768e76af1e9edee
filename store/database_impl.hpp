// Internal to store/: the RocksDB handles behind store::database, and the
// translation of rocksdb::Status into hookd::errc. Never include from outside.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include <atomic>
#include <cstdint>

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/status.h>
#include <rocksdb/write_batch.h>

#include "store/database.hpp"

namespace hookd::store {

// The webhook_stats family's merge: counters added field by field
// (store/webhook_stats.hpp).
class stats_merge_operator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger* logger) const override;
  const char* Name() const override { return "hookd.stats_add"; }
};

// Drops statistics buckets that ended before cutoff_ms (retention sets it) when
// compaction meets them.
class stats_expiry_filter final : public rocksdb::CompactionFilter {
 public:
  std::atomic<std::int64_t> cutoff_ms{0};  // 0: keep everything
  Decision FilterV2(int level, const rocksdb::Slice& key, ValueType type,
                    const rocksdb::Slice& value, std::string* new_value,
                    std::string* skip_until) const override;
  const char* Name() const override { return "hookd.stats_expiry"; }
};

struct database::impl {
  // Outlives db: compactions call it until db is closed.
  std::unique_ptr<stats_expiry_filter> stats_filter;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;        // owned; destroyed before db
  rocksdb::ColumnFamilyHandle* meta = nullptr;              // "default": counters
  rocksdb::ColumnFamilyHandle* webhooks = nullptr;          // be64(id) -> record
  rocksdb::ColumnFamilyHandle* account_webhooks = nullptr;  // account 0x00 be64(id) -> empty
  rocksdb::ColumnFamilyHandle* subscriptions = nullptr;  // account 0x00 type 0x00 be64(id) -> empty
  rocksdb::ColumnFamilyHandle* events = nullptr;         // account 0x00 event id -> event
  rocksdb::ColumnFamilyHandle* deliveries = nullptr;     // delivery id (16) -> delivery
  rocksdb::ColumnFamilyHandle* webhook_deliveries = nullptr;  // be64(webhook) id(16) -> empty
  rocksdb::ColumnFamilyHandle* due = nullptr;                 // be64(due ms) id(16) -> empty
  rocksdb::ColumnFamilyHandle* attempts = nullptr;            // id(16) be64(number) -> attempt
  // be64(webhook) u8(status) id(16) -> empty: a webhook's deliveries by status, oldest
  // first (pending: its unfinished ones).
  rocksdb::ColumnFamilyHandle* webhook_status = nullptr;
  // be64(occurred ms) account 0x00 event id -> empty: events by age, for retention.
  rocksdb::ColumnFamilyHandle* event_times = nullptr;
  // be64(webhook) be64(hour start ms) -> stats_counts, merged (store/webhook_stats.hpp).
  rocksdb::ColumnFamilyHandle* webhook_stats = nullptr;
  rocksdb::WriteOptions write_options;
  std::unique_ptr<space_guard> space;

  // Every write goes through here: refused with errc::storage_full when the free
  // space does not admit it, so RocksDB itself never meets a full disk.
  error write(write_kind kind, rocksdb::WriteBatch& batch);

  ~impl();
};

// Maps a RocksDB status to the project's error, keeping RocksDB's own words as the
// detail (not for NotFound, which says nothing more); ok() maps to success.
error to_error(const rocksdb::Status& s);

}  // namespace hookd::store
