// /metrics as Prometheus scrapes it, moving with the work: counters, the gauges of what
// the workers hold (in flight, held, per origin), latency histograms, storage.
#include <array>
#include <atomic>
#include <map>
#include <regex>
#include <sstream>

#include "tests/api/api_fixture.hpp"
#include "tests/support/receiver.hpp"

namespace hookd::test {
namespace {

using namespace std::chrono_literals;

class Metrics : public api_fixture {
 protected:
  void SetUp() override {
    api_fixture::SetUp();
    rx_.set_responder([this](const received_request&) {
      reply r;
      r.never_answer = hanging_.load();
      return r;
    });
    auto created = call("POST", "/api/v1/webhooks",
                        R"({"webhook": {"name": "m", "active": true, "settings": )"
                        R"({"customer_created": true}, "url": ")" +
                            rx_.url() + R"(", "http_method": "POST"}})");
    ASSERT_EQ(created.status, 201u) << created.body;
  }

  // Every sample of the scrape by its name with labels, e.g.
  // hookd_origin_held{origin="http://127.0.0.1:4000"}; each line is checked to be a
  // comment or a sample.
  std::map<std::string, double> scrape() {
    auto r = call("GET", "/metrics", {}, "tok_ops");
    EXPECT_EQ(r.status, 200u);
    static const std::regex sample(R"(^([a-z_:]+(\{[^}]*\})?) (-?[0-9.e+]+|\+Inf)$)");
    std::map<std::string, double> out;
    std::istringstream lines(r.body);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
      std::smatch m;
      EXPECT_TRUE(std::regex_match(line, m, sample)) << "not a sample: " << line;
      if (!m.empty()) out[m[1]] = std::stod(m[3]);
    }
    return out;
  }

  void publish(int n) {
    for (int i = 0; i < n; ++i) {
      auto r = call("POST", "/api/v1/events",
                    R"({"event": {"type": "customer_created", "payload": {"i": )" +
                        std::to_string(i) + "}}}");
      ASSERT_EQ(r.status, 202u) << r.body;
    }
  }

  receiver rx_;
  std::atomic<bool> hanging_{false};
};

TEST_F(Metrics, CountersHistogramsAndStorageMoveWithDeliveries) {
  const auto before = scrape();
  EXPECT_EQ(before.at("hookd_delivery_attempt_duration_seconds_count"), 0);
  EXPECT_EQ(before.at("hookd_storage_state{state=\"ok\"}"), 1);
  EXPECT_GT(before.at("hookd_storage_free_bytes"), 0);
  EXPECT_EQ(before.at("hookd_storage_min_free_bytes"), 128.0 * 1024 * 1024);

  publish(5);
  rx_.wait_for_requests(5);
  ASSERT_TRUE(engine_->wait_until([](const auto& s) { return s.succeeded >= 5; }, 30s));
  const auto after = scrape();
  EXPECT_EQ(after.at("hookd_events_published_total"), 5);
  EXPECT_EQ(after.at("hookd_publish_duration_seconds_count"), 5);
  EXPECT_EQ(after.at("hookd_delivery_attempt_duration_seconds_count"), 5);
  EXPECT_EQ(after.at("hookd_delivery_latency_seconds_count"), 5);
  EXPECT_EQ(after.at("hookd_delivery_latency_seconds_bucket{le=\"+Inf\"}"), 5);
  EXPECT_GE(after.at("hookd_delivery_latency_seconds_sum"), 0);
  // Buckets are cumulative.
  EXPECT_LE(after.at("hookd_delivery_attempt_duration_seconds_bucket{le=\"0.001\"}"),
            after.at("hookd_delivery_attempt_duration_seconds_bucket{le=\"300\"}"));
  EXPECT_EQ(after.at("hookd_metrics_workers_complete"), 1);
  EXPECT_EQ(after.at("hookd_origins"), 1);
  EXPECT_EQ(after.at("hookd_delivery_outcome_write_failures_total"), 0);
  EXPECT_TRUE(after.contains("hookd_rocksdb_memtable_bytes"));
}

TEST_F(Metrics, WebhooksAreCountedByStateAcrossChangesAndRestarts) {
  auto counts = [this] {
    auto m = scrape();
    return std::array<double, 3>{m["hookd_webhooks{state=\"active\"}"],
                                 m["hookd_webhooks{state=\"inactive\"}"],
                                 m["hookd_webhooks{state=\"disabled\"}"]};
  };
  EXPECT_EQ(counts(), (std::array<double, 3>{1, 0, 0}));  // the fixture's webhook
  const auto second = create();
  const auto third = create();
  ASSERT_EQ(call("PATCH", "/api/v1/webhooks/" + std::to_string(second),
                 R"({"webhook": {"active": false}})")
                .status,
            200u);
  ASSERT_TRUE(engine_->webhooks().disable(third, "failing for 5 days"));
  EXPECT_EQ(counts(), (std::array<double, 3>{1, 1, 1}));
  ASSERT_EQ(call("DELETE", "/api/v1/webhooks/" + std::to_string(second)).status, 204u);
  EXPECT_EQ(counts(), (std::array<double, 3>{1, 0, 1}));
  // Stored with each change: a restart reads them back.
  stop();
  start();
  EXPECT_EQ(counts(), (std::array<double, 3>{1, 0, 1}));
}

TEST_F(Metrics, InFlightAndHeldGaugesShowAReceiverThatHangs) {
  hanging_ = true;
  publish(3);
  rx_.wait_for_requests(3);
  const std::string origin =
      "hookd_origin_in_flight{origin=\"http://127.0.0.1:" + std::to_string(rx_.port()) + "\"}";
  // The attempts are under way (the receiver holds them): the gauges say so.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::map<std::string, double> m;
  do {
    m = scrape();
  } while (m["hookd_deliveries_in_flight"] < 3 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(m["hookd_deliveries_in_flight"], 3);
  EXPECT_GE(m["hookd_deliveries_held"], 3);
  ASSERT_TRUE(m.contains(origin)) << "no per-origin gauge for the receiver";
  EXPECT_EQ(m[origin], 3);
  EXPECT_GE(m["hookd_origin_concurrency_limit{origin=\"http://127.0.0.1:" +
              std::to_string(rx_.port()) + "\"}"],
            1);
  // The receiver never answers: cut the attempts now rather than after the 10 s drain.
  engine_->stop(100ms);
}

}  // namespace
}  // namespace hookd::test
