// engine::webhook_stats on an injected clock: every bucket of the window, empty ones
// included, the counts of real deliveries in the right bucket, hourly or daily buckets
// by window, kept across a restart, and refusals naming the window or hiding another
// account's webhook.
#include "tests/integration/engine_fixture.hpp"

namespace hookd::test {
namespace {

using namespace std::chrono_literals;

class Stats : public engine_fixture {
 protected:
  static constexpr std::int64_t k_hour = 3'600'000;
  static constexpr std::int64_t k_t0 = 1'800'000'000'000 + 15 * 60'000;  // 08:15 UTC

  engine::engine_options options() override {
    auto o = engine_fixture::options();
    o.time_source = &clock_;
    o.retry_schedule = {};  // one attempt each
    return o;
  }

  // Publishes and waits until the attempt has ended and its outcome is written.
  void deliver(std::uint64_t ended_before) {
    publish();
    ASSERT_TRUE(engine_->wait_until(
        [&](const auto& s) { return s.succeeded + s.failed_attempts >= ended_before + 1; }, 30s));
  }

  engine::manual_clock clock_{k_t0};
};

TEST_F(Stats, CountsLandInTheirHourAndEveryHourOfTheWindowIsThere) {
  open();
  receiver rx;
  std::atomic<unsigned> status{200};
  rx.set_responder([&](const received_request&) {
    reply r;
    r.status = status.load();
    return r;
  });
  const auto hook = create_webhook(rx.url());
  deliver(0);  // 08:15, succeeded
  clock_.set_ms(k_t0 + 2 * k_hour);
  status = 500;
  deliver(1);  // 10:15, failed for good (no retries)
  settle();

  const auto s = engine_->webhook_stats("acme", hook, 24h);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->bucket, 1h);
  ASSERT_EQ(s->buckets.size(), 24u);
  // The last bucket is the current hour, 10:00 to 11:00.
  const std::int64_t ten = k_t0 + 2 * k_hour - 15 * 60'000;
  EXPECT_EQ(s->to_ms, ten + k_hour);
  EXPECT_EQ(s->from_ms, ten + k_hour - 24 * k_hour);
  const auto& last = s->buckets[23];
  EXPECT_EQ(last.start_ms, ten);
  EXPECT_EQ(last.attempts, 1u);
  EXPECT_EQ(last.failed_attempts, 1u);
  EXPECT_EQ(last.failed_deliveries, 1u);
  EXPECT_EQ(s->buckets[22].attempts, 0u) << "an empty hour is there, with zeros";
  const auto& eight = s->buckets[21];
  EXPECT_EQ(eight.start_ms, ten - 2 * k_hour);
  EXPECT_EQ(eight.attempts, 1u);
  EXPECT_EQ(eight.succeeded, 1u);
  EXPECT_EQ(s->totals.attempts, 2u);
  EXPECT_EQ(s->totals.succeeded, 1u);
  EXPECT_EQ(s->totals.failed_deliveries, 1u);
  EXPECT_EQ(s->totals.start_ms, s->from_ms);
}

TEST_F(Stats, LongWindowsHaveDailyBucketsAndCountsSurviveARestart) {
  open();
  receiver rx;
  const auto hook = create_webhook(rx.url());
  deliver(0);
  clock_.set_ms(k_t0 + 3 * 24 * k_hour);
  deliver(1);
  settle();
  engine_.reset();
  open();  // a new engine on the same folder

  const auto week = engine_->webhook_stats("acme", hook, std::chrono::hours(24 * 7));
  ASSERT_TRUE(week) << week.error().message;
  EXPECT_EQ(week->bucket, 24h);
  ASSERT_EQ(week->buckets.size(), 7u);
  EXPECT_EQ(week->to_ms % (24 * k_hour), 0) << "days start at midnight UTC";
  EXPECT_EQ(week->buckets[6].succeeded, 1u);  // today
  EXPECT_EQ(week->buckets[3].succeeded, 1u);  // three days ago
  EXPECT_EQ(week->totals.succeeded, 2u);
  // An hour's window holds only the current hour.
  const auto hour = engine_->webhook_stats("acme", hook, 1h);
  ASSERT_TRUE(hour);
  ASSERT_EQ(hour->buckets.size(), 1u);
  EXPECT_EQ(hour->totals.succeeded, 1u);
}

TEST_F(Stats, AWindowOutOfRangeIsRefusedNamingIt) {
  open();
  receiver rx;
  const auto hook = create_webhook(rx.url());
  for (const auto window :
       {30min, 90min, std::chrono::minutes(49 * 60), std::chrono::minutes(24 * 60 * 31)}) {
    const auto s = engine_->webhook_stats("acme", hook, window);
    ASSERT_FALSE(s) << window.count();
    EXPECT_EQ(s.error().code, make_error_code(errc::invalid_argument));
    ASSERT_EQ(s.error().details.size(), 1u);
    EXPECT_EQ(s.error().details[0].field, "window");
  }
}

TEST_F(Stats, AnotherAccountsWebhookIsNotFound) {
  open();
  receiver rx;
  const auto hook = create_webhook(rx.url());
  const auto s = engine_->webhook_stats("globex", hook, 24h);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::not_found));
}

}  // namespace
}  // namespace hookd::test
