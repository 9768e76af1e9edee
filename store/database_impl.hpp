// Internal to store/: the RocksDB handles behind store::database, and the
// translation of rocksdb::Status into hookd::errc. Never include from outside.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/status.h>
#include <rocksdb/write_batch.h>

#include "store/database.hpp"

namespace hookd::store {

struct database::impl {
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
