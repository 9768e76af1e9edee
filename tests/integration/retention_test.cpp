// Retention on an injected clock: what finished longer ago than --retention is
// removed (a plain not_found afterwards), pending work and its event are kept however
// old, and nothing younger is touched.
#include "hookd/engine/clock.hpp"
#include "tests/integration/engine_fixture.hpp"

namespace hookd::test {
namespace {

using namespace std::chrono_literals;

class Retention : public engine_fixture {
 protected:
  static constexpr std::int64_t k_t0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
  static constexpr std::chrono::milliseconds k_retention = std::chrono::hours(24 * 30);

  engine::engine_options options() override {
    auto o = engine_fixture::options();
    o.time_source = &clock_;
    o.retry_schedule = {1h};
    o.retry_jitter = 0;
    o.retention = k_retention;
    return o;
  }

  static reply status(unsigned code) {
    reply r;
    r.status = code;
    return r;
  }

  std::string only_delivery(std::uint64_t hook) {
    auto list = engine_->deliveries("acme", hook, std::nullopt, std::nullopt, 10).value();
    EXPECT_EQ(list.deliveries.size(), 1u);
    return list.deliveries.empty() ? std::string() : list.deliveries[0].uuid;
  }

  // One delivered event, one whose delivery is still pending (its receiver fails and
  // the next attempt is an hour away), and one that matched no webhook, all at t0.
  void publish_the_three() {
    ok_rx_.set_responder([](const received_request&) { return status(200); });
    failing_rx_.set_responder([](const received_request&) { return status(500); });
    ok_hook_ = create_webhook(ok_rx_.url(), "POST", "acme", "customer_created");
    pending_hook_ = create_webhook(failing_rx_.url(), "POST", "acme", "outbound_message");
    publish(R"({"n": 1})", "customer_created", "acme", "evt_delivered");
    publish(R"({"n": 2})", "outbound_message", "acme", "evt_pending");
    publish(R"({"n": 3})", "customer_created", "nobody", "evt_unmatched");
    ASSERT_TRUE(engine_->wait_until(
        [](const auto& s) { return s.succeeded >= 1 && s.failed_attempts >= 1; }, 30s));
    delivered_ = only_delivery(ok_hook_);
    pending_ = only_delivery(pending_hook_);
  }

  engine::manual_clock clock_{k_t0};
  receiver ok_rx_;
  receiver failing_rx_;
  std::uint64_t ok_hook_ = 0;
  std::uint64_t pending_hook_ = 0;
  std::string delivered_;
  std::string pending_;
};

TEST_F(Retention, RemovesFinishedDeliveriesAndEventsOlderThanTheRetention) {
  open();
  publish_the_three();
  // Without a wake the pending retry (due in an hour) is not attempted: only
  // retention sees the new time.
  clock_.set_ms(k_t0 + k_retention.count() + 1);
  auto report = engine_->remove_expired();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->deliveries, 1u);
  EXPECT_EQ(report->events, 2u);  // the delivered one and the one that matched nothing
  EXPECT_EQ(report->kept, 1u);

  auto gone = engine_->delivery("acme", delivered_);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, errc::not_found);
  EXPECT_TRUE(
      engine_->deliveries("acme", ok_hook_, std::nullopt, std::nullopt, 10)->deliveries.empty());
  EXPECT_TRUE(
      engine_->deliveries("acme", ok_hook_, "succeeded", std::nullopt, 10)->deliveries.empty());
  // The event ids are free again: publishing them is new, not a duplicate.
  EXPECT_FALSE(publish(R"({"n": 1})", "customer_created", "acme", "evt_delivered").duplicate);
  EXPECT_FALSE(publish(R"({"n": 3})", "customer_created", "nobody", "evt_unmatched").duplicate);
  EXPECT_EQ(engine_->stats().expired_deliveries, 1u);
  EXPECT_EQ(engine_->stats().expired_events, 2u);
}

TEST_F(Retention, PendingWorkAndItsEventAreKeptHoweverOld) {
  open();
  publish_the_three();
  clock_.set_ms(k_t0 + 10 * k_retention.count());
  ASSERT_TRUE(engine_->remove_expired());
  const auto kept = engine_->delivery("acme", pending_);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->status, "pending");
  ASSERT_EQ(kept->attempts.size(), 1u);  // its log too
  EXPECT_EQ(kept->attempts[0].status_code, 500u);
  EXPECT_TRUE(publish(R"({"n": 2})", "outbound_message", "acme", "evt_pending").duplicate);
  // And it is still delivered when its time comes.
  failing_rx_.set_responder([](const received_request&) { return status(200); });
  engine_->wake();
  ASSERT_TRUE(engine_->wait_until([](const auto& s) { return s.succeeded >= 2; }, 30s));
  EXPECT_EQ(engine_->delivery("acme", pending_)->status, "succeeded");
}

TEST_F(Retention, NothingYoungerThanTheRetentionIsRemoved) {
  open();
  publish_the_three();
  clock_.set_ms(k_t0 + k_retention.count() - 1);
  auto report = engine_->remove_expired();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->deliveries, 0u);
  EXPECT_EQ(report->events, 0u);
  EXPECT_EQ(engine_->delivery("acme", delivered_)->status, "succeeded");
  EXPECT_EQ(engine_->delivery("acme", delivered_)->attempts.size(), 1u);
  EXPECT_TRUE(publish(R"({"n": 3})", "customer_created", "nobody", "evt_unmatched").duplicate);
}

TEST_F(Retention, ADeletedWebhooksCancelledDeliveriesGoWithTheRest) {
  open();
  publish_the_three();
  ASSERT_TRUE(engine_->webhooks().remove("acme", pending_hook_));
  ASSERT_TRUE(engine_->wait_until([](const auto& s) { return s.cancelled >= 1; }, 30s));
  clock_.set_ms(k_t0 + k_retention.count() + 1);
  auto report = engine_->remove_expired();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->deliveries, 2u);
  EXPECT_EQ(report->events, 3u);
  EXPECT_EQ(report->kept, 0u);
  EXPECT_EQ(engine_->delivery("acme", pending_).error().code, errc::not_found);
}

}  // namespace
}  // namespace hookd::test
