// Retries on an injected clock: the schedule, Retry-After, 410 and 3xx, with time
// moved by the test instead of slept through.
#include <atomic>
#include <ctime>

#include "engine/encoding.hpp"
#include "hookd/engine/clock.hpp"
#include "tests/integration/engine_fixture.hpp"

namespace hookd::test {
namespace {

using namespace std::chrono_literals;

class Retries : public engine_fixture {
 protected:
  static constexpr std::int64_t k_t0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

  engine::engine_options options() override {
    auto o = engine_fixture::options();
    o.time_source = &clock_;
    o.retry_schedule = engine::sonar_retry_schedule();
    o.retry_jitter = 0;
    return o;
  }

  // Waits until `n` attempts have failed and their outcomes were handled.
  void wait_failed(std::uint64_t n) {
    ASSERT_TRUE(engine_->wait_until([n](const auto& s) { return s.failed_attempts >= n; }, 30s))
        << "failed attempts: " << engine_->stats().failed_attempts << " of " << n;
  }

  // Moves the clock to t0 + offset and lets the engine see it.
  void at(std::chrono::milliseconds offset) {
    clock_.set_ms(k_t0 + offset.count());
    engine_->wake();
  }

  // Offsets of each attempt from t0, read back from the delivery log.
  std::vector<std::chrono::milliseconds> attempt_offsets(const std::string& uuid) {
    std::vector<std::chrono::milliseconds> out;
    for (const auto& a : engine_->delivery("acme", uuid).value().attempts) {
      out.emplace_back(a.at_ms - k_t0);
    }
    return out;
  }

  std::string only_delivery(std::uint64_t hook) {
    auto list = engine_->deliveries("acme", hook, std::nullopt, std::nullopt, 10).value();
    EXPECT_EQ(list.deliveries.size(), 1u);
    return list.deliveries.empty() ? std::string() : list.deliveries[0].uuid;
  }

  static reply status(unsigned code,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    reply r;
    r.status = code;
    r.headers = std::move(headers);
    return r;
  }

  engine::manual_clock clock_{k_t0};
};

TEST_F(Retries, DefaultScheduleTriesAt0_10s_40s_3m40s_33m40sThenFails) {
  open();
  receiver rx;
  rx.set_responder([](const received_request&) { return status(500); });
  const auto hook = create_webhook(rx.url());
  publish();
  wait_failed(1);
  const std::string uuid = only_delivery(hook);
  EXPECT_EQ(engine_->delivery("acme", uuid)->next_attempt_at_ms, k_t0 + 10'000);

  // Nothing goes out early: a wake just before the due time has been handled when
  // wake() returns, and it started no attempt.
  at(9'999ms);
  EXPECT_EQ(engine_->stats().attempts, 1u);
  at(10s);
  wait_failed(2);
  at(40s);
  wait_failed(3);
  at(3min + 40s);
  wait_failed(4);
  // 30 minutes is past the in-memory window: this retry comes back from RocksDB.
  at(33min + 39s);
  EXPECT_EQ(engine_->stats().attempts, 4u);
  at(33min + 40s);
  wait_failed(5);
  settle();
  EXPECT_EQ(attempt_offsets(uuid),
            (std::vector<std::chrono::milliseconds>{0ms, 10s, 40s, 3min + 40s, 33min + 40s}));
  auto d = engine_->delivery("acme", uuid).value();
  EXPECT_EQ(d.status, "failed");
  EXPECT_FALSE(d.next_attempt_at_ms);
  EXPECT_EQ(rx.request_count(), 5u);
}

TEST_F(Retries, EngineScheduleOptionReplacesTheDefault) {
  auto o = options();
  o.retry_schedule = {2s, 5s};
  open(o);
  receiver rx;
  rx.set_responder([](const received_request&) { return status(502); });
  const auto hook = create_webhook(rx.url());
  publish();
  wait_failed(1);
  at(2s);
  wait_failed(2);
  at(7s);
  wait_failed(3);
  settle();
  const auto uuid = only_delivery(hook);
  EXPECT_EQ(attempt_offsets(uuid), (std::vector<std::chrono::milliseconds>{0ms, 2s, 7s}));
  EXPECT_EQ(engine_->delivery("acme", uuid)->status, "failed");
}

TEST_F(Retries, WebhookScheduleOverridesTheEngines) {
  open();
  receiver rx;
  rx.set_responder([](const received_request&) { return status(500); });
  const auto hook = create_webhook(rx.url());
  auto patched =
      engine_->webhooks().patch("acme", hook, R"({"webhook": {"retry_schedule": "1m,1h"}})");
  ASSERT_TRUE(patched);
  EXPECT_EQ(patched->retry_schedule, "1m,1h");
  publish();
  wait_failed(1);
  at(1min);
  wait_failed(2);
  at(1h + 1min);
  wait_failed(3);
  settle();
  const auto uuid = only_delivery(hook);
  EXPECT_EQ(attempt_offsets(uuid), (std::vector<std::chrono::milliseconds>{0ms, 1min, 1h + 1min}));
  EXPECT_EQ(engine_->delivery("acme", uuid)->status, "failed");
}

TEST_F(Retries, RetryAfterSecondsDelaysTheNextAttempt) {
  open();
  receiver rx;
  rx.set_responder([](const received_request&) { return status(429, {{"Retry-After", "120"}}); });
  const auto hook = create_webhook(rx.url());
  publish();
  wait_failed(1);
  EXPECT_EQ(engine_->delivery("acme", only_delivery(hook))->next_attempt_at_ms, k_t0 + 120'000);
}

TEST_F(Retries, RetryAfterHttpDateDelaysTheNextAttempt) {
  open();
  receiver rx;
  // Five minutes after t0, as an IMF-fixdate.
  const std::time_t when = static_cast<std::time_t>(k_t0 / 1000 + 300);
  std::tm tm{};
  gmtime_r(&when, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  const std::string header = date;
  rx.set_responder([header](const received_request&) {
    return status(503, {{"Retry-After", header}});
  });
  const auto hook = create_webhook(rx.url());
  publish();
  wait_failed(1);
  EXPECT_EQ(engine_->delivery("acme", only_delivery(hook))->next_attempt_at_ms, k_t0 + 300'000);
}

TEST_F(Retries, RetryAfterIsCappedByTheMaximum) {
  auto o = options();
  o.max_retry_after = 1h;
  open(o);
  receiver rx;
  rx.set_responder([](const received_request&) { return status(503, {{"Retry-After", "86400"}}); });
  const auto hook = create_webhook(rx.url());
  publish();
  wait_failed(1);
  EXPECT_EQ(engine_->delivery("acme", only_delivery(hook))->next_attempt_at_ms, k_t0 + 3'600'000);
}

TEST_F(Retries, RetryAfterOnOtherStatusesIsIgnored) {
  open();
  receiver rx;
  rx.set_responder([](const received_request&) { return status(500, {{"Retry-After", "600"}}); });
  const auto hook = create_webhook(rx.url());
  publish();
  wait_failed(1);
  EXPECT_EQ(engine_->delivery("acme", only_delivery(hook))->next_attempt_at_ms, k_t0 + 10'000);
}

TEST_F(Retries, GoneDisablesTheWebhookAndCancelsItsPendingDeliveries) {
  open();
  receiver rx;
  bool gone = false;
  std::mutex m;
  rx.set_responder([&](const received_request&) {
    std::lock_guard lock(m);
    return status(gone ? 410 : 500);
  });
  const auto hook = create_webhook(rx.url());
  publish();
  publish();
  wait_failed(2);  // both pending, retry at +10 s
  {
    std::lock_guard lock(m);
    gone = true;
  }
  // A third event meets the 410 and disables the webhook.
  publish();
  wait_failed(3);
  settle();
  auto w = engine_->webhooks().get("acme", hook).value();
  EXPECT_FALSE(w.active);
  EXPECT_NE(w.disabled_reason.find("410"), std::string::npos) << w.disabled_reason;
  auto list = engine_->deliveries("acme", hook, std::nullopt, std::nullopt, 10).value();
  ASSERT_EQ(list.deliveries.size(), 3u);
  for (const auto& d : list.deliveries) EXPECT_EQ(d.status, "cancelled") << d.uuid;
  EXPECT_EQ(rx.request_count(), 3u);
}

TEST_F(Retries, RedirectIsAFailureAndNotFollowed) {
  open();
  receiver elsewhere;
  receiver rx;
  const std::string location = elsewhere.url();
  rx.set_responder([location](const received_request&) {
    return status(301, {{"Location", location}});
  });
  const auto hook = create_webhook(rx.url());
  publish();
  wait_failed(1);
  settle();
  auto d = engine_->delivery("acme", only_delivery(hook)).value();
  EXPECT_EQ(d.status, "pending");
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0].status_code, 301u);
  EXPECT_EQ(d.attempts[0].error_kind, "http_status");
  EXPECT_EQ(elsewhere.request_count(), 0u);
}

TEST_F(Retries, DeactivatingAWebhookCancelsItsPendingDeliveries) {
  open();
  receiver rx;
  rx.set_responder([](const received_request&) { return status(500); });
  const auto hook = create_webhook(rx.url());
  publish();
  wait_failed(1);
  ASSERT_TRUE(engine_->webhooks().patch("acme", hook, R"({"webhook": {"active": false}})"));
  at(10s);  // the retry would be due now
  settle();
  EXPECT_EQ(engine_->delivery("acme", only_delivery(hook))->status, "cancelled");
  EXPECT_EQ(rx.request_count(), 1u);
}

TEST_F(Retries, DeletingAWebhookCancelsItsPendingDeliveries) {
  open();
  receiver rx;
  rx.set_responder([](const received_request&) { return status(500); });
  const auto hook = create_webhook(rx.url());
  publish();
  wait_failed(1);
  const auto uuid = only_delivery(hook);
  ASSERT_TRUE(engine_->webhooks().remove("acme", hook));
  at(10s);
  settle();
  EXPECT_EQ(engine_->delivery("acme", uuid)->status, "cancelled");
  EXPECT_EQ(rx.request_count(), 1u);
}

TEST_F(Retries, PendingRetriesKeepTheirDueTimesAcrossARestart) {
  open();
  receiver rx;
  rx.set_responder([](const received_request&) { return status(500); });
  const auto hook = create_webhook(rx.url());
  for (int i = 0; i < 3; ++i) publish();
  wait_failed(3);
  engine_->stop(0ms);
  engine_.reset();

  clock_.set_ms(k_t0 + 5'000);
  open();
  auto list = engine_->deliveries("acme", hook, "pending", std::nullopt, 10).value();
  ASSERT_EQ(list.deliveries.size(), 3u);
  for (const auto& d : list.deliveries) EXPECT_EQ(d.next_attempt_at_ms, k_t0 + 10'000);
  // Overdue after the restart: they go out at once.
  rx.set_responder([](const received_request&) { return status(200); });
  at(20s);
  rx.wait_for_requests(6);
  settle();
  const auto after = engine_->deliveries("acme", hook, std::nullopt, std::nullopt, 10).value();
  for (const auto& d : after.deliveries) EXPECT_EQ(d.status, "succeeded");
}

TEST_F(Retries, ManualRetryOfAPendingDeliveryKeepsItsSchedule) {
  open();
  receiver rx;
  rx.set_responder([](const received_request&) { return status(500); });
  const auto hook = create_webhook(rx.url());
  publish();
  wait_failed(1);
  const auto uuid = only_delivery(hook);
  ASSERT_TRUE(engine_->retry("acme", uuid));
  wait_failed(2);
  auto d = engine_->delivery("acme", uuid).value();
  EXPECT_EQ(d.status, "pending") << "a failed manual attempt ended the schedule";
  ASSERT_EQ(d.attempts.size(), 2u);
  EXPECT_FALSE(d.attempts[0].manual);
  EXPECT_TRUE(d.attempts[1].manual);
  EXPECT_EQ(d.next_attempt_at_ms, k_t0 + 30'000);  // the third step of the schedule
}

TEST_F(Retries, RetryAfterTheWebhookTurnedToGetCarriesThePayloadInTheQuery) {
  open();
  receiver rx;
  std::atomic<bool> ok{false};
  rx.set_responder([&](const received_request&) { return status(ok ? 200 : 500); });
  const auto hook = create_webhook(rx.url());
  publish(R"({"customer": {"id": 42}})");
  wait_failed(1);
  ASSERT_TRUE(engine_->webhooks().patch("acme", hook, R"({"webhook": {"http_method": "GET"}})"));
  ok = true;
  at(10s);
  rx.wait_for_requests(2);
  const auto second = rx.requests()[1];
  EXPECT_EQ(second.method, "GET");
  EXPECT_NE(second.target.find("&customer[id]=42"), std::string::npos) << second.target;
}

}  // namespace
}  // namespace hookd::test
