// The delivery queue's contract (engine/delivery/delivery_queue.hpp), held against
// both implementations: local_queue over RocksDB and the tests' memory_queue. Leases
// from append and claim, due-ordered claims per partition, lease expiry, release and
// extend, settlements with and without a hold (and the claim cursor coming back for
// them), claim_one, cancel_webhook, history paging and failed_since. Time is passed
// in as now_ms: nothing here reads a clock. Fault injection exists only in the fake,
// so its suite is instantiated for the fake alone.
#include "engine/delivery/delivery_queue.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/delivery/local_queue.hpp"
#include "store/database.hpp"
#include "store/delivery_queue.hpp"
#include "store/delivery_records.hpp"
#include "tests/support/memory_queue.hpp"
#include "tests/support/store_printers.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::engine {
namespace {

using namespace std::chrono_literals;
using store::delivery_id;
using store::delivery_record;
using store::delivery_status;
using ids = std::vector<delivery_id>;
constexpr auto oldest = store::list_order::oldest_first;
constexpr auto newest = store::list_order::newest_first;

constexpr std::int64_t k_t0 = 1'800'000'000'000;

// The fake, as the dispatcher's tests use it.
struct memory_impl {
  test::memory_queue queue;
  delivery_queue& get() { return queue; }
};

// The real one on a fresh RocksDB folder.
struct local_impl {
  local_impl()
      : db(store::database::open({.path = dir / "db"}).value()),
        records(std::make_unique<store::delivery_queue>(*db)),
        queue(std::make_unique<local_queue>(*records)) {}
  delivery_queue& get() { return *queue; }

  test::temp_dir dir;
  std::unique_ptr<store::database> db;
  std::unique_ptr<store::delivery_queue> records;
  std::unique_ptr<local_queue> queue;
};

// Ids laid out as UUIDv7: the creation millisecond (k_t0 + n, the delivery's
// created_at_ms) in the first six bytes, n in the eighth, spread bits in the last
// eight (the lease table hashes those).
delivery_id id_of(std::uint64_t n) {
  delivery_id id{};
  const auto ms = static_cast<std::uint64_t>(k_t0) + n;
  const std::uint64_t mixed = (n + 1) * 0x9e3779b97f4a7c15ULL;
  for (std::size_t i = 0; i < 6; ++i) id[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  id[6] = 0x70;
  id[7] = static_cast<std::uint8_t>(n);
  for (std::size_t i = 0; i < 8; ++i) id[8 + i] = static_cast<std::uint8_t>(mixed >> (8 * i));
  return id;
}

template <class Impl>
class DeliveryQueue : public ::testing::Test {
 protected:
  delivery_queue& q() { return impl_.get(); }

  static store::event_record event(const std::string& id, const std::string& payload = "{}") {
    return store::event_record{"acme", id, "customer_created", k_t0, payload, 0};
  }

  // Delivery number n (creation order) of `event_id` to `webhook`, due at `due`.
  static delivery_record delivery(std::uint64_t n, std::uint64_t webhook, std::int64_t due,
                                  const std::string& event_id = "evt_1") {
    delivery_record d;
    d.id = id_of(n);
    d.webhook_id = webhook;
    d.account = "acme";
    d.event_id = event_id;
    d.event_type = "customer_created";
    d.status = delivery_status::pending;
    d.created_at_ms = d.updated_at_ms = k_t0 + static_cast<std::int64_t>(n);
    d.next_attempt_at_ms = due;
    return d;
  }

  // Appends with a lease that has already run out: claimable at once.
  void add(const store::event_record& e, const std::vector<delivery_record>& ds) {
    ASSERT_TRUE(q().append(e, ds, k_t0, 0ms));
  }

  std::vector<delivery_job> claim_jobs(std::int64_t now, std::int64_t due_by, std::size_t max = 100,
                                       std::chrono::milliseconds lease = 10s, partition part = {}) {
    auto r = q().claim(claim_request{.now_ms = now,
                                     .due_by_ms = due_by,
                                     .max = max,
                                     .lease = lease,
                                     .part = part,
                                     .admit = nullptr,
                                     .max_scan = claim_request::k_max_scan});
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(r->jobs) : std::vector<delivery_job>{};
  }

  ids claim(std::int64_t now, std::int64_t due_by, std::size_t max = 100,
            std::chrono::milliseconds lease = 10s, partition part = {}) {
    ids out;
    for (const auto& j : claim_jobs(now, due_by, max, lease, part)) out.push_back(j.record.id);
    return out;
  }

  // `before` after an attempt that leaves it `status`, due at `next` when pending.
  static settlement after_attempt(const delivery_record& before, delivery_status status,
                                  std::int64_t now, std::int64_t next = 0,
                                  std::int64_t hold_until = 0) {
    settlement s;
    s.after = before;
    s.after.status = status;
    s.after.attempts = before.attempts + 1;
    s.after.updated_at_ms = now;
    s.after.next_attempt_at_ms = next;
    s.previous_due_ms = before.next_attempt_at_ms;
    s.attempt = store::attempt_record{
        .number = s.after.attempts,
        .at_ms = now,
        .duration_ms = 12,
        .status_code = status == delivery_status::succeeded ? 200u : 500u,
        .error_kind = status == delivery_status::succeeded ? "" : "http_status",
        .error = status == delivery_status::succeeded ? "" : "HTTP 500",
        .response_excerpt = "ok",
        .manual = false};
    s.hold_until_ms = hold_until;
    return s;
  }

  void settle(const settlement& s, std::int64_t now) {
    auto r = q().settle(std::span<const settlement>(&s, 1), now);
    ASSERT_TRUE(r) << r.error().message();
  }

  delivery_record get(const delivery_id& id) {
    auto r = q().get(id);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : delivery_record{};
  }

  Impl impl_;
};

// Unnamed instantiations: ctest's test discovery shows each as
// DeliveryQueue.<test><...memory_impl> or <...local_impl>.
using implementations = ::testing::Types<memory_impl, local_impl>;
TYPED_TEST_SUITE(DeliveryQueue, implementations);

// ---- append and leases ----------------------------------------------------------------

TYPED_TEST(DeliveryQueue, AppendLeasesItsDeliveriesToTheAppenderUntilTheLeaseEnds) {
  const auto e = this->event("evt_1");
  const std::vector<delivery_record> ds = {this->delivery(1, 1, k_t0), this->delivery(2, 1, k_t0),
                                           this->delivery(3, 2, k_t0)};
  ASSERT_TRUE(this->q().append(e, ds, k_t0, 30s));

  EXPECT_EQ(this->claim(k_t0, k_t0 + 60'000), ids{});
  EXPECT_EQ(this->claim(k_t0 + 29'999, k_t0 + 60'000), ids{});
  EXPECT_EQ(this->claim(k_t0 + 30'000, k_t0 + 60'000), (ids{id_of(1), id_of(2), id_of(3)}));
}

TYPED_TEST(DeliveryQueue, ClaimReturnsDueDeliveriesOldestDueFirstUpToMaxWithTheirEvents) {
  const auto e1 = this->event("evt_1", R"({"n": 1})");
  const auto e2 = this->event("evt_2", R"({"n": 2})");
  this->add(e1, {this->delivery(1, 1, k_t0 + 300), this->delivery(2, 1, k_t0 + 100)});
  this->add(e2,
            {this->delivery(3, 1, k_t0 + 200, "evt_2"), this->delivery(4, 1, k_t0 + 100, "evt_2"),
             this->delivery(5, 1, k_t0 + 5'000, "evt_2")});

  const auto first = this->claim_jobs(k_t0, k_t0 + 1'000, 3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].record, this->delivery(2, 1, k_t0 + 100));
  EXPECT_EQ(first[1].record, this->delivery(4, 1, k_t0 + 100, "evt_2"));
  EXPECT_EQ(first[2].record, this->delivery(3, 1, k_t0 + 200, "evt_2"));
  ASSERT_TRUE(first[0].event && first[1].event && first[2].event);
  EXPECT_EQ(first[0].event->payload, R"({"n": 1})");
  EXPECT_EQ(first[0].event->id, "evt_1");
  EXPECT_EQ(first[0].event->type, "customer_created");
  EXPECT_EQ(first[0].event->account, "acme");
  EXPECT_EQ(first[1].event->payload, R"({"n": 2})");
  EXPECT_EQ(first[2].event->payload, R"({"n": 2})");

  // The rest that is due; the one due after due_by stays.
  EXPECT_EQ(this->claim(k_t0, k_t0 + 1'000), ids{id_of(1)});
}

TYPED_TEST(DeliveryQueue, ClaimTakesOnlyDeliveriesDueByDueBy) {
  this->add(this->event("evt_1"),
            {this->delivery(1, 1, k_t0 + 1'000), this->delivery(2, 1, k_t0 + 1'001)});
  EXPECT_EQ(this->claim(k_t0, k_t0 + 999), ids{});
  EXPECT_EQ(this->claim(k_t0, k_t0 + 1'000), ids{id_of(1)});
  EXPECT_EQ(this->claim(k_t0, k_t0 + 1'000), ids{});
  EXPECT_EQ(this->claim(k_t0, k_t0 + 1'001), ids{id_of(2)});
}

TYPED_TEST(DeliveryQueue, ClaimTakesOnlyDeliveriesOfItsPartition) {
  this->add(this->event("evt_1"), {this->delivery(1, 1, k_t0), this->delivery(2, 2, k_t0),
                                   this->delivery(3, 3, k_t0), this->delivery(4, 4, k_t0)});
  EXPECT_EQ(this->claim(k_t0, k_t0, 100, 10s, partition{0, 2}), (ids{id_of(2), id_of(4)}));
  EXPECT_EQ(this->claim(k_t0, k_t0, 100, 10s, partition{1, 2}), (ids{id_of(1), id_of(3)}));
  EXPECT_EQ(this->claim(k_t0, k_t0, 100, 10s, partition{0, 2}), ids{});
}

TYPED_TEST(DeliveryQueue, ClaimSkipsWhatAdmitRefusesAndALaterClaimComesBackToIt) {
  std::vector<delivery_record> ds;
  for (std::uint64_t n = 1; n <= 5; ++n) ds.push_back(this->delivery(n, 1, k_t0));
  for (std::uint64_t n = 6; n <= 8; ++n) ds.push_back(this->delivery(n, 2, k_t0 + 1));
  this->add(this->event("evt_1"), ds);
  auto refuse_1 = [](std::uint64_t webhook, std::int64_t) { return webhook != 1; };
  auto first = this->q().claim(claim_request{.now_ms = k_t0,
                                             .due_by_ms = k_t0 + 10,
                                             .max = 100,
                                             .lease = 10s,
                                             .part = {},
                                             .admit = refuse_1,
                                             .max_scan = claim_request::k_max_scan});
  ASSERT_TRUE(first);
  ids got;
  for (const auto& j : first->jobs) got.push_back(j.record.id);
  // Webhook 2's, due after webhook 1's, are not held back by them.
  EXPECT_EQ(got, (ids{id_of(6), id_of(7), id_of(8)}));
  EXPECT_TRUE(first->skipped);
  EXPECT_FALSE(first->more);
  // Nothing was leased for the skipped ones: the next claim takes them, oldest first.
  EXPECT_EQ(this->claim(k_t0, k_t0 + 10), (ids{id_of(1), id_of(2), id_of(3), id_of(4), id_of(5)}));
}

TYPED_TEST(DeliveryQueue, ClaimStoppedAtMaxSaysThereIsMore) {
  std::vector<delivery_record> ds;
  for (std::uint64_t n = 1; n <= 3; ++n) ds.push_back(this->delivery(n, 1, k_t0));
  this->add(this->event("evt_1"), ds);
  auto r = this->q().claim(claim_request{.now_ms = k_t0,
                                         .due_by_ms = k_t0,
                                         .max = 2,
                                         .lease = 10s,
                                         .part = {},
                                         .admit = nullptr,
                                         .max_scan = claim_request::k_max_scan});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->jobs.size(), 2u);
  EXPECT_TRUE(r->more);
  EXPECT_FALSE(r->skipped);
}

TYPED_TEST(DeliveryQueue, ClaimedDeliveryWhoseLeaseRunsOutWithoutSettlementIsClaimableAgain) {
  this->add(this->event("evt_1"), {this->delivery(1, 1, k_t0), this->delivery(2, 1, k_t0 + 10)});
  ASSERT_EQ(this->claim(k_t0, k_t0 + 60'000, 100, 10s), (ids{id_of(1), id_of(2)}));

  // The holder crashed: nothing is settled, the leases run out.
  EXPECT_EQ(this->claim(k_t0 + 9'999, k_t0 + 60'000), ids{});
  const auto again = this->claim_jobs(k_t0 + 10'000, k_t0 + 60'000);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].record, this->delivery(1, 1, k_t0));
  EXPECT_EQ(again[1].record, this->delivery(2, 1, k_t0 + 10));
}

TYPED_TEST(DeliveryQueue, ReleaseMakesADeliveryClaimableAtOnce) {
  this->add(this->event("evt_1"), {this->delivery(1, 1, k_t0), this->delivery(2, 1, k_t0)});
  ASSERT_EQ(this->claim(k_t0, k_t0), (ids{id_of(1), id_of(2)}));
  const ids back = {id_of(2)};
  this->q().release(back);
  EXPECT_EQ(this->claim(k_t0, k_t0), ids{id_of(2)});
}

TYPED_TEST(DeliveryQueue, ExtendKeepsADeliveryLeasedPastItsOriginalExpiry) {
  this->add(this->event("evt_1"), {this->delivery(1, 1, k_t0)});
  ASSERT_EQ(this->claim(k_t0, k_t0, 100, 10s), ids{id_of(1)});
  const ids held = {id_of(1)};
  this->q().extend(held, k_t0 + 60'000);
  EXPECT_EQ(this->claim(k_t0 + 10'000, k_t0 + 10'000), ids{});
  EXPECT_EQ(this->claim(k_t0 + 59'999, k_t0 + 59'999), ids{});
  EXPECT_EQ(this->claim(k_t0 + 60'000, k_t0 + 60'000), ids{id_of(1)});
}

TYPED_TEST(DeliveryQueue, ExtendDoesNotLeaseADeliveryNobodyHolds) {
  this->add(this->event("evt_1"), {this->delivery(1, 1, k_t0)});
  ASSERT_EQ(this->claim(k_t0, k_t0), ids{id_of(1)});
  const ids held = {id_of(1)};
  this->q().release(held);
  this->q().extend(held, k_t0 + 60'000);
  EXPECT_EQ(this->claim(k_t0, k_t0), ids{id_of(1)});
}

// ---- settle ---------------------------------------------------------------------------

TYPED_TEST(DeliveryQueue, SucceededDeliveryIsNeverClaimableAgainAndShowsItsAttempt) {
  const auto d = this->delivery(1, 1, k_t0);
  this->add(this->event("evt_1"), {d});
  ASSERT_EQ(this->claim(k_t0, k_t0), ids{id_of(1)});
  const auto s = this->after_attempt(d, delivery_status::succeeded, k_t0 + 5);
  this->settle(s, k_t0 + 5);

  EXPECT_EQ(this->get(d.id), s.after);
  EXPECT_EQ(this->get(d.id).status, delivery_status::succeeded);
  auto attempts = this->q().attempts(d.id);
  ASSERT_TRUE(attempts);
  EXPECT_EQ(*attempts, std::vector<store::attempt_record>{*s.attempt});
  // Not when the old lease would have run out, not ever.
  EXPECT_EQ(this->claim(k_t0 + 10'000, k_t0 + 10'000), ids{});
  EXPECT_EQ(this->claim(k_t0 + 86'400'000, k_t0 + 86'400'000), ids{});
}

TYPED_TEST(DeliveryQueue, HeldRetryIsNotClaimableUntilTheHoldEndsThenWhenDue) {
  const auto d = this->delivery(1, 1, k_t0);
  this->add(this->event("evt_1"), {d});
  ASSERT_EQ(this->claim(k_t0, k_t0), ids{id_of(1)});
  const std::int64_t due = k_t0 + 10'000;
  const std::int64_t hold = due + 300'000;  // the holder keeps it on its timeline
  this->settle(this->after_attempt(d, delivery_status::pending, k_t0, due, hold), k_t0);

  EXPECT_EQ(this->get(d.id).next_attempt_at_ms, due);
  EXPECT_EQ(this->get(d.id).attempts, 1u);
  EXPECT_EQ(this->claim(due, due), ids{});
  EXPECT_EQ(this->claim(hold - 1, hold - 1), ids{});
  const auto jobs = this->claim_jobs(hold, hold);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].record.next_attempt_at_ms, due);
  EXPECT_EQ(jobs[0].record.attempts, 1u);
}

TYPED_TEST(DeliveryQueue, HoldShorterThanTheDueTimeLastsUntilTheDueTime) {
  const auto d = this->delivery(1, 1, k_t0);
  this->add(this->event("evt_1"), {d});
  ASSERT_EQ(this->claim(k_t0, k_t0), ids{id_of(1)});
  const std::int64_t due = k_t0 + 10'000;
  this->settle(this->after_attempt(d, delivery_status::pending, k_t0, due, k_t0 + 1'000), k_t0);
  EXPECT_EQ(this->claim(k_t0 + 5'000, due + 60'000), ids{});
  EXPECT_EQ(this->claim(due, due), ids{id_of(1)});
}

TYPED_TEST(DeliveryQueue, RetryWithoutHoldIsClaimableOnceDue) {
  const auto d = this->delivery(1, 1, k_t0);
  this->add(this->event("evt_1"), {d});
  ASSERT_EQ(this->claim(k_t0, k_t0), ids{id_of(1)});
  const std::int64_t due = k_t0 + 10'000;
  this->settle(this->after_attempt(d, delivery_status::pending, k_t0, due), k_t0);
  EXPECT_EQ(this->claim(k_t0, due - 1), ids{});
  const auto jobs = this->claim_jobs(due, due);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].record.next_attempt_at_ms, due);
}

// A claim reads on from where the previous one stopped; a retry due before that point
// must still be found.
TYPED_TEST(DeliveryQueue, RetryDueBeforeWhereAnEarlierClaimStoppedIsClaimed) {
  const auto a = this->delivery(1, 1, k_t0);
  this->add(this->event("evt_1"), {a, this->delivery(2, 1, k_t0 + 50'000)});
  ASSERT_EQ(this->claim(k_t0, k_t0 + 60'000), (ids{id_of(1), id_of(2)}));
  this->settle(this->after_attempt(a, delivery_status::pending, k_t0, k_t0 + 5'000), k_t0);
  EXPECT_EQ(this->claim(k_t0 + 5'000, k_t0 + 65'000), ids{id_of(1)});
}

TYPED_TEST(DeliveryQueue, RetryDueBeforeWhereAClaimStoppedAtMaxIsClaimedInDueOrder) {
  const auto a = this->delivery(1, 1, k_t0);
  this->add(this->event("evt_1"),
            {a, this->delivery(2, 1, k_t0 + 1'000), this->delivery(3, 1, k_t0 + 2'000)});
  ASSERT_EQ(this->claim(k_t0, k_t0 + 10'000, 2), (ids{id_of(1), id_of(2)}));
  this->settle(this->after_attempt(a, delivery_status::pending, k_t0, k_t0 + 500), k_t0);
  EXPECT_EQ(this->claim(k_t0, k_t0 + 10'000), (ids{id_of(1), id_of(3)}));
}

TYPED_TEST(DeliveryQueue, SettleWritesABatchAndAttemptsAccumulate) {
  const auto a = this->delivery(1, 1, k_t0);
  const auto b = this->delivery(2, 1, k_t0);
  this->add(this->event("evt_1"), {a, b});
  ASSERT_EQ(this->claim(k_t0, k_t0), (ids{id_of(1), id_of(2)}));
  const auto a1 = this->after_attempt(a, delivery_status::pending, k_t0, k_t0 + 1'000);
  const auto b1 = this->after_attempt(b, delivery_status::failed, k_t0);
  const std::vector<settlement> batch = {a1, b1};
  ASSERT_TRUE(this->q().settle(batch, k_t0));
  ASSERT_EQ(this->claim(k_t0 + 1'000, k_t0 + 1'000), ids{id_of(1)});
  const auto a2 = this->after_attempt(a1.after, delivery_status::succeeded, k_t0 + 1'000);
  this->settle(a2, k_t0 + 1'000);

  EXPECT_EQ(this->get(a.id), a2.after);
  EXPECT_EQ(this->get(b.id), b1.after);
  EXPECT_EQ(this->q().attempts(a.id).value(),
            (std::vector<store::attempt_record>{*a1.attempt, *a2.attempt}));
  EXPECT_EQ(this->claim(k_t0 + 86'400'000, k_t0 + 86'400'000), ids{});
}

// ---- claim_one --------------------------------------------------------------------------

TYPED_TEST(DeliveryQueue, ClaimOneOfALeasedDeliveryIsAlreadyExists) {
  this->add(this->event("evt_1"), {this->delivery(1, 1, k_t0)});
  ASSERT_EQ(this->claim(k_t0, k_t0, 100, 10s), ids{id_of(1)});
  auto taken = this->q().claim_one(id_of(1), k_t0 + 1, 10s);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error(), errc::already_exists);
  const ids back = {id_of(1)};
  this->q().release(back);
  EXPECT_TRUE(this->q().claim_one(id_of(1), k_t0 + 1, 10s));
}

TYPED_TEST(DeliveryQueue, ClaimOneTakesAFailedDeliveryWithItsEventAndLeasesIt) {
  const auto d = this->delivery(1, 1, k_t0);
  this->add(this->event("evt_1", R"({"x": 1})"), {d});
  ASSERT_EQ(this->claim(k_t0, k_t0), ids{id_of(1)});
  const auto failed = this->after_attempt(d, delivery_status::failed, k_t0);
  this->settle(failed, k_t0);

  auto taken = this->q().claim_one(d.id, k_t0 + 1, 10s);
  ASSERT_TRUE(taken) << taken.error().message();
  EXPECT_EQ(taken->record, failed.after);
  ASSERT_TRUE(taken->event);
  EXPECT_EQ(taken->event->payload, R"({"x": 1})");
  auto again = this->q().claim_one(d.id, k_t0 + 2, 10s);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), errc::already_exists);
}

TYPED_TEST(DeliveryQueue, ClaimOneOfAnUnknownDeliveryIsNotFound) {
  auto taken = this->q().claim_one(id_of(99), k_t0, 10s);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error(), errc::not_found);
}

// ---- cancel_webhook ---------------------------------------------------------------------

TYPED_TEST(DeliveryQueue, CancelWebhookCancelsItsUnleasedPendingDeliveriesOnly) {
  const auto leased = this->delivery(2, 1, k_t0);
  const auto done = this->delivery(3, 1, k_t0);
  this->add(this->event("evt_1"), {this->delivery(1, 1, k_t0 + 60'000), leased, done,
                                   this->delivery(4, 2, k_t0 + 60'000)});
  ASSERT_EQ(this->claim(k_t0, k_t0, 100, 10s), (ids{id_of(2), id_of(3)}));
  this->settle(this->after_attempt(done, delivery_status::succeeded, k_t0), k_t0);

  auto n = this->q().cancel_webhook(1, k_t0 + 7);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 1u);
  const auto cancelled = this->get(id_of(1));
  EXPECT_EQ(cancelled.status, delivery_status::cancelled);
  EXPECT_EQ(cancelled.updated_at_ms, k_t0 + 7);
  EXPECT_EQ(cancelled.next_attempt_at_ms, 0);
  EXPECT_EQ(this->get(id_of(2)).status, delivery_status::pending);
  EXPECT_EQ(this->get(id_of(3)).status, delivery_status::succeeded);
  EXPECT_EQ(this->get(id_of(4)).status, delivery_status::pending);

  // The cancelled one is gone from the due queue; the leased one comes back when its
  // lease runs out, for its holder to settle; the other webhook's is untouched.
  EXPECT_EQ(this->claim(k_t0 + 10'000, k_t0 + 86'400'000), (ids{id_of(2), id_of(4)}));
}

TYPED_TEST(DeliveryQueue, CancelWebhookCountsADeliveryWhoseLeaseRanOutAsUnleased) {
  this->add(this->event("evt_1"), {this->delivery(1, 1, k_t0)});
  ASSERT_EQ(this->claim(k_t0, k_t0, 100, 10s), ids{id_of(1)});
  auto n = this->q().cancel_webhook(1, k_t0 + 10'000);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(this->get(id_of(1)).status, delivery_status::cancelled);
  EXPECT_EQ(this->claim(k_t0 + 10'000, k_t0 + 86'400'000), ids{});
}

// ---- history ------------------------------------------------------------------------------

TYPED_TEST(DeliveryQueue, ListPagesAWebhooksDeliveriesOldestFirstWithoutDuplicatesOrGaps) {
  std::vector<delivery_record> ds;
  ids expected;
  for (std::uint64_t n = 1; n <= 10; ++n) {
    const std::uint64_t webhook = n % 3 == 0 ? 2 : 1;  // 7 of webhook 1, interleaved
    ds.push_back(this->delivery(n, webhook, k_t0));
    if (webhook == 1) expected.push_back(id_of(n));
  }
  this->add(this->event("evt_1"), ds);

  ids seen;
  std::optional<delivery_id> after;
  std::vector<std::size_t> sizes;
  for (int page = 0; page < 10; ++page) {
    auto p = this->q().list(1, after, std::nullopt, 3, oldest);
    ASSERT_TRUE(p) << p.error().message();
    sizes.push_back(p->deliveries.size());
    for (const auto& d : p->deliveries) {
      EXPECT_EQ(d.webhook_id, 1u);
      seen.push_back(d.id);
    }
    if (!p->next_after) break;
    EXPECT_EQ(*p->next_after, p->deliveries.back().id);
    after = p->next_after;
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 1}));
}

TYPED_TEST(DeliveryQueue, ListNewestFirstPagesBackwardsThroughOneWebhooksDeliveries) {
  std::vector<delivery_record> ds;
  ids expected;  // webhook 1's, newest first
  for (std::uint64_t n = 1; n <= 10; ++n) {
    const std::uint64_t webhook = n % 3 == 0 ? 2 : 1;
    ds.push_back(this->delivery(n, webhook, k_t0));
    if (webhook == 1) expected.insert(expected.begin(), id_of(n));
  }
  this->add(this->event("evt_1"), ds);

  ids seen;
  std::optional<delivery_id> after;
  std::vector<std::size_t> sizes;
  for (int page = 0; page < 10; ++page) {
    auto p = this->q().list(1, after, std::nullopt, 3, newest);
    ASSERT_TRUE(p) << p.error().message();
    sizes.push_back(p->deliveries.size());
    for (const auto& d : p->deliveries) seen.push_back(d.id);
    if (!p->next_after) break;
    EXPECT_EQ(*p->next_after, p->deliveries.back().id);
    after = p->next_after;
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 1}));

  // With a status, from its own index, backwards too.
  auto pending = this->q().list(1, std::nullopt, delivery_status::pending, 2, newest);
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->deliveries.size(), 2u);
  EXPECT_EQ(pending->deliveries[0].id, expected[0]);
  EXPECT_EQ(pending->deliveries[1].id, expected[1]);
  // Webhook 2's newest is not webhook 1's: the scan stays under its own prefix.
  auto other = this->q().list(2, std::nullopt, std::nullopt, 10, newest);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->deliveries.size(), 3u);
  EXPECT_EQ(other->deliveries.front().id, id_of(9));
}

TYPED_TEST(DeliveryQueue, ListHasNoNextPageWhenTheLastPageIsExactlyFull) {
  this->add(this->event("evt_1"), {this->delivery(1, 1, k_t0), this->delivery(2, 1, k_t0),
                                   this->delivery(3, 1, k_t0), this->delivery(4, 1, k_t0)});
  auto first = this->q().list(1, std::nullopt, std::nullopt, 2, oldest);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->next_after);
  auto second = this->q().list(1, first->next_after, std::nullopt, 2, oldest);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->deliveries.size(), 2u);
  EXPECT_FALSE(second->next_after);
}

TYPED_TEST(DeliveryQueue, ListFiltersByStatus) {
  std::vector<delivery_record> ds;
  for (std::uint64_t n = 1; n <= 6; ++n) ds.push_back(this->delivery(n, 1, k_t0));
  this->add(this->event("evt_1"), ds);
  ASSERT_EQ(this->claim(k_t0, k_t0).size(), 6u);
  std::vector<settlement> batch;
  batch.reserve(ds.size());
  for (const auto& d : ds) {
    const std::uint64_t n = d.id[7];
    batch.push_back(this->after_attempt(
        d, n % 2 == 0 ? delivery_status::succeeded : delivery_status::failed, k_t0));
  }
  ASSERT_TRUE(this->q().settle(batch, k_t0));

  ids succeeded;
  std::optional<delivery_id> after;
  for (int page = 0; page < 10; ++page) {
    auto p = this->q().list(1, after, delivery_status::succeeded, 2, oldest);
    ASSERT_TRUE(p);
    for (const auto& d : p->deliveries) {
      EXPECT_EQ(d.status, delivery_status::succeeded);
      succeeded.push_back(d.id);
    }
    if (!p->next_after) break;
    after = p->next_after;
  }
  EXPECT_EQ(succeeded, (ids{id_of(2), id_of(4), id_of(6)}));
  auto pending = this->q().list(1, std::nullopt, delivery_status::pending, 10, oldest);
  ASSERT_TRUE(pending);
  EXPECT_TRUE(pending->deliveries.empty());
}

TYPED_TEST(DeliveryQueue, FailedSinceReturnsFailedDeliveriesCreatedAtOrAfterUpToLimit) {
  std::vector<delivery_record> ds;
  for (std::uint64_t n = 1; n <= 6; ++n) ds.push_back(this->delivery(n, 1, k_t0));
  ds.push_back(this->delivery(7, 2, k_t0));
  this->add(this->event("evt_1"), ds);
  ASSERT_EQ(this->claim(k_t0, k_t0).size(), 7u);
  std::vector<settlement> batch;
  batch.reserve(ds.size());
  for (const auto& d : ds) {
    // 5 succeeds; everything else fails.
    batch.push_back(this->after_attempt(
        d, d.id == id_of(5) ? delivery_status::succeeded : delivery_status::failed, k_t0));
  }
  ASSERT_TRUE(this->q().settle(batch, k_t0));

  auto since3 = this->q().failed_since(1, k_t0 + 3, 10);  // created_at is k_t0 + n
  ASSERT_TRUE(since3);
  ids got;
  for (const auto& d : *since3) got.push_back(d.id);
  EXPECT_EQ(got, (ids{id_of(3), id_of(4), id_of(6)}));

  auto limited = this->q().failed_since(1, k_t0, 2);
  ASSERT_TRUE(limited);
  got.clear();
  for (const auto& d : *limited) got.push_back(d.id);
  EXPECT_EQ(got, (ids{id_of(1), id_of(2)}));
}

TYPED_TEST(DeliveryQueue, GetAndFindEventReturnWhatWasAppendedAndNotFoundOtherwise) {
  const auto e = this->event("evt_1", R"({"k": "v"})");
  const auto d = this->delivery(1, 1, k_t0);
  this->add(e, {d});
  EXPECT_EQ(this->get(d.id), d);
  auto found = this->q().find_event("acme", "evt_1");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, e);

  auto missing = this->q().get(id_of(2));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), errc::not_found);
  auto other = this->q().find_event("globex", "evt_1");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error(), errc::not_found);
  auto none = this->q().attempts(d.id);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

// ---- the local queue's scan budget ----------------------------------------------------------

class LocalQueueScan : public DeliveryQueue<local_impl> {};

TEST_F(LocalQueueScan, ABacklogOfRefusedEntriesIsCrossedInBoundedStepsAndRevisitedAfterTheEnd) {
  auto& q = this->q();
  std::vector<delivery_record> ds;
  for (std::uint64_t n = 1; n <= 30; ++n) {
    ds.push_back(delivery(n, 1, k_t0));
  }
  for (std::uint64_t n = 31; n <= 33; ++n) {
    ds.push_back(delivery(n, 2, k_t0));
  }
  ASSERT_TRUE(q.append(event("evt_1"), ds, k_t0, 0ms));
  auto refuse_1 = [](std::uint64_t webhook, std::int64_t) { return webhook != 1; };
  ids got;
  int claims = 0;
  for (;;) {
    auto r = q.claim(claim_request{.now_ms = k_t0,
                                   .due_by_ms = k_t0,
                                   .max = 100,
                                   .lease = 10s,
                                   .part = {},
                                   .admit = refuse_1,
                                   .max_scan = 10});
    ASSERT_TRUE(r);
    ++claims;
    for (const auto& j : r->jobs) got.push_back(j.record.id);
    if (!r->more) {
      // The last one skipped nothing itself, but the cursor now returns to what the
      // first ones left behind: it says so, so the claimer comes back when it has room.
      EXPECT_TRUE(r->skipped);
      EXPECT_EQ(r->skipped_due_ms, k_t0);
      break;
    }
    ASSERT_LT(claims, 10) << "the claims never reached the end";
  }
  // Each claim read at most ten entries: four reached past the thirty refused ones.
  EXPECT_EQ(claims, 4);
  EXPECT_EQ(got, (ids{id_of(31), id_of(32), id_of(33)}));
  // Past the end, the next claim starts over at the first entry it left behind.
  auto again = q.claim(claim_request{.now_ms = k_t0,
                                     .due_by_ms = k_t0,
                                     .max = 5,
                                     .lease = 10s,
                                     .part = {},
                                     .admit = nullptr,
                                     .max_scan = claim_request::k_max_scan});
  ASSERT_TRUE(again);
  ASSERT_EQ(again->jobs.size(), 5u);
  EXPECT_EQ(again->jobs.front().record.id, id_of(1));
}

// ---- fault injection: the fake only -------------------------------------------------------

template <class Impl>
class DeliveryQueueWithFaults : public DeliveryQueue<Impl> {};

TYPED_TEST_SUITE(DeliveryQueueWithFaults, ::testing::Types<memory_impl>);

TYPED_TEST(DeliveryQueueWithFaults, RefusedSettleLeavesRecordsAttemptsAndLeasesAsTheyWere) {
  const auto a = this->delivery(1, 1, k_t0);
  const auto b = this->delivery(2, 1, k_t0);
  this->add(this->event("evt_1"), {a, b});
  ASSERT_EQ(this->claim(k_t0, k_t0, 100, 10s), (ids{id_of(1), id_of(2)}));

  this->impl_.queue.fail_next_settle(1);
  const std::vector<settlement> batch = {
      this->after_attempt(a, delivery_status::succeeded, k_t0 + 1),
      this->after_attempt(b, delivery_status::pending, k_t0 + 1, k_t0 + 1'000)};
  auto refused = this->q().settle(batch, k_t0 + 1);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::storage_io);
  EXPECT_FALSE(refused.error().detail.empty());
  EXPECT_EQ(this->impl_.queue.refused_settles(), 1u);

  EXPECT_EQ(this->get(a.id), a);
  EXPECT_EQ(this->get(b.id), b);
  EXPECT_TRUE(this->q().attempts(a.id)->empty());
  // The claim's leases still run, to their old end: not ended, not moved.
  EXPECT_EQ(this->claim(k_t0 + 9'999, k_t0 + 60'000), ids{});
  EXPECT_EQ(this->claim(k_t0 + 10'000, k_t0 + 60'000), (ids{id_of(1), id_of(2)}));

  // The same batch written again goes through.
  ASSERT_TRUE(this->q().settle(batch, k_t0 + 10'001));
  EXPECT_EQ(this->get(a.id).status, delivery_status::succeeded);
  EXPECT_EQ(this->get(b.id).next_attempt_at_ms, k_t0 + 1'000);
}

}  // namespace
}  // namespace hookd::engine
