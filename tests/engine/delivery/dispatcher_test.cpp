// The dispatcher (engine/delivery/dispatcher.hpp) against its seams only: the memory
// queue, the memory registry with webhook targets that follow its change
// feed, scripted fake receivers and a manual clock. No RocksDB, no sockets. Attempts,
// the retry schedule (nothing goes out early), exhaustion, 410, crashed attempts,
// refused writes, cancellation through the change feed, manual retries and the
// per-origin back-off.
#include "engine/delivery/dispatcher.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <future>

#include <gtest/gtest.h>

#include "engine/delivery/retry_policy.hpp"
#include "engine/registry/webhook_targets.hpp"
#include "engine/uuid.hpp"
#include "hookd/engine/clock.hpp"
#include "store/delivery_codec.hpp"
#include "store/delivery_records.hpp"
#include "tests/support/deterministic_random.hpp"
#include "tests/support/fake_sender.hpp"
#include "tests/support/memory_queue.hpp"
#include "tests/support/memory_registry.hpp"
#include "tests/support/progress.hpp"
#include "tests/support/store_printers.hpp"

namespace hookd::engine {
namespace {

using namespace std::chrono_literals;
using store::delivery_id;
using store::delivery_record;
using store::delivery_status;
using test::fake_reply;

constexpr std::int64_t k_t0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
// 24 bytes 0x00..0x17, base64.
constexpr std::string_view k_secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";
const std::string k_url_a = "http://a.test:8080/hooks";
const std::string k_url_b = "http://b.test:8080/hooks";
const std::string k_origin_a = "http://a.test:8080";

class Dispatcher : public ::testing::Test {
 protected:
  void SetUp() override {
    queue_.on_change([this] { progress_.notify(); });
    receivers_.on_event([this] { progress_.notify(); });
    // Registered before the dispatcher's own watcher, as the engine does: when the
    // dispatcher hears of a change, the targets already show it.
    registry_.watch([this](const registry_change& change) { targets_.forget(change.id); });
  }

  void TearDown() override {
    if (dispatcher_) dispatcher_->stop(0ms);
  }

  static dispatcher_options defaults() {
    return dispatcher_options{
        .threads = 2,
        .connections_per_origin = 32,
        .circuit = {},
        .policy = retry_policy({10s, 30s}, 0.0),
        .window = 5min,
        .lease = 5min,
    };
  }

  void start(dispatcher_options options = defaults()) {
    lease_ = options.lease;
    dispatcher_ = std::make_unique<dispatcher>(
        dispatcher::dependencies{
            .queue = &queue_,
            .webhooks = &registry_,
            .time_source = &clock_,
            .random = &random_,
            .senders = receivers_.senders(),
            .target = [this](std::uint64_t id) { return targets_.find(id); },
            .disable_webhook =
                [this](std::uint64_t id, std::string reason) {
                  {
                    std::lock_guard lock(disabled_mutex_);
                    disabled_.emplace_back(id, reason);
                  }
                  // As webhook_service::disable: deactivated with the reason, through
                  // the registry, whose change feed tells the dispatcher.
                  auto r = registry_.update(id, [&](webhook_record& w) {
                    w.active = false;
                    w.disabled_reason = reason;
                    return boost::system::error_code();
                  });
                  EXPECT_TRUE(r);
                },
            .progressed = [this] { progress_.notify(); },
            .settled = {},
        },
        std::move(options));
    dispatcher_->start();
  }

  std::uint64_t create_webhook(const std::string& url) {
    webhook_record w;
    w.account = "acme";
    w.name = "test";
    w.active = true;
    w.events = {"customer_created"};
    w.url = url;
    w.http_method = "POST";
    w.secret = std::string(k_secret);
    w.created_at_ms = w.updated_at_ms = clock_.now_ms();
    return registry_.create(w).value().id;
  }

  void set_active(std::uint64_t webhook, bool active) {
    ASSERT_TRUE(registry_.update(webhook, [&](webhook_record& w) {
      w.active = active;
      return boost::system::error_code();
    }));
  }

  // A new event with one delivery to `webhook`, due at `due` (now by default).
  std::pair<store::event_record, delivery_record> make(std::uint64_t webhook,
                                                       std::optional<std::int64_t> due = {}) {
    const std::int64_t now = clock_.now_ms();
    const std::string event_id = "evt_" + std::to_string(++events_);
    store::event_record e{"acme",
                          event_id,
                          "customer_created",
                          now,
                          R"({"customer": {"id": )" + std::to_string(events_) + "}}",
                          1};
    delivery_record d;
    d.id = make_uuid_v7(now, random_);
    d.webhook_id = webhook;
    d.account = "acme";
    d.event_id = event_id;
    d.event_type = "customer_created";
    d.status = delivery_status::pending;
    d.created_at_ms = d.updated_at_ms = now;
    d.next_attempt_at_ms = due.value_or(now);
    return {e, d};
  }

  // What publish does: appends (leased to this process) and hands the delivery over.
  delivery_id publish(std::uint64_t webhook) {
    auto [e, d] = make(webhook);
    const std::vector<delivery_record> ds = {d};
    EXPECT_TRUE(queue_.append(e, ds, clock_.now_ms(), lease_));
    auto data = std::make_shared<event_data>();
    data->account = e.account;
    data->id = e.id;
    data->type = e.type;
    data->payload = e.payload;
    dispatcher_->submit({delivery_job{d, data}});
    return d.id;
  }

  // A delivery that waits in the queue, held by nobody (written before a restart).
  delivery_id stored(std::uint64_t webhook, std::int64_t due) {
    auto [e, d] = make(webhook, due);
    const std::vector<delivery_record> ds = {d};
    EXPECT_TRUE(queue_.append(e, ds, clock_.now_ms(), 0ms));
    return d.id;
  }

  delivery_record record(const delivery_id& id) const { return queue_.get(id).value(); }
  std::vector<store::attempt_record> attempts(const delivery_id& id) const {
    return queue_.attempts(id).value();
  }

  // Waits until `done` holds: woken by the fake, the queue and every written batch.
  template <class F>
  void eventually(F done, const std::string& what) {
    ASSERT_TRUE(progress_.wait(done)) << "never happened: " << what;
  }
  void wait_attempted(const delivery_id& id, std::uint32_t n) {
    eventually([&] { return record(id).attempts >= n; },
               "attempt " + std::to_string(n) + " of " + format_uuid(id) + " written");
  }
  void wait_status(const delivery_id& id, delivery_status status) {
    eventually([&] { return record(id).status == status; },
               format_uuid(id) + " " + std::string(store::to_string(status)));
  }

  // Returns when every worker has run every handler queued so far, including those
  // the first round queued (an attempt's coroutine, a batch's write): after it, an
  // attempt that was going to start from what came before has started.
  void idle() {
    dispatcher_->sync();
    dispatcher_->sync();
  }

  // Moves the clock to t0 + offset and tells the dispatcher.
  void at(std::chrono::milliseconds offset) {
    clock_.set_ms(k_t0 + offset.count());
    dispatcher_->wake();
  }

  std::vector<std::int64_t> attempt_offsets(const delivery_id& id) const {
    std::vector<std::int64_t> out;
    for (const auto& a : attempts(id)) out.push_back(a.at_ms - k_t0);
    return out;
  }

  std::vector<std::pair<std::uint64_t, std::string>> disabled() {
    std::lock_guard lock(disabled_mutex_);
    return disabled_;
  }

  const dispatcher_stats& stats() const { return dispatcher_->stats(); }

  manual_clock clock_{k_t0};
  test::deterministic_random random_{11};
  test::progress progress_;
  test::memory_queue queue_;
  test::memory_registry registry_;
  test::fake_receivers receivers_;
  webhook_targets targets_{registry_, 0.0};
  std::mutex disabled_mutex_;
  std::vector<std::pair<std::uint64_t, std::string>> disabled_;
  std::chrono::milliseconds lease_{5min};
  int events_ = 0;
  std::unique_ptr<dispatcher> dispatcher_;  // last: stopped and destroyed first
};

TEST_F(Dispatcher, SubmittedDeliveryIsAttemptedOnceAndSettledSucceeded) {
  start();
  const auto hook = create_webhook(k_url_a);
  const auto id = publish(hook);
  wait_status(id, delivery_status::succeeded);
  idle();

  EXPECT_EQ(receivers_.attempts(k_url_a), 1u);
  const auto requests = receivers_.requests(k_url_a);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].delivery, format_uuid(id));
  EXPECT_NE(requests[0].body.find(R"("customer")"), std::string::npos);

  const auto d = record(id);
  EXPECT_EQ(d.attempts, 1u);
  EXPECT_EQ(d.next_attempt_at_ms, 0);
  const auto log = attempts(id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].number, 1u);
  EXPECT_EQ(log[0].status_code, 200u);
  EXPECT_EQ(log[0].at_ms, k_t0);
  EXPECT_EQ(log[0].error_kind, "");
  EXPECT_FALSE(log[0].manual);

  EXPECT_EQ(stats().attempts.load(), 1u);
  EXPECT_EQ(stats().succeeded.load(), 1u);
  EXPECT_EQ(stats().failed_attempts.load(), 0u);
  EXPECT_FALSE(dispatcher_->in_flight(hook, id));
  EXPECT_EQ(queue_.leased(), 0u);
}

TEST_F(Dispatcher, FailingDeliveryIsRetriedOnTheScheduleAndNothingGoesOutEarly) {
  receivers_.script(k_url_a, {fake_reply::status(500)});
  start();
  const auto id = publish(create_webhook(k_url_a));
  wait_attempted(id, 1);
  EXPECT_EQ(record(id).status, delivery_status::pending);
  EXPECT_EQ(record(id).next_attempt_at_ms, k_t0 + 10'000);

  at(10s - 1ms);
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 1u) << "attempt 2 went out before its time";
  at(10s);
  wait_attempted(id, 2);
  EXPECT_EQ(record(id).next_attempt_at_ms, k_t0 + 40'000);

  at(40s - 1ms);
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 2u) << "attempt 3 went out before its time";
  at(40s);
  wait_attempted(id, 3);

  EXPECT_EQ(attempt_offsets(id), (std::vector<std::int64_t>{0, 10'000, 40'000}));
  EXPECT_EQ(receivers_.attempts(k_url_a), 3u);
  EXPECT_EQ(stats().failed_attempts.load(), 3u);
}

TEST_F(Dispatcher, RetryBeyondTheWindowWaitsInTheQueueAndComesBackOnTime) {
  auto options = defaults();
  constexpr std::int64_t k_20min = std::chrono::milliseconds(20min).count();
  options.policy = retry_policy({20min}, 0.0);
  options.window = 5min;
  receivers_.script(k_url_a, {fake_reply::status(502), fake_reply::status(200)});
  start(options);
  const auto id = publish(create_webhook(k_url_a));
  wait_attempted(id, 1);
  idle();
  // Not kept in memory: nobody holds it, it waits in the queue.
  EXPECT_EQ(queue_.leased(), 0u);
  EXPECT_EQ(record(id).next_attempt_at_ms, k_t0 + k_20min);

  at(15min);  // the window reaches it: claimed onto the timeline
  idle();
  EXPECT_EQ(queue_.leased(), 1u);
  at(20min - 1ms);
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 1u) << "the retry went out before its time";
  at(20min);
  wait_status(id, delivery_status::succeeded);
  EXPECT_EQ(attempt_offsets(id), (std::vector<std::int64_t>{0, k_20min}));
}

TEST_F(Dispatcher, BacklogBeyondMaxHeldIsWorkedThroughAsAttemptsFinish) {
  auto options = defaults();
  options.max_held = 4;  // two per worker; the webhook's worker holds two
  receivers_.script(k_url_a, {fake_reply::status(200).held()});
  const auto hook = create_webhook(k_url_a);
  std::vector<delivery_id> ids;
  ids.reserve(6);
  for (int i = 0; i < 6; ++i) ids.push_back(stored(hook, k_t0));
  start(options);

  eventually([&] { return receivers_.held(k_url_a) == 2; }, "two attempts under way");
  idle();
  EXPECT_EQ(receivers_.held(k_url_a), 2u);
  EXPECT_EQ(queue_.leased(), 2u);
  // Each finished attempt makes room for one more from the queue, without a wake.
  for (int released = 0; released < 6; ++released) {
    eventually([&] { return receivers_.release(k_url_a); }, "a request to release");
  }
  for (const auto& id : ids) wait_status(id, delivery_status::succeeded);
  EXPECT_EQ(receivers_.attempts(k_url_a), 6u);
  EXPECT_EQ(receivers_.max_concurrent(k_origin_a), 2u);
}

TEST_F(Dispatcher, FreshDeliveriesBeyondTheirOriginsShareWaitOnDiskNotInMemory) {
  auto options = defaults();
  options.connections_per_origin = 1;  // its share: origin_queue::k_held_per_slot
  receivers_.script(k_url_a, {fake_reply::status(200).held()});
  const auto hook = create_webhook(k_url_a);
  start(options);
  constexpr std::size_t k_share = origin_queue::k_held_per_slot;
  std::vector<delivery_id> ids;
  for (std::size_t i = 0; i < k_share + 44; ++i) ids.push_back(publish(hook));
  idle();
  // The origin holds its share; the rest went to disk with their payloads, unleased.
  EXPECT_EQ(stats().spilled.load(), 44u);
  EXPECT_EQ(queue_.leased(), k_share);
  EXPECT_EQ(receivers_.held(k_url_a), 1u);
  // As attempts finish, claims bring the rest back: every one is delivered, once.
  for (std::size_t released = 0; released < ids.size(); ++released) {
    eventually([&] { return receivers_.release(k_url_a); }, "a request to release");
  }
  for (const auto& id : ids) wait_status(id, delivery_status::succeeded);
  EXPECT_EQ(receivers_.attempts(k_url_a), ids.size());
  EXPECT_EQ(receivers_.max_concurrent(k_origin_a), 1u);
}

TEST_F(Dispatcher, ADeadOriginsBacklogNeverHoldsHealthyDeliveriesBack) {
  auto options = defaults();
  options.connections_per_origin = 1;
  // The dead receiver never answers; its attempts hang until the test lets them go.
  receivers_.script(k_url_a, {fake_reply::failure(error_kind::timeout).held()});
  const auto dead = create_webhook(k_url_a);
  const auto healthy = create_webhook(k_url_b);
  // A restart with a large backlog of the dead one due first, the healthy ones after.
  constexpr std::size_t k_share = origin_queue::k_held_per_slot;
  std::vector<delivery_id> backlog;
  for (std::size_t i = 0; i < k_share + 100; ++i) backlog.push_back(stored(dead, k_t0));
  std::vector<delivery_id> fine;
  for (int i = 0; i < 20; ++i) fine.push_back(stored(healthy, k_t0));
  start(options);
  for (const auto& id : fine) wait_status(id, delivery_status::succeeded);
  idle();
  // The dead origin holds no more than its share of memory, and one request.
  EXPECT_EQ(queue_.leased(), k_share);
  EXPECT_EQ(receivers_.attempts(k_url_a), 1u);
  for (const auto& id : backlog) EXPECT_EQ(record(id).status, delivery_status::pending);
}

// After a clock jump past the leases, whichever worker claims first expires every
// lease that ran out, including those of deliveries another worker still holds.
TEST_F(Dispatcher, DeliveryHeldThroughAClockJumpPastItsLeaseIsAttemptedOnce) {
  auto options = defaults();
  options.threads = 2;
  options.lease = 1min;
  receivers_.script(k_url_a, {fake_reply::status(500), fake_reply::status(200)});
  start(options);
  const auto hook = create_webhook(k_url_a);  // id 1: worker 1 of 2
  ASSERT_EQ(hook % 2, 1u);
  const auto id = publish(hook);
  wait_attempted(id, 1);  // its retry, due at +10s, waits on worker 1's timeline
  idle();

  clock_.set_ms(k_t0 + std::chrono::milliseconds(3min).count());
  // Worker 0's claim at the new time, made here so that it deterministically comes
  // before worker 1's refill.
  auto other = queue_.claim(claim_request{.now_ms = clock_.now_ms(),
                                          .due_by_ms = clock_.now_ms() + 300'000,
                                          .max = 100,
                                          .lease = options.lease,
                                          .part = partition{0, 2},
                                          .admit = nullptr,
                                          .max_scan = claim_request::k_max_scan});
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->jobs.empty());
  dispatcher_->wake();
  wait_status(id, delivery_status::succeeded);
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 2u) << "the retry went out twice";
  EXPECT_EQ(attempts(id).size(), 2u);
}

TEST_F(Dispatcher, ExhaustedScheduleEndsTheDeliveryFailed) {
  auto options = defaults();
  options.policy = retry_policy({1s}, 0.0);
  receivers_.script(k_url_a, {fake_reply::status(503)});
  start(options);
  const auto hook = create_webhook(k_url_a);
  const auto id = publish(hook);
  wait_attempted(id, 1);
  at(1s);
  wait_status(id, delivery_status::failed);

  const auto d = record(id);
  EXPECT_EQ(d.attempts, 2u);
  EXPECT_EQ(d.next_attempt_at_ms, 0);
  EXPECT_EQ(stats().failed_deliveries.load(), 1u);
  const auto failed = queue_.failed_since(hook, k_t0, 10).value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, id);

  // Nothing more, however long one waits.
  at(24h);
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 2u);
}

TEST_F(Dispatcher, GoneDisablesTheWebhookAndCancelsItsDeliveries) {
  receivers_.script(k_url_a, {fake_reply::status(410)});
  const auto hook = create_webhook(k_url_a);
  const auto other = create_webhook(k_url_b);
  // Waiting in the queue for later, held by nobody.
  const auto later = stored(hook, k_t0 + 3'600'000);
  const auto unrelated = stored(other, k_t0 + 3'600'000);
  start();
  const auto id = publish(hook);
  wait_status(id, delivery_status::cancelled);
  wait_status(later, delivery_status::cancelled);

  const auto calls = disabled();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].first, hook);
  EXPECT_NE(calls[0].second.find("410"), std::string::npos) << calls[0].second;
  const auto w = registry_.get(hook).value();
  EXPECT_FALSE(w.active);
  EXPECT_EQ(w.disabled_reason, calls[0].second);

  const auto log = attempts(id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].status_code, 410u);
  EXPECT_EQ(record(unrelated).status, delivery_status::pending);
  EXPECT_TRUE(registry_.get(other).value().active);

  at(2h);
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 1u);
  EXPECT_EQ(record(later).status, delivery_status::cancelled);
}

// ---- auto-disable -----------------------------------------------------------------------

TEST_F(Dispatcher, AWebhookFailingForDisableAfterIsDeactivatedAndItsWorkCancelled) {
  auto options = defaults();
  options.disable_after = 1h;
  receivers_.script(k_url_a, {fake_reply::status(500)});
  const auto hook = create_webhook(k_url_a);
  const auto waiting = stored(hook, k_t0 + 3 * 3'600'000);  // due in 3 h
  start(options);
  const auto first = publish(hook);  // the run of failures begins at t0
  wait_attempted(first, 1);
  at(30min);
  wait_attempted(publish(hook), 1);
  EXPECT_TRUE(disabled().empty());
  EXPECT_TRUE(registry_.get(hook).value().active);
  at(1h);
  const auto last = publish(hook);
  wait_status(last, delivery_status::cancelled);
  wait_status(waiting, delivery_status::cancelled);
  const auto calls = disabled();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].first, hook);
  EXPECT_NE(calls[0].second.find("every attempt failed for 1h (since 2027-01-15T08:00:00"),
            std::string::npos)
      << calls[0].second;
  const auto w = registry_.get(hook).value();
  EXPECT_FALSE(w.active);
  EXPECT_EQ(w.disabled_reason, calls[0].second);
  EXPECT_EQ(stats().auto_disabled.load(), 1u);
}

TEST_F(Dispatcher, ASuccessResetsTheClock) {
  auto options = defaults();
  options.disable_after = 1h;
  options.policy = retry_policy({2h}, 0.0);  // no retry comes due in this test
  receivers_.script(k_url_a,
                    {fake_reply::status(500), fake_reply::status(200), fake_reply::status(500)});
  const auto hook = create_webhook(k_url_a);
  start(options);
  wait_attempted(publish(hook), 1);  // fails at t0
  at(30min);
  wait_status(publish(hook), delivery_status::succeeded);  // 2xx at 30 min
  at(61min);
  wait_attempted(publish(hook), 1);  // fails: a new run from 61 min
  at(89min);
  wait_attempted(publish(hook), 1);
  idle();
  EXPECT_TRUE(disabled().empty());
  EXPECT_TRUE(registry_.get(hook).value().active);
}

TEST_F(Dispatcher, ARunOfFailuresIsStoredOnceItLastsAMinuteAndClearedByASuccess) {
  auto options = defaults();
  options.disable_after = 1h;
  options.policy = retry_policy({2h}, 0.0);
  receivers_.script(k_url_a,
                    {fake_reply::status(500), fake_reply::status(500), fake_reply::status(200)});
  const auto hook = create_webhook(k_url_a);
  start(options);
  wait_attempted(publish(hook), 1);  // the run begins at t0: in memory only
  idle();
  EXPECT_TRUE(registry_.failing().value().empty());
  at(2min);
  wait_attempted(publish(hook), 1);  // past a minute: stored, with its start
  idle();
  EXPECT_EQ(registry_.failing().value(),
            (std::vector<std::pair<std::uint64_t, std::int64_t>>{{hook, k_t0}}));
  at(3min);
  wait_status(publish(hook), delivery_status::succeeded);
  idle();
  EXPECT_TRUE(registry_.failing().value().empty());
}

TEST_F(Dispatcher, ARunStoredBeforeARestartKeepsItsStart) {
  auto options = defaults();
  options.disable_after = 1h;
  receivers_.script(k_url_a, {fake_reply::status(500)});
  const auto hook = create_webhook(k_url_a);
  // As the last run of the process left it: failing since 61 minutes ago.
  ASSERT_TRUE(registry_.set_failing_since(hook, k_t0 - 61 * 60'000));
  start(options);
  const auto id = publish(hook);
  wait_status(id, delivery_status::cancelled);  // one more failure: over the hour
  ASSERT_EQ(disabled().size(), 1u);
  EXPECT_EQ(disabled()[0].first, hook);
  EXPECT_TRUE(registry_.failing().value().empty());
}

TEST_F(Dispatcher, CrashedAttemptReleasesItsLeaseAndTheDeliveryIsAttemptedAgain) {
  receivers_.script(k_url_a, {fake_reply::crashing(), fake_reply::status(200)});
  start();
  const auto hook = create_webhook(k_url_a);
  const auto id = publish(hook);
  eventually([&] { return stats().crashed_attempts == 1; }, "the attempt crashed");

  // The clock has not moved: the lease did not run out, it was given back, so the
  // next claim takes the delivery again without a restart.
  dispatcher_->wake();
  wait_status(id, delivery_status::succeeded);

  const auto requests = receivers_.requests(k_url_a);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].delivery, format_uuid(id));
  EXPECT_EQ(requests[1].delivery, format_uuid(id));
  // The crash wrote nothing: the success is the delivery's first logged attempt.
  const auto log = attempts(id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].number, 1u);
  EXPECT_EQ(log[0].status_code, 200u);
  EXPECT_EQ(stats().crashed_attempts.load(), 1u);
  EXPECT_FALSE(dispatcher_->in_flight(hook, id));
}

TEST_F(Dispatcher, RefusedOutcomeBatchIsKeptAndWrittenLater) {
  queue_.fail_next_settle(1);
  start();
  const auto id = publish(create_webhook(k_url_a));
  wait_status(id, delivery_status::succeeded);

  EXPECT_EQ(queue_.refused_settles(), 1u);
  EXPECT_EQ(dispatcher_->write_failures(), 1u);
  // Written once it could be, and not delivered a second time meanwhile.
  EXPECT_EQ(receivers_.attempts(k_url_a), 1u);
  const auto log = attempts(id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].status_code, 200u);
}

TEST_F(Dispatcher, DeactivationThroughTheChangeFeedCancelsTheWebhooksPendingDeliveries) {
  receivers_.script(k_url_a, {fake_reply::status(500)});
  receivers_.script(k_url_b, {fake_reply::status(500)});
  const auto hook = create_webhook(k_url_a);
  const auto other = create_webhook(k_url_b);
  const auto on_disk = stored(hook, k_t0 + 3'600'000);  // beyond the window
  start();
  const auto on_timeline = publish(hook);  // fails, waits in memory for its retry
  const auto others = publish(other);
  wait_attempted(on_timeline, 1);
  wait_attempted(others, 1);

  set_active(hook, false);
  wait_status(on_timeline, delivery_status::cancelled);
  wait_status(on_disk, delivery_status::cancelled);

  at(10s);
  wait_attempted(others, 2);
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 1u);
  EXPECT_EQ(record(on_timeline).status, delivery_status::cancelled);
  EXPECT_EQ(record(others).status, delivery_status::pending);
}

TEST_F(Dispatcher, DeactivationWhileAnAttemptIsUnderWayCancelsTheDeliveryWhenItCompletes) {
  receivers_.script(k_url_a, {fake_reply::status(500).held()});
  const auto hook = create_webhook(k_url_a);
  start();
  const auto id = publish(hook);
  eventually([&] { return receivers_.held(k_url_a) == 1; }, "the request is under way");

  set_active(hook, false);
  idle();  // the cancellation ran; the queue left the leased delivery to its holder
  EXPECT_EQ(record(id).status, delivery_status::pending);
  ASSERT_TRUE(receivers_.release(k_url_a));
  wait_attempted(id, 1);
  idle();
  EXPECT_EQ(record(id).status, delivery_status::cancelled);
  EXPECT_EQ(record(id).next_attempt_at_ms, 0);

  at(10s);
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 1u);
}

TEST_F(Dispatcher, ManualRetryOfAFailedDeliveryAttemptsItOnceMore) {
  auto options = defaults();
  options.policy = retry_policy({1s}, 0.0);
  receivers_.script(k_url_a,
                    {fake_reply::status(500), fake_reply::status(500), fake_reply::status(200)});
  start(options);
  const auto id = publish(create_webhook(k_url_a));
  wait_attempted(id, 1);
  at(1s);
  wait_status(id, delivery_status::failed);

  at(5s);
  ASSERT_TRUE(dispatcher_->retry_now(record(id), /*manual=*/true));
  wait_status(id, delivery_status::succeeded);

  const auto log = attempts(id);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[2].number, 3u);
  EXPECT_EQ(log[2].status_code, 200u);
  EXPECT_EQ(log[2].at_ms, k_t0 + 5'000);
  EXPECT_TRUE(log[2].manual);
  EXPECT_FALSE(log[0].manual);
  EXPECT_EQ(receivers_.attempts(k_url_a), 3u);
}

TEST_F(Dispatcher, ManualRetryOfAFailedDeliveryThatFailsAgainEndsFailedAfterOneAttempt) {
  auto options = defaults();
  options.policy = retry_policy({1s}, 0.0);
  receivers_.script(k_url_a, {fake_reply::status(500)});
  start(options);
  const auto id = publish(create_webhook(k_url_a));
  wait_attempted(id, 1);
  at(1s);
  wait_status(id, delivery_status::failed);

  ASSERT_TRUE(dispatcher_->retry_now(record(id), /*manual=*/true));
  eventually(
      [&] {
        const auto d = record(id);
        return d.attempts == 3 && d.status == delivery_status::failed;
      },
      "the manual attempt failed and was written");
  EXPECT_EQ(record(id).next_attempt_at_ms, 0);

  // One last chance, not a new schedule.
  at(24h);
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 3u);
}

TEST_F(Dispatcher, OriginBackOffHalvesConcurrencyAfterA503) {
  auto options = defaults();
  options.connections_per_origin = 4;
  options.policy = retry_policy({10s}, 0.0);
  // First round: a 503 (overload) and three 500s (not overload); the retries are held
  // and then succeed.
  receivers_.script(k_url_a, {fake_reply::status(503).held(), fake_reply::status(500).held(),
                              fake_reply::status(500).held(), fake_reply::status(500).held(),
                              fake_reply::status(200).held()});
  start(options);
  const auto hook = create_webhook(k_url_a);
  std::vector<delivery_id> ids;
  ids.reserve(4);
  for (int i = 0; i < 4; ++i) ids.push_back(publish(hook));
  eventually([&] { return receivers_.held(k_url_a) == 4; }, "four requests under way");
  EXPECT_EQ(receivers_.max_concurrent(k_origin_a), 4u);

  for (int i = 0; i < 4; ++i) ASSERT_TRUE(receivers_.release(k_url_a));
  for (const auto& id : ids) wait_attempted(id, 1);
  EXPECT_EQ(stats().backoff_events.load(), 1u);

  // All four are due again at once; the origin now takes two at a time.
  receivers_.reset_max_concurrent(k_origin_a);
  at(10s);
  eventually([&] { return receivers_.held(k_url_a) == 2; }, "two retries under way");
  idle();
  EXPECT_EQ(receivers_.held(k_url_a), 2u);
  EXPECT_EQ(receivers_.max_concurrent(k_origin_a), 2u);

  // Each success grows the limit by one: the two waiting ones start after the first.
  ASSERT_TRUE(receivers_.release(k_url_a));
  eventually([&] { return receivers_.held(k_url_a) == 3; }, "the limit grew to three");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(receivers_.release(k_url_a));
  for (const auto& id : ids) wait_status(id, delivery_status::succeeded);
  EXPECT_EQ(receivers_.attempts(k_url_a), 8u);
}

}  // namespace
}  // namespace hookd::engine

namespace hookd::engine {
namespace {

TEST_F(Dispatcher, DeadOriginsBacklogKeepsItsScheduleOnceItsCircuitOpens) {
  auto options = defaults();
  options.policy = retry_policy({1s, 1s, 1s, 1s}, 0.0);
  receivers_.script(k_url_a, {fake_reply::failure(error_kind::timeout)});
  start(options);
  const auto hook = create_webhook(k_url_a);
  constexpr std::size_t k_n = 2000;
  std::vector<delivery_id> ids;
  ids.reserve(k_n);
  for (std::size_t i = 0; i < k_n; ++i) ids.push_back(publish(hook));

  // Round by round on the clock: every delivery gets each attempt when it is due.
  for (std::uint64_t round = 1; round <= 5; ++round) {
    if (round > 1) at(std::chrono::seconds(round - 1));
    eventually([&] { return stats().failed_attempts.load() >= round * k_n; },
               "round " + std::to_string(round) + " failed");
  }
  eventually([&] { return stats().failed_deliveries.load() == k_n; }, "all failed");
  idle();
  // All failed at t0 + 4 s, as the schedule says, although the receiver never answered.
  for (const auto& id : ids) ASSERT_EQ(record(id).status, delivery_status::failed);
  EXPECT_EQ(attempt_offsets(ids.back()), (std::vector<std::int64_t>{0, 1000, 2000, 3000, 4000}));
  const auto last = attempts(ids.back());
  EXPECT_EQ(last.back().error_kind, "origin_unavailable");
  EXPECT_NE(last.back().error.find("http://a.test:8080"), std::string::npos) << last.back().error;
  // Only the requests started before the circuit opened went out; the rest were failed
  // without spending a connection on a dead peer.
  EXPECT_LT(receivers_.attempts(k_url_a), 100u);
  EXPECT_EQ(stats().short_circuited.load() + receivers_.attempts(k_url_a), 5 * k_n);
}

TEST_F(Dispatcher, AProbeThatGetsAnAnswerClosesTheCircuitAndTheBacklogFlows) {
  auto options = defaults();
  options.connections_per_origin = 1;
  options.policy = retry_policy({20s, 20s, 20s}, 0.0);
  options.circuit = circuit_options{.failures_to_open = 3, .cool_down = 10s};
  receivers_.script(
      k_url_a, {fake_reply::failure(error_kind::connect), fake_reply::failure(error_kind::connect),
                fake_reply::failure(error_kind::connect), fake_reply::status(200)});
  start(options);
  const auto hook = create_webhook(k_url_a);
  std::vector<delivery_id> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(publish(hook));
  eventually([&] { return stats().failed_attempts.load() == 3; }, "three refused connections");
  // The circuit is open: these are failed at once, not sent.
  for (int i = 0; i < 5; ++i) ids.push_back(publish(hook));
  eventually([&] { return stats().short_circuited.load() == 5; }, "five short-circuited");
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 3u);

  // Past the cool-down, the first due delivery probes; the others wait their turn.
  at(20s);
  eventually([&] { return stats().succeeded.load() == 1; }, "the probe succeeded");
  eventually([&] { return stats().short_circuited.load() == 12; }, "the rest failed once more");
  idle();
  EXPECT_EQ(receivers_.attempts(k_url_a), 4u);

  // Closed again: the backlog flows.
  at(40s);
  for (const auto& id : ids) wait_status(id, delivery_status::succeeded);
  EXPECT_EQ(receivers_.attempts(k_url_a), 11u);
  EXPECT_EQ(stats().short_circuited.load(), 12u);
}

}  // namespace
}  // namespace hookd::engine

namespace hookd::engine {
namespace {

TEST_F(Dispatcher, HangingReceiversNeverHoldTheSlotsAHealthyOneNeeds) {
  auto options = defaults();
  options.threads = 1;
  options.max_in_flight = 16;
  options.circuit.failures_to_open = 0;  // fairness alone, without the circuit
  constexpr int k_dead = 8;
  std::vector<std::string> dead_urls;
  for (int i = 0; i < k_dead; ++i) {
    dead_urls.push_back("http://dead-" + std::to_string(i) + ".test:8080/hooks");
    // They hang until the test lets them time out.
    receivers_.script(dead_urls.back(), {fake_reply::failure(error_kind::timeout).held()});
  }
  start(options);
  std::vector<std::uint64_t> dead_hooks;
  for (const auto& url : dead_urls) dead_hooks.push_back(create_webhook(url));
  // The first dead receiver alone takes every slot the worker has; 8 more wait.
  for (int i = 0; i < 24; ++i) publish(dead_hooks[0]);
  eventually([&] { return receivers_.held(dead_urls[0]) == 16; }, "16 requests hang");
  // The other seven queue behind the limit; each still gets one request out.
  for (int h = 1; h < k_dead; ++h) {
    for (int i = 0; i < 8; ++i) publish(dead_hooks[h]);
  }
  for (int h = 1; h < k_dead; ++h) {
    eventually([&] { return receivers_.held(dead_urls[h]) == 1; }, dead_urls[h] + " has one out");
  }
  idle();
  for (int h = 1; h < k_dead; ++h) EXPECT_EQ(receivers_.held(dead_urls[h]), 1u) << dead_urls[h];

  // A healthy receiver's fresh event goes out at once, beside them.
  const auto healthy = create_webhook(k_url_b);
  const auto id = publish(healthy);
  wait_status(id, delivery_status::succeeded);
  EXPECT_EQ(receivers_.held(dead_urls[0]), 16u) << "nothing of the first one finished meanwhile";

  // As the first one's requests end, the slots they free (beyond the one each origin
  // always has) go to the origins below their fair share, not back to the first one.
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(receivers_.release(dead_urls[0]));
  eventually([&] { return stats().failed_attempts.load() == 8; }, "eight ended");
  idle();
  EXPECT_EQ(receivers_.held(dead_urls[0]), 8u) << "none of its 8 waiting ones started";
  std::size_t others = 0;
  for (int h = 1; h < k_dead; ++h) others += receivers_.held(dead_urls[h]);
  EXPECT_EQ(others, 8u) << "the one free slot went to a waiting origin";
}

}  // namespace
}  // namespace hookd::engine

namespace hookd::engine {
namespace {

TEST_F(Dispatcher, AWebhookActiveAgainWhenItsCancelRunsKeepsItsDeliveries) {
  receivers_.script(k_url_a, {fake_reply::status(500)});
  receivers_.script(k_url_b, {fake_reply::status(200)});
  const auto hook = create_webhook(k_url_a);
  const auto blocker = create_webhook(k_url_b);
  auto options = defaults();
  options.threads = 1;  // one worker: while it is blocked, nothing else runs on it
  start(options);
  const auto id = publish(hook);
  wait_attempted(id, 1);  // failed; waits on the timeline for its retry

  // Block the worker inside a request (the fake's hook runs on the worker's thread),
  // then deactivate and reactivate: the cancel queued by the first change runs only
  // after the second.
  std::promise<void> entered;
  std::promise<void> go;
  auto resume = go.get_future().share();
  std::atomic<bool> armed{true};
  receivers_.on_event([&] {
    if (armed.exchange(false)) {
      entered.set_value();
      resume.wait();
    }
    progress_.notify();
  });
  publish(blocker);
  entered.get_future().wait();
  set_active(hook, false);
  set_active(hook, true);
  go.set_value();
  idle();

  EXPECT_EQ(record(id).status, delivery_status::pending);
  at(10s);
  wait_attempted(id, 2);
  EXPECT_EQ(receivers_.attempts(k_url_a), 2u);
}

}  // namespace
}  // namespace hookd::engine
