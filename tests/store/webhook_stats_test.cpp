// Per-webhook statistics in RocksDB (store/webhook_stats.hpp): outcome batches add to
// hourly buckets in their own write, a batch written again after a refused write counts
// once, deleting a webhook deletes its statistics, and retention's cutoff drops old
// buckets when compaction meets them.
#include "store/webhook_stats.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "store/database.hpp"
#include "store/database_impl.hpp"
#include "store/delivery_queue.hpp"
#include "store/webhook_registry.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::store {
namespace {

constexpr std::int64_t k_hour = 3'600'000;
constexpr std::int64_t k_t0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z, on the hour

delivery_id id_of(std::uint32_t n) {
  delivery_id id{};
  id[6] = 0x70;
  for (std::size_t i = 0; i < 4; ++i) id[12 + i] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  return id;
}

class WebhookStats : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ =
        std::move(database::open({.path = dir_ / "db",
                                  .space = {.min_free = std::uint64_t{64} << 20,
                                            .probe =
                                                [this](const std::filesystem::path&) {
                                                  return std::optional<std::uint64_t>(free_.load());
                                                }}})
                      .value());
    store_ = std::make_unique<delivery_queue>(*db_);
  }

  // One delivery of `webhook` published and settled to `status` by an attempt at `at`.
  void settle(delivery_writes& w, std::uint32_t n, std::uint64_t webhook, delivery_status status,
              std::int64_t at, std::uint32_t duration_ms = 10) {
    delivery_record d;
    d.id = id_of(n);
    d.webhook_id = webhook;
    d.account = "acme";
    d.event_id = "evt_" + std::to_string(n);
    d.event_type = "customer_created";
    d.created_at_ms = d.updated_at_ms = d.next_attempt_at_ms = at;
    ASSERT_TRUE(store_->publish(event_record{"acme", d.event_id, "customer_created", at, "{}", 1},
                                {&d, 1}));
    auto after = d;
    after.status = status;
    after.attempts = 1;
    after.next_attempt_at_ms = status == delivery_status::pending ? at + 10'000 : 0;
    attempt_record a;
    a.number = 1;
    a.at_ms = at;
    a.duration_ms = duration_ms;
    a.status_code = status == delivery_status::succeeded ? 200 : 500;
    w.update(after, d.next_attempt_at_ms, delivery_status::pending, &a);
  }

  std::vector<stats_bucket> read(std::uint64_t webhook, std::int64_t from = 0,
                                 std::int64_t to = INT64_MAX / 2) {
    return read_webhook_stats(*db_, webhook, from, to).value();
  }

  test::temp_dir dir_;
  std::atomic<std::uint64_t> free_{std::uint64_t{1} << 40};
  std::unique_ptr<database> db_;
  std::unique_ptr<delivery_queue> store_;
};

TEST_F(WebhookStats, ABatchAddsItsAttemptsToTheirWebhooksHours) {
  auto w = store_->writes();
  settle(w, 1, 7, delivery_status::succeeded, k_t0 + 5, 10);
  settle(w, 2, 7, delivery_status::pending, k_t0 + 6, 20);          // will be retried
  settle(w, 3, 7, delivery_status::failed, k_t0 + k_hour + 1, 30);  // given up, next hour
  settle(w, 4, 8, delivery_status::succeeded, k_t0 + 7, 40);        // another webhook
  ASSERT_TRUE(store_->commit(w));
  auto w2 = store_->writes();
  settle(w2, 5, 7, delivery_status::succeeded, k_t0 + 8, 50);  // a second batch, same hour
  ASSERT_TRUE(store_->commit(w2));

  const auto seven = read(7);
  ASSERT_EQ(seven.size(), 2u);
  EXPECT_EQ(seven[0].start_ms, k_t0);
  EXPECT_EQ(seven[0].counts, (stats_counts{.attempts = 3,
                                           .succeeded = 2,
                                           .failed_attempts = 1,
                                           .failed_deliveries = 0,
                                           .duration_ms = 80}));
  EXPECT_EQ(seven[1].start_ms, k_t0 + k_hour);
  EXPECT_EQ(seven[1].counts, (stats_counts{.attempts = 1,
                                           .succeeded = 0,
                                           .failed_attempts = 1,
                                           .failed_deliveries = 1,
                                           .duration_ms = 30}));
  const auto eight = read(8);
  ASSERT_EQ(eight.size(), 1u);
  EXPECT_EQ(eight[0].counts.succeeded, 1u);
  // The range is [from, to): the second hour alone.
  EXPECT_EQ(read(7, k_t0 + k_hour, k_t0 + 2 * k_hour).size(), 1u);
  EXPECT_TRUE(read(9).empty());
}

TEST_F(WebhookStats, ABatchWrittenAgainAfterARefusalCountsOnce) {
  auto w = store_->writes();
  settle(w, 1, 7, delivery_status::succeeded, k_t0);
  settle(w, 2, 7, delivery_status::succeeded, k_t0);
  // The disk fills: outcome writes wait (critical), and the batch is kept.
  free_ = std::uint64_t{1} << 20;
  db_->check_space();
  auto refused = store_->commit(w);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::storage_full);
  free_ = std::uint64_t{1} << 40;
  db_->check_space();
  ASSERT_TRUE(store_->commit(w));
  const auto stats = read(7);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].counts.attempts, 2u);
  EXPECT_EQ(stats[0].counts.succeeded, 2u);
}

TEST_F(WebhookStats, DeletingAWebhookDeletesItsStatistics) {
  auto registry = webhook_registry::open(*db_).value();
  webhook_record r;
  r.account = "acme";
  r.name = "n";
  r.url = "https://example.com/h";
  r.http_method = "POST";
  r.secret = "whsec_x";
  const auto kept = registry->create(r).value();
  const auto gone = registry->create(r).value();
  auto w = store_->writes();
  settle(w, 1, kept.id, delivery_status::succeeded, k_t0);
  settle(w, 2, gone.id, delivery_status::succeeded, k_t0);
  settle(w, 3, gone.id, delivery_status::succeeded, k_t0 + 5 * k_hour);
  ASSERT_TRUE(store_->commit(w));
  ASSERT_EQ(read(gone.id).size(), 2u);
  ASSERT_TRUE(registry->remove(gone.id));
  EXPECT_TRUE(read(gone.id).empty());
  EXPECT_EQ(read(kept.id).size(), 1u);
}

TEST_F(WebhookStats, BucketsThatEndedBeforeTheCutoffGoWithCompaction) {
  auto w = store_->writes();
  settle(w, 1, 7, delivery_status::succeeded, k_t0);
  settle(w, 2, 7, delivery_status::succeeded, k_t0 + k_hour);
  settle(w, 3, 7, delivery_status::succeeded, k_t0 + 2 * k_hour);
  ASSERT_TRUE(store_->commit(w));
  // A cutoff inside the second hour: the first ended before it, the second did not.
  db_->expire_stats_before(k_t0 + k_hour + 1);
  auto& d = db_->internals();
  ASSERT_TRUE(d.db->Flush(rocksdb::FlushOptions(), d.webhook_stats).ok());
  ASSERT_TRUE(
      d.db->CompactRange(rocksdb::CompactRangeOptions(), d.webhook_stats, nullptr, nullptr).ok());
  const auto left = read(7);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].start_ms, k_t0 + k_hour);
  EXPECT_EQ(left[1].start_ms, k_t0 + 2 * k_hour);
}

TEST_F(WebhookStats, MergingAddsFieldByFieldAndKeepsFieldsItDoesNotKnow) {
  stats_merge_operator add;
  const std::string a = encode_stats({1, 2, 3, 4, 5});
  std::string b = encode_stats({10, 20, 30, 40, 50});
  b.append(8, '\x01');  // a sixth field, from a later version
  const rocksdb::Slice existing(a);
  std::string merged;
  ASSERT_TRUE(add.Merge("k", &existing, b, &merged, nullptr));
  EXPECT_EQ(decode_stats(merged), (stats_counts{11, 22, 33, 44, 55}));
  EXPECT_EQ(merged.size(), 48u);
  EXPECT_EQ(merged.substr(40), std::string(8, '\x01'));
}

}  // namespace
}  // namespace hookd::store
