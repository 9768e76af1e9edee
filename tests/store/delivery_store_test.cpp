// The delivery records' indexes and retention in RocksDB (store/delivery_queue.hpp),
// read back raw: the per-webhook status index and the event-time index change in the
// same batch as the records, per-webhook reads cost what they return, an older
// database gets its indexes built once, and retention removes what it should with
// its space returned.
#include "store/delivery_queue.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/write_batch.h>

#include "store/database.hpp"
#include "store/database_impl.hpp"
#include "store/delivery_codec.hpp"
#include "store/key_codec.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::store {
namespace {

constexpr std::int64_t k_t0 = 1'800'000'000'000;
constexpr std::int64_t k_day = 86'400'000;

using column_family = rocksdb::ColumnFamilyHandle* database::impl::*;

// A UUIDv7-shaped id created at `ms`, distinct per n.
delivery_id id_at(std::int64_t ms, std::uint32_t n) {
  delivery_id id{};
  const auto t = static_cast<std::uint64_t>(ms);
  for (std::size_t i = 0; i < 6; ++i) id[i] = static_cast<std::uint8_t>(t >> (40 - 8 * i));
  id[6] = 0x70;
  for (std::size_t i = 0; i < 4; ++i) id[12 + i] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  return id;
}

std::string status_key(std::uint64_t webhook, delivery_status s, const delivery_id& id) {
  std::string k = be64_key(webhook);
  k.push_back(static_cast<char>(s));
  k.append(reinterpret_cast<const char*>(id.data()), id.size());
  return k;
}

class DeliveryStore : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    store_.reset();
    db_.reset();
    db_ = std::move(database::open({.path = dir_ / "db"}).value());
    store_ = std::make_unique<delivery_queue>(*db_);
    ASSERT_TRUE(store_->build_indexes());
  }

  std::vector<std::string> keys(column_family family) {
    auto& d = db_->internals();
    std::vector<std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.*family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(it->key().ToString());
    return out;
  }

  static event_record event(const std::string& id, std::int64_t at = k_t0,
                            std::string payload = "{}") {
    return event_record{"acme", id, "customer_created", at, std::move(payload), 1};
  }

  static delivery_record delivery(const delivery_id& id, std::uint64_t webhook,
                                  const std::string& event_id, std::int64_t at = k_t0) {
    delivery_record d;
    d.id = id;
    d.webhook_id = webhook;
    d.account = "acme";
    d.event_id = event_id;
    d.event_type = "customer_created";
    d.status = delivery_status::pending;
    d.created_at_ms = d.updated_at_ms = d.next_attempt_at_ms = at;
    return d;
  }

  // Publishes one event with one delivery and settles it to `status` with an attempt.
  delivery_record publish_settled(const delivery_id& id, std::uint64_t webhook,
                                  const std::string& event_id, delivery_status status,
                                  std::int64_t at = k_t0, std::string payload = "{}",
                                  std::string excerpt = "ok") {
    auto d = delivery(id, webhook, event_id, at);
    EXPECT_TRUE(store_->publish(event(event_id, at, std::move(payload)), {&d, 1}));
    if (status == delivery_status::pending) return d;
    auto after = d;
    after.status = status;
    after.attempts = 1;
    after.next_attempt_at_ms = 0;
    attempt_record a;
    a.number = 1;
    a.at_ms = at;
    a.status_code = 200;
    a.response_excerpt = std::move(excerpt);
    auto w = store_->writes();
    w.update(after, d.next_attempt_at_ms, delivery_status::pending, &a);
    EXPECT_TRUE(store_->commit(w));
    return after;
  }

  // Runs retention's removal of finished deliveries before `cutoff` to its end, in
  // steps of 1,000, keeping none as in use.
  void remove_all_finished_before(std::int64_t cutoff) {
    std::optional<delivery_id> after;
    do {
      auto step = store_->remove_finished_before(cutoff, after, 1'000,
                                                 [](const delivery_id&) { return false; });
      ASSERT_TRUE(step);
      after = step->next_after;
    } while (after);
  }

  test::temp_dir dir_;
  std::unique_ptr<database> db_;
  std::unique_ptr<delivery_queue> store_;
};

TEST_F(DeliveryStore, PublishWritesThePendingStatusAndEventTimeEntries) {
  const auto id = id_at(k_t0, 1);
  publish_settled(id, 7, "evt_1", delivery_status::pending);
  EXPECT_EQ(keys(&database::impl::webhook_status),
            (std::vector<std::string>{status_key(7, delivery_status::pending, id)}));
  std::string time_key = be64_key(static_cast<std::uint64_t>(k_t0));
  time_key += std::string("acme") + '\0' + "evt_1";
  EXPECT_EQ(keys(&database::impl::event_times), (std::vector<std::string>{time_key}));
}

TEST_F(DeliveryStore, StatusEntryMovesInTheSameBatchAsTheRecord) {
  const auto id = id_at(k_t0, 1);
  auto d = delivery(id, 7, "evt_1");
  ASSERT_TRUE(store_->publish(event("evt_1"), {&d, 1}));
  auto after = d;
  after.status = delivery_status::failed;
  after.next_attempt_at_ms = 0;
  auto w = store_->writes();
  w.update(after, d.next_attempt_at_ms, delivery_status::pending, nullptr);
  // Gathered, not written: the record and its index entry are both as before.
  EXPECT_EQ(store_->get(id)->status, delivery_status::pending);
  EXPECT_EQ(keys(&database::impl::webhook_status),
            (std::vector<std::string>{status_key(7, delivery_status::pending, id)}));
  ASSERT_TRUE(store_->commit(w));
  EXPECT_EQ(store_->get(id)->status, delivery_status::failed);
  EXPECT_EQ(keys(&database::impl::webhook_status),
            (std::vector<std::string>{status_key(7, delivery_status::failed, id)}));
}

TEST_F(DeliveryStore, ARetryThatStaysPendingLeavesTheStatusEntryAlone) {
  const auto id = id_at(k_t0, 1);
  auto d = delivery(id, 7, "evt_1");
  ASSERT_TRUE(store_->publish(event("evt_1"), {&d, 1}));
  auto after = d;
  after.attempts = 1;
  after.next_attempt_at_ms = k_t0 + 10'000;
  auto w = store_->writes();
  w.update(after, d.next_attempt_at_ms, delivery_status::pending, nullptr);
  ASSERT_TRUE(store_->commit(w));
  EXPECT_EQ(keys(&database::impl::webhook_status),
            (std::vector<std::string>{status_key(7, delivery_status::pending, id)}));
}

TEST_F(DeliveryStore, FailedOfAWebhookReadsOnlyItsFailedDeliveries) {
  // A long history of successes and three failures: the read costs the three.
  for (std::uint32_t n = 1; n <= 2'000; ++n) {
    publish_settled(id_at(k_t0 + n, n), 7, "evt_" + std::to_string(n),
                    n % 700 == 0 ? delivery_status::failed : delivery_status::succeeded, k_t0 + n);
  }
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  auto failed = store_->failed_of_webhook(7, k_t0, 100);
  const auto gets = rocksdb::get_perf_context()->get_from_memtable_count;
  const auto nexts = rocksdb::get_perf_context()->next_on_memtable_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  ASSERT_TRUE(failed);
  ASSERT_EQ(failed->size(), 2u);  // 700 and 1400
  EXPECT_EQ((*failed)[0].id, id_at(k_t0 + 700, 700));
  EXPECT_LE(gets, 4u);
  EXPECT_LE(nexts, 4u);
  // And from a later time only the later one, found by seeking, not scanning.
  auto since = store_->failed_of_webhook(7, k_t0 + 701, 100);
  ASSERT_TRUE(since);
  ASSERT_EQ(since->size(), 1u);
  EXPECT_EQ((*since)[0].id, id_at(k_t0 + 1'400, 1'400));
}

TEST_F(DeliveryStore, PendingOfAWebhookPagesThroughItsUnfinishedDeliveriesOnly) {
  std::vector<delivery_id> pending;
  for (std::uint32_t n = 1; n <= 25; ++n) {
    const auto status = n % 5 == 0 ? delivery_status::succeeded : delivery_status::pending;
    publish_settled(id_at(k_t0 + n, n), 7, "evt_" + std::to_string(n), status, k_t0 + n);
    if (status == delivery_status::pending) pending.push_back(id_at(k_t0 + n, n));
  }
  publish_settled(id_at(k_t0 + 99, 99), 8, "evt_other", delivery_status::pending, k_t0 + 99);
  std::vector<delivery_id> seen;
  std::optional<delivery_id> after;
  for (;;) {
    auto page = store_->pending_of_webhook(7, after, 6);
    ASSERT_TRUE(page);
    if (page->empty()) break;
    EXPECT_LE(page->size(), 6u);
    for (const auto& d : *page) seen.push_back(d.id);
    after = page->back().id;
  }
  EXPECT_EQ(seen, pending);
}

TEST_F(DeliveryStore, AnOlderDatabaseGetsItsIndexesBuiltOnce) {
  const auto a = id_at(k_t0, 1);
  const auto b = id_at(k_t0 + 1, 2);
  publish_settled(a, 7, "evt_a", delivery_status::failed);
  publish_settled(b, 7, "evt_b", delivery_status::pending, k_t0 + 1);
  const auto statuses = keys(&database::impl::webhook_status);
  const auto times = keys(&database::impl::event_times);
  ASSERT_EQ(statuses.size(), 2u);
  ASSERT_EQ(times.size(), 2u);
  // As a version without the indexes left it.
  auto& d = db_->internals();
  for (const auto& k : statuses) ASSERT_TRUE(d.db->Delete({}, d.webhook_status, k).ok());
  for (const auto& k : times) ASSERT_TRUE(d.db->Delete({}, d.event_times, k).ok());
  ASSERT_TRUE(d.db->Delete({}, d.meta, "indexes.status_and_event_time").ok());
  reopen();
  EXPECT_EQ(keys(&database::impl::webhook_status), statuses);
  EXPECT_EQ(keys(&database::impl::event_times), times);
  EXPECT_EQ(store_->build_indexes().value(), 0u);  // once
}

TEST_F(DeliveryStore, RetentionRemovesFinishedDeliveriesWithAttemptsAndIndexEntries) {
  const auto old_done = id_at(k_t0, 1);
  const auto old_pending = id_at(k_t0 + 1, 2);
  const auto old_in_use = id_at(k_t0 + 2, 3);
  const auto old_failed = id_at(k_t0 + 3, 4);
  const auto young = id_at(k_t0 + 10 * k_day, 5);
  publish_settled(old_done, 7, "evt_1", delivery_status::succeeded);
  publish_settled(old_pending, 7, "evt_2", delivery_status::pending, k_t0 + 1);
  publish_settled(old_in_use, 7, "evt_3", delivery_status::failed, k_t0 + 2);
  publish_settled(old_failed, 8, "evt_4", delivery_status::failed, k_t0 + 3);
  publish_settled(young, 7, "evt_5", delivery_status::succeeded, k_t0 + 10 * k_day);

  const std::int64_t cutoff = k_t0 + k_day;
  std::vector<std::pair<std::string, std::string>> kept;
  std::optional<delivery_id> after;
  std::size_t removed = 0;
  do {
    // Steps of one: the cursor carries over without skipping or repeating.
    auto step = store_->remove_finished_before(
        cutoff, after, 1, [&](const delivery_id& id) { return id == old_in_use; });
    ASSERT_TRUE(step);
    removed += step->removed;
    for (auto& e : step->kept_events) kept.push_back(std::move(e));
    after = step->next_after;
  } while (after);
  EXPECT_EQ(removed, 2u);
  EXPECT_EQ(kept, (std::vector<std::pair<std::string, std::string>>{{"acme", "evt_2"},
                                                                    {"acme", "evt_3"}}));
  EXPECT_EQ(store_->get(old_done).error(), errc::not_found);
  EXPECT_EQ(store_->get(old_failed).error(), errc::not_found);
  EXPECT_TRUE(store_->attempts(old_done)->empty());
  EXPECT_EQ(store_->get(old_pending)->status, delivery_status::pending);
  EXPECT_EQ(store_->get(old_in_use)->status, delivery_status::failed);
  EXPECT_EQ(store_->attempts(old_in_use)->size(), 1u);
  EXPECT_EQ(store_->get(young)->status, delivery_status::succeeded);
  EXPECT_EQ(store_->attempts(young)->size(), 1u);
  EXPECT_EQ(keys(&database::impl::webhook_status),
            (std::vector<std::string>{status_key(7, delivery_status::pending, old_pending),
                                      status_key(7, delivery_status::succeeded, young),
                                      status_key(7, delivery_status::failed, old_in_use)}));
  EXPECT_EQ(keys(&database::impl::webhook_deliveries).size(), 3u);

  auto events = store_->remove_events_before(cutoff, [&](std::string_view a, std::string_view id) {
    for (const auto& [ka, kid] : kept) {
      if (ka == a && kid == id) return true;
    }
    return false;
  });
  ASSERT_TRUE(events);
  EXPECT_EQ(*events, 2u);  // evt_1 and evt_4
  EXPECT_EQ(store_->find_event("acme", "evt_1").error(), errc::not_found);
  EXPECT_TRUE(store_->find_event("acme", "evt_2"));
  EXPECT_TRUE(store_->find_event("acme", "evt_3"));
  EXPECT_TRUE(store_->find_event("acme", "evt_5"));
  EXPECT_EQ(keys(&database::impl::event_times).size(), 3u);
}

// Retention's range deletions and new records meet in one memtable, whose inserts of
// delivery ids take a hint (store/database.cpp): runs of many records, single records
// between kept ones, and deliveries published and settled after and between the
// removals all read back exactly, in order, before and after a flush.
TEST_F(DeliveryStore, RetentionRangesAndNewDeliveriesShareAMemtable) {
  std::vector<delivery_id> expected;
  std::uint32_t n = 0;
  auto add = [&](std::int64_t at, delivery_status status, bool stays) {
    ++n;
    const auto id = id_at(at, n);
    publish_settled(id, 7, "evt_" + std::to_string(n), status, at);
    if (stays) expected.push_back(id);
  };
  // Old: a run of 40 finished, a pending one, a run of 1, a pending one, a run of 25.
  for (int i = 0; i < 40; ++i) add(k_t0 + i, delivery_status::succeeded, false);
  add(k_t0 + 100, delivery_status::pending, true);
  add(k_t0 + 101, delivery_status::failed, false);
  add(k_t0 + 102, delivery_status::pending, true);
  for (int i = 0; i < 25; ++i) add(k_t0 + 200 + i, delivery_status::succeeded, false);
  const std::int64_t cutoff = k_t0 + k_day;
  remove_all_finished_before(cutoff);
  // Young ones after the ranges, settled out of order, then more old ones among the
  // removed keys: every insert lands beside range tombstones.
  for (int i = 0; i < 30; ++i) add(k_t0 + 2 * k_day + i, delivery_status::pending, true);
  for (int i = 0; i < 30; i += 3) {
    auto d = store_->get(expected[expected.size() - 30 + static_cast<std::size_t>(i)]).value();
    auto after = d;
    after.status = delivery_status::succeeded;
    after.next_attempt_at_ms = 0;
    auto w = store_->writes();
    w.update(after, d.next_attempt_at_ms, delivery_status::pending, nullptr);
    ASSERT_TRUE(store_->commit(w));
  }
  for (int i = 0; i < 10; ++i) add(k_t0 + 300 + i, delivery_status::succeeded, false);
  remove_all_finished_before(cutoff);
  std::sort(expected.begin(), expected.end());

  auto ids_on_record = [&] {
    std::vector<delivery_id> ids;
    for (const auto& key : keys(&database::impl::deliveries)) {
      delivery_id id{};
      EXPECT_EQ(key.size(), id.size());
      std::copy(key.begin(), key.end(), id.begin());
      ids.push_back(id);
    }
    return ids;
  };
  EXPECT_EQ(ids_on_record(), expected);
  for (const auto& id : expected) EXPECT_TRUE(store_->get(id));
  auto& d = db_->internals();
  for (auto* family : d.handles) ASSERT_TRUE(d.db->Flush({}, family).ok());
  EXPECT_EQ(ids_on_record(), expected);
  reopen();
  EXPECT_EQ(ids_on_record(), expected);
}

// An older hookd's retention started its range deletions at a delivery id, and a kill
// can leave them in the write-ahead log: the open replays them before the deliveries'
// insert hint is armed, and the records read back as that hookd left them.
TEST_F(DeliveryStore, AnOlderHookdsRangeDeletionsReplayFromTheLog) {
  std::vector<delivery_id> written;
  for (std::uint32_t n = 1; n <= 40; ++n) written.push_back(id_at(k_t0 + n, n));
  store_.reset();
  db_.reset();  // closed cleanly: the families exist, the log is empty
  {
    // That hookd, writing as it did, then killed: nothing flushed.
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies({}, (dir_ / "db").string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::DBOptions(), (dir_ / "db").string(), families, &handles, &raw)
            .ok());
    rocksdb::ColumnFamilyHandle* deliveries = nullptr;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "deliveries") deliveries = handles[i];
    }
    ASSERT_NE(deliveries, nullptr);
    auto key = [](const delivery_id& id) {
      return rocksdb::Slice(reinterpret_cast<const char*>(id.data()), id.size());
    };
    rocksdb::WriteBatch wb;
    for (const auto& id : written)
      wb.Put(deliveries, key(id), encode_delivery(delivery(id, 7, "evt_1")));
    // Ids 11 to 30 removed as it did: one range from the first id.
    wb.DeleteRange(deliveries, key(written[10]), key(written[30]));
    ASSERT_TRUE(raw->Write(rocksdb::WriteOptions(), &wb).ok());
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;  // RocksDB's close flushes nothing while the log is on
  }
  reopen();
  // This hookd writes beside the replayed entries, with the hint.
  for (std::uint32_t n = 41; n <= 60; ++n) {
    written.push_back(id_at(k_t0 + n, n));
    publish_settled(written.back(), 7, "evt_" + std::to_string(n), delivery_status::pending,
                    k_t0 + n);
  }
  std::vector<delivery_id> expected(written.begin(), written.begin() + 10);
  expected.insert(expected.end(), written.begin() + 30, written.end());
  std::vector<delivery_id> on_record;
  for (const auto& key : keys(&database::impl::deliveries)) {
    delivery_id id{};
    ASSERT_EQ(key.size(), id.size());
    std::copy(key.begin(), key.end(), id.begin());
    on_record.push_back(id);
  }
  EXPECT_EQ(on_record, expected);
}

TEST_F(DeliveryStore, RetentionReturnsTheSpaceOfDeliveriesAndAttemptsToTheFileSystem) {
  auto& d = db_->internals();
  // Attempts with a full 1 KiB response excerpt each, in files on disk.
  std::string excerpt;
  for (int i = 0; excerpt.size() < 1'024; ++i) excerpt += std::to_string(i * 7919);
  for (std::uint32_t n = 1; n <= 3'000; ++n) {
    publish_settled(id_at(k_t0 + n, n), 7, "evt_" + std::to_string(n), delivery_status::succeeded,
                    k_t0 + n, "{}", excerpt);
  }
  // One still pending in the middle, which stays.
  const auto pending = id_at(k_t0 + 1'500, 90'000);
  publish_settled(pending, 7, "evt_pending", delivery_status::pending, k_t0 + 1'500);
  for (auto* family : d.handles) ASSERT_TRUE(d.db->Flush({}, family).ok());
  auto sst_bytes = [&] {
    std::uint64_t total = 0;
    for (auto* family : {d.deliveries, d.attempts, d.event_times}) {
      std::uint64_t v = 0;
      EXPECT_TRUE(d.db->GetIntProperty(family, "rocksdb.total-sst-files-size", &v));
      total += v;
    }
    return total;
  };
  const auto before = sst_bytes();
  ASSERT_GT(before, 1'000'000u);

  const std::int64_t cutoff = k_t0 + k_day;
  remove_all_finished_before(cutoff);
  ASSERT_EQ(*store_->remove_events_before(
                cutoff, [](std::string_view, std::string_view id) { return id == "evt_pending"; }),
            3'000u);
  ASSERT_TRUE(store_->compact_before(cutoff));
  const auto after_bytes = sst_bytes();
  EXPECT_LT(after_bytes, before / 10) << before << " -> " << after_bytes;
  EXPECT_EQ(store_->get(pending)->status, delivery_status::pending);
  EXPECT_TRUE(store_->find_event("acme", "evt_pending"));
}

}  // namespace
}  // namespace hookd::store
