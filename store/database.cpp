// Opening RocksDB with hookd's column families and options, and the translation of
// rocksdb::Status into hookd errors that keep RocksDB's words.
#include "store/database.hpp"

#include <atomic>
#include <string>
#include <system_error>

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_buffer_manager.h>

#include "store/database_impl.hpp"

namespace hookd::store {
namespace {

// A memtable insert hint per status of the status index: its keys are a webhook id (8
// bytes), a status byte, then a delivery id; the status byte alone picks the hint.
class status_byte_hint : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "hookd.StatusByteHint"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data() + 8, 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() > 8; }
};

// The memtable insert hint of the deliveries: one for the family (the high byte of a
// UUIDv7's time), for keys as long as a delivery id only. Retention's range deletions
// start one byte longer (delivery_retention.cpp), so none of them takes the hint: this
// librocksdb (7.8) shares a prefix's hint between a memtable's point and range-deletion
// skip lists, and a hint from one used in the other fails its assertions. Armed only
// once the database is open: the write-ahead log replayed by the open may hold range
// deletions of a hookd before this one, which started at a delivery id (16 bytes).
class delivery_id_hint : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "hookd.DeliveryIdHint"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() == 16 && armed_.load(std::memory_order_relaxed);
  }
  void arm() { armed_.store(true, std::memory_order_relaxed); }

 private:
  std::atomic<bool> armed_{false};
};

constexpr const char* k_webhooks = "webhooks";
constexpr const char* k_account_webhooks = "account_webhooks";
constexpr const char* k_subscriptions = "subscriptions";
constexpr const char* k_events = "events";
constexpr const char* k_deliveries = "deliveries";
constexpr const char* k_webhook_deliveries = "webhook_deliveries";
constexpr const char* k_due = "due";
constexpr const char* k_attempts = "attempts";
constexpr const char* k_webhook_status = "webhook_status";
constexpr const char* k_webhook_stats = "webhook_stats";
constexpr const char* k_event_times = "event_times";

}  // namespace

error to_error(const rocksdb::Status& s) {
  if (s.ok()) return {};
  if (s.IsNotFound()) return errc::not_found;
  errc code = errc::storage_io;
  if (s.IsCorruption()) {
    code = errc::storage_corruption;
  } else if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut() || s.IsIncomplete()) {
    code = errc::storage_busy;
  } else if (s.IsInvalidArgument() || s.IsNotSupported()) {
    code = errc::invalid_argument;
  } else if (s.IsShutdownInProgress()) {
    code = errc::shutting_down;
  }
  return error(code, s.ToString());
}

error database::impl::write(write_kind kind, rocksdb::WriteBatch& batch) {
  const std::uint64_t bytes = batch.GetDataSize();
  if (space && !space->admits(kind, bytes)) {
    return error(errc::storage_full, kind == write_kind::intake
                                         ? space->describe()
                                         : space->describe() + "; below " +
                                               format_bytes(space->floor()) +
                                               " even the progress of accepted work waits");
  }
  if (auto ec = to_error(db->Write(write_options, &batch))) return ec;
  if (space) space->wrote(bytes);
  return {};
}

space_state database::check_space() {
  if (!impl_->space) return space_state::ok;
  std::uint64_t pending = 0;
  impl_->db->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &pending);
  return impl_->space->check(pending);
}

const space_guard& database::space() const noexcept { return *impl_->space; }

void database::expire_stats_before(std::int64_t cutoff_ms) {
  impl_->stats_filter->cutoff_ms.store(cutoff_ms, std::memory_order_relaxed);
}

database::sizes database::read_sizes() const {
  sizes out;
  auto& db = *impl_->db;
  db.GetAggregatedIntProperty("rocksdb.total-sst-files-size", &out.sst_bytes);
  db.GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &out.memtable_bytes);
  db.GetAggregatedIntProperty("rocksdb.estimate-pending-compaction-bytes",
                              &out.pending_compaction_bytes);
  db.GetIntProperty(impl_->due, "rocksdb.estimate-num-keys", &out.due_keys);
  return out;
}

database::impl::~impl() {
  // With the disk nearly full, a flush could meet ENOSPC, which this librocksdb
  // answers with an abort: the log is replayed at the next start instead.
  if (db && space && space->state() == space_state::critical) {
    for (auto* h : handles) {
      if (h) db->DestroyColumnFamilyHandle(h);
    }
    handles.clear();
    db->Close().PermitUncheckedError();
    return;
  }
  if (db) {
    // Memtables written to files now: the next open reads them instead of replaying
    // the write-ahead log (seconds after a million writes).
    rocksdb::FlushOptions flush;
    flush.allow_write_stall = true;
    for (auto* h : handles) {
      if (h) db->Flush(flush, h).PermitUncheckedError();
    }
  }
  for (auto* h : handles) {
    if (db && h) db->DestroyColumnFamilyHandle(h);
  }
  handles.clear();
  if (db) db->Close();
}

database::database(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
database::~database() = default;

explained<std::unique_ptr<database>> database::open(const database_options& options) {
  std::error_code fs_error;
  std::filesystem::create_directories(options.path, fs_error);
  if (fs_error) return "cannot create " + options.path.string() + ": " + fs_error.message();
  auto space = std::make_unique<space_guard>(options.path, options.space);
  if (space->state() == space_state::critical) {
    // Opening writes a new log and manifest, and replaying the last log a table file:
    // on a full disk that is where this librocksdb would abort.
    return "not enough free space to open " + options.path.string() + ": " + space->describe() +
           ", and opening needs at least " + format_bytes(space->floor()) +
           "; free some space or lower --min-free-space";
  }

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  // Memory is bounded whatever is written: all memtables together stay within 48 MiB
  // (a family is flushed when the budget is reached), and one 32 MiB block cache
  // serves every family and holds the tables' indexes and filters too.
  db_options.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(48ULL << 20);
  // Families written rarely (the registry) would otherwise keep the oldest log file
  // alive for ever: past this much log, their memtables are flushed and it goes.
  db_options.max_total_wal_size = 128ULL << 20;
  // RocksDB's own LOG is rotated instead of growing with every compaction.
  db_options.max_log_file_size = 4ULL << 20;
  db_options.keep_log_file_num = 4;
  // Point lookups by id and prefix scans dominate; a bloom filter spares
  // disk reads for absent ids.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(32ULL << 20);
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  rocksdb::ColumnFamilyOptions cf_options(db_options);
  cf_options.write_buffer_size = 16ULL << 20;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  // Families whose keys are not in time order lose entries to retention all over
  // their key space, and the due queue loses every entry it ever had: a file where
  // deletions pile up is compacted early, so the space comes back and a scan from the
  // start of the due queue (the first claim after a restart) does not wade through
  // millions of deleted entries.
  rocksdb::ColumnFamilyOptions expiring_options(cf_options);
  expiring_options.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(10'000, 2'000));

  // Families whose keys are mostly written in order (ids are UUIDv7, due and event
  // keys start with a time, index keys with a webhook id, then a UUIDv7): a memtable
  // insert starts from where the previous one of the same prefix went, instead of
  // from the top of the skip list. Inserts were a third of all instructions of a
  // drain (docs/PERFORMANCE.md). Memtables only: nothing on disk changes. The families
  // retention clears with DeleteRange need care: this librocksdb (7.8) keeps one hint
  // per prefix for a memtable's point and range-deletion skip lists together, and a
  // hint from one used in the other fails its assertions. The deliveries take hints
  // only for keys of a delivery id's length (delivery_id_hint); the attempts none (their
  // keys come in order, which needs no hint).
  // One hint per family (a prefix of one byte, the same for every key: the high byte
  // of a time or of a webhook id), not one per webhook: each hint is a splice in the
  // memtable's arena, and with many webhooks they would fill memtables by themselves.
  // The status index (webhook id, status byte, UUIDv7) takes one hint per status
  // instead: an outcome deletes under "pending" and puts under "succeeded", and one
  // shared hint would jump between the two on every delivery.
  auto in_order =
      [](rocksdb::ColumnFamilyOptions o,
         std::shared_ptr<const rocksdb::SliceTransform> by =
             std::shared_ptr<const rocksdb::SliceTransform>(rocksdb::NewFixedPrefixTransform(1))) {
        o.memtable_insert_with_hint_prefix_extractor = std::move(by);
        return o;
      };

  // Deliveries and events are read by whole key on every claim, mostly keys a memtable
  // does not hold: a bloom filter over each memtable's keys (2% of its size) answers
  // "not here" without searching its skip list. Per delivery drained, 7% fewer instructions on the
  // dispatcher thread (docs/PERFORMANCE.md, profile 6).
  auto point_read = [](rocksdb::ColumnFamilyOptions o) {
    o.memtable_prefix_bloom_size_ratio = 0.02;
    o.memtable_whole_key_filtering = true;
    return o;
  };

  auto i = std::make_unique<impl>();
  i->stats_filter = std::make_unique<stats_expiry_filter>();
  rocksdb::ColumnFamilyOptions stats_options(cf_options);
  stats_options.merge_operator = std::make_shared<stats_merge_operator>();
  stats_options.compaction_filter = i->stats_filter.get();
  // Every file is compacted at least daily, so expired buckets go even where nothing
  // new is written.
  stats_options.periodic_compaction_seconds = std::uint64_t{24} * 60 * 60;

  auto delivery_hint = std::make_shared<delivery_id_hint>();
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {k_webhooks, cf_options},
      {k_account_webhooks, cf_options},
      {k_subscriptions, cf_options},
      {k_events, point_read(expiring_options)},
      {k_deliveries, point_read(in_order(cf_options, delivery_hint))},
      {k_webhook_deliveries, in_order(expiring_options)},
      {k_due, in_order(expiring_options)},
      {k_attempts, cf_options},
      {k_webhook_status, in_order(expiring_options, std::make_shared<status_byte_hint>())},
      {k_event_times, in_order(cf_options)},
      {k_webhook_stats, stats_options},
  };

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.path.string(), families, &i->handles, &raw);
  if (!s.ok()) return "cannot open RocksDB at " + options.path.string() + ": " + s.ToString();
  i->db.reset(raw);
  delivery_hint->arm();  // the log is replayed: every write from here on is this hookd's
  i->meta = i->handles[0];
  i->webhooks = i->handles[1];
  i->account_webhooks = i->handles[2];
  i->subscriptions = i->handles[3];
  i->events = i->handles[4];
  i->deliveries = i->handles[5];
  i->webhook_deliveries = i->handles[6];
  i->due = i->handles[7];
  i->attempts = i->handles[8];
  i->webhook_status = i->handles[9];
  i->event_times = i->handles[10];
  i->webhook_stats = i->handles[11];
  i->write_options.sync = options.fsync;
  i->space = std::move(space);
  auto opened = std::unique_ptr<database>(new database(std::move(i)));
  // Read again now that RocksDB has written its files (a preallocated manifest, the
  // tables of a replayed log, memtables): the first writes are judged on what is
  // left, not on what was free before opening.
  opened->check_space();
  return opened;
}

}  // namespace hookd::store
