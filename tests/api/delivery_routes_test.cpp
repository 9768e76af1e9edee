// The delivery routes over real HTTP: publish, read the log, retry by hand, recover.
#include <atomic>
#include <string>
#include <vector>

#include "hookd/engine/clock.hpp"
#include "tests/api/api_fixture.hpp"
#include "tests/support/receiver.hpp"

namespace hookd::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class DeliveryRoutes : public api_fixture {
 protected:
  engine::engine_options engine_options() override {
    auto o = api_fixture::engine_options();
    o.retry_schedule = {};  // one attempt, then failed: repair is by hand here
    return o;
  }

  void SetUp() override {
    api_fixture::SetUp();
    rx_.set_responder([this](const received_request&) {
      reply r;
      r.status = healthy_ ? 200 : 500;
      return r;
    });
    auto created =
        call("POST", "/api/v1/webhooks",
             R"({"webhook": {"name": "r", "active": true, "settings": {"customer_created": true},
                            "url": ")" +
                 rx_.url() + R"(", "http_method": "POST"}})");
    ASSERT_EQ(created.status, 201u) << created.body;
    hook_ = std::to_string(json(created).at("id").to_number<std::uint64_t>());
  }

  void publish_events(int n) {
    for (int i = 0; i < n; ++i) {
      auto r = call("POST", "/api/v1/events",
                    R"({"event": {"type": "customer_created", "payload": {"i": )" +
                        std::to_string(i) + "}}}");
      ASSERT_EQ(r.status, 202u) << r.body;
    }
  }

  void wait_attempts(std::uint64_t n) {
    ASSERT_TRUE(engine_->wait_until(
        [n](const auto& s) { return s.attempts >= n && s.succeeded + s.failed_attempts >= n; },
        30s));
  }

  receiver rx_;
  std::atomic<bool> healthy_{false};
  std::string hook_;
};

TEST_F(DeliveryRoutes, ManualRetryDeliversAFailedDeliveryAgain) {
  publish_events(1);
  wait_attempts(1);
  auto list = json(call("GET", "/api/v1/webhooks/" + hook_ + "/deliveries?status=failed"));
  ASSERT_EQ(list.at("deliveries").as_array().size(), 1u);
  const std::string uuid(list.at("deliveries").as_array()[0].at("uuid").as_string());

  healthy_ = true;
  auto retried = call("POST", "/api/v1/deliveries/" + uuid + "/retry", "{}");
  ASSERT_EQ(retried.status, 202u) << retried.body;
  EXPECT_EQ(json(retried).at("delivery").at("status").as_string(), "pending");
  wait_attempts(2);
  rx_.wait_for_requests(2);
  EXPECT_EQ(rx_.requests()[1].header("webhook-id"), uuid);

  auto d = json(call("GET", "/api/v1/deliveries/" + uuid));
  EXPECT_EQ(d.at("status").as_string(), "succeeded");
  const auto& attempts = d.at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].at("manual"), json::value(false));
  EXPECT_EQ(attempts[1].at("manual"), json::value(true));
  EXPECT_EQ(attempts[1].at("status_code").to_number<int>(), 200);

  EXPECT_EQ(call("POST", "/api/v1/deliveries/" + uuid + "/retry", "{}", "tok_beta").status, 404u);
  EXPECT_EQ(call("GET", "/api/v1/deliveries/" + uuid + "/retry").status, 405u);
}

TEST_F(DeliveryRoutes, RecoverRequeuesFailedDeliveriesSinceATime) {
  publish_events(3);
  wait_attempts(3);
  healthy_ = true;
  // A time after they were created recovers nothing.
  auto none = call("POST", "/api/v1/webhooks/" + hook_ + "/recover",
                   R"({"since": "2999-01-01T00:00:00Z"})");
  ASSERT_EQ(none.status, 202u) << none.body;
  EXPECT_EQ(json(none).at("recovered").to_number<int>(), 0);

  auto all = call("POST", "/api/v1/webhooks/" + hook_ + "/recover",
                  R"({"since": "2020-01-01T00:00:00Z"})");
  ASSERT_EQ(all.status, 202u) << all.body;
  EXPECT_EQ(json(all).at("recovered").to_number<int>(), 3);
  rx_.wait_for_requests(6);
  wait_attempts(6);
  auto succeeded = json(call("GET", "/api/v1/webhooks/" + hook_ + "/deliveries?status=succeeded"));
  EXPECT_EQ(succeeded.at("deliveries").as_array().size(), 3u);

  auto bad = call("POST", "/api/v1/webhooks/" + hook_ + "/recover", R"({"since": "yesterday"})");
  EXPECT_EQ(bad.status, 422u);
  EXPECT_NE(bad.body.find("\"since\""), std::string::npos);
  EXPECT_EQ(call("POST", "/api/v1/webhooks/" + hook_ + "/recover",
                 R"({"since": "2020-01-01T00:00:00Z"})", "tok_beta")
                .status,
            404u);
}

// Deliveries created one millisecond apart on a manual clock, so "oldest first" has
// exactly one right answer, known from the order of publishing alone.
class DeliveryLog : public DeliveryRoutes {
 protected:
  engine::engine_options engine_options() override {
    auto o = DeliveryRoutes::engine_options();
    o.time_source = &clock_;
    return o;
  }

  engine::manual_clock clock_;
};

TEST_F(DeliveryLog, ListsOldestFirstAndPagesWithoutGapsOrRepeats) {
  healthy_ = true;
  constexpr int k_events = 7;
  // Event ids that sort backwards ("evt-z", "evt-y", ...), so a listing in id order
  // would be reversed; the payload's "i" is the publishing order.
  std::vector<std::string> event_ids;
  for (int i = 0; i < k_events; ++i) {
    clock_.advance(1ms);
    const std::string id = std::string("evt-") + static_cast<char>('z' - i);
    auto r =
        call("POST", "/api/v1/events",
             R"({"event": {"id": ")" + id + R"(", "type": "customer_created", "payload": {"i": )" +
                 std::to_string(i) + "}}}");
    ASSERT_EQ(r.status, 202u) << r.body;
    ASSERT_EQ(json(r).at("event").at("deliveries").to_number<int>(), 1);
    event_ids.push_back(id);
  }
  // Each delivery's uuid as it reached the receiver, placed by the publishing order
  // carried in its payload (the receiver may see them in any order).
  rx_.wait_for_requests(k_events);
  std::vector<std::string> uuids(k_events);
  for (const auto& req : rx_.requests()) {
    const auto body = json::parse(req.body);
    const auto i = body.at("i").to_number<std::size_t>();
    ASSERT_LT(i, uuids.size());
    ASSERT_TRUE(uuids[i].empty()) << "event " << i << " delivered twice";
    uuids[i] = std::string(body.at("uuid").as_string());
  }

  std::vector<std::string> listed_uuids;
  std::vector<std::string> listed_events;
  std::string target = "/api/v1/webhooks/" + hook_ + "/deliveries?limit=2";
  for (int page = 0;; ++page) {
    ASSERT_LT(page, k_events) << "paging does not end";
    auto r = call("GET", target);
    ASSERT_EQ(r.status, 200u) << r.body;
    auto v = json(r);
    const auto& items = v.at("deliveries").as_array();
    ASSERT_LE(items.size(), 2u);
    for (const auto& d : items) {
      listed_uuids.emplace_back(d.at("uuid").as_string());
      listed_events.emplace_back(d.at("event_id").as_string());
    }
    if (v.at("next_after").is_null()) break;
    // The next page starts right after the last delivery of this one.
    ASSERT_FALSE(items.empty());
    EXPECT_EQ(v.at("next_after").as_string(), items.back().at("uuid").as_string());
    target = "/api/v1/webhooks/" + hook_ +
             "/deliveries?limit=2&after=" + std::string(v.at("next_after").as_string());
  }
  EXPECT_EQ(listed_uuids, uuids);
  EXPECT_EQ(listed_events, event_ids);
  EXPECT_EQ(call("GET", "/api/v1/webhooks/" + hook_ + "/deliveries", {}, "tok_beta").status, 404u);
}

}  // namespace
}  // namespace hookd::test

namespace hookd::test {
namespace {

TEST_F(DeliveryRoutes, APayloadReachesTheReceiverAsWrittenWithUuidAndActionSpliced) {
  healthy_ = true;
  // Beyond 64 bits, exponent and trailing-zero spellings, escapes, key order: simdjson's
  // numbers would have refused the first and rewritten the others.
  const std::string payload =
      R"({"z":1,"big":123456789012345678901234567890,"f":1.50E+2,"s":"caf\u00e9 \/"})";
  auto r = call("POST", "/api/v1/events",
                R"({"event": {"type": "customer_created", "payload": )" + payload + "}}");
  ASSERT_EQ(r.status, 202u) << r.body;
  rx_.wait_for_requests(1);
  const auto got = rx_.requests().at(0);
  const std::string uuid = got.header("webhook-id");
  EXPECT_EQ(got.body,
            R"({"uuid":")" + uuid + R"(","action":"customer_created",)" + payload.substr(1));
}

TEST_F(DeliveryRoutes, DuplicateKeysInARequestBodyAre400NamingTheKey) {
  auto event = call("POST", "/api/v1/events",
                    R"({"event": {"type": "customer_created", "payload": {"a": 1, "a": 2}}})");
  ASSERT_EQ(event.status, 400u) << event.body;
  auto v = json(event);
  EXPECT_EQ(v.at("error").at("code").as_string(), "malformed_json");
  EXPECT_EQ(v.at("error").at("details").at(0).at("field").as_string(), "event.payload.a");

  auto webhook = call("PATCH", "/api/v1/webhooks/" + hook_,
                      R"({"webhook": {"url": "https://a.example/", "url": "http://10.0.0.1/"}})");
  ASSERT_EQ(webhook.status, 400u) << webhook.body;
  EXPECT_EQ(json(webhook).at("error").at("details").at(0).at("field").as_string(), "webhook.url");

  auto recover = call("POST", "/api/v1/webhooks/" + hook_ + "/recover",
                      R"({"since": "2020-01-01T00:00:00Z", "since": "2999-01-01T00:00:00Z"})");
  ASSERT_EQ(recover.status, 400u) << recover.body;
  EXPECT_EQ(json(recover).at("error").at("details").at(0).at("field").as_string(), "since");
  EXPECT_EQ(rx_.request_count(), 0u) << "nothing was published";
}

TEST_F(DeliveryRoutes, ADeliveryShowsTheBodyItSendsByteForByte) {
  // Numbers and escapes as the publisher wrote them, not as a JSON library would.
  auto r =
      call("POST", "/api/v1/events",
           R"({"event": {"type": "customer_created", "payload": {"n": 1.50, "s": "\u00e9"}}})");
  ASSERT_EQ(r.status, 202u) << r.body;
  wait_attempts(1);
  rx_.wait_for_requests(1);
  const auto sent = rx_.requests()[0];
  auto shown = json(call("GET", "/api/v1/deliveries/" + sent.header("webhook-id")));
  EXPECT_EQ(shown.at("payload").as_string(), sent.body);
  EXPECT_NE(sent.body.find(R"("n":1.50,"s":"\u00e9")"), std::string::npos) << sent.body;
  // Lists leave it out, as they leave out the attempts.
  auto listed = json(call("GET", "/api/v1/webhooks/" + hook_ + "/deliveries"));
  EXPECT_FALSE(listed.at("deliveries").as_array()[0].as_object().contains("payload"));
}

TEST_F(DeliveryRoutes, DeliveriesListNewestFirstOnAskAndPageBackwards) {
  publish_events(5);
  wait_attempts(5);
  const std::string base = "/api/v1/webhooks/" + hook_ + "/deliveries";
  auto uuids = [&](const std::string& query) {
    auto r = call("GET", base + query);
    EXPECT_EQ(r.status, 200u) << r.body;
    std::vector<std::string> out;
    const auto body = json(r);
    for (const auto& d : body.at("deliveries").as_array()) {
      out.emplace_back(d.at("uuid").as_string());
    }
    return out;
  };
  auto oldest = uuids("");
  ASSERT_EQ(oldest.size(), 5u);
  const std::vector<std::string> newest(oldest.rbegin(), oldest.rend());
  EXPECT_EQ(uuids("?order=oldest"), oldest);
  EXPECT_EQ(uuids("?order=newest"), newest);

  // Paged two at a time, newest first, with next_after in that order.
  auto first = json(call("GET", base + "?order=newest&limit=2"));
  const std::string after(first.at("next_after").as_string());
  EXPECT_EQ(after, newest[1]);
  EXPECT_EQ(uuids("?order=newest&limit=2&after=" + after),
            (std::vector<std::string>{newest[2], newest[3]}));
  EXPECT_EQ(uuids("?order=newest&status=failed&limit=1"), (std::vector<std::string>{newest[0]}));

  auto bad = call("GET", base + "?order=random");
  EXPECT_EQ(bad.status, 422u);
  EXPECT_EQ(json(bad).at("error").at("details").as_array()[0].at("field"), "order");
}

TEST_F(DeliveryRoutes, OverviewShowsEachWebhookWithItsStatsAndNewestDelivery) {
  publish_events(3);
  wait_attempts(3);
  const auto quiet = create("tok_acme", "quiet");  // no deliveries
  create("tok_beta", "beta's");                    // another account's

  auto r = call("GET", "/api/v1/overview?window=6h");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto page = json(r);
  const auto& items = page.at("webhooks").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_TRUE(page.at("next_after").is_null());

  const auto& busy = items[0];
  EXPECT_EQ(std::to_string(busy.at("webhook").at("id").to_number<std::uint64_t>()), hook_);
  EXPECT_EQ(busy.at("stats").at("buckets").as_array().size(), 6u);
  EXPECT_EQ(busy.at("stats").at("totals").at("failed_attempts").to_number<std::uint64_t>(), 3u);
  const auto& last = busy.at("last_delivery");
  EXPECT_EQ(last.at("status"), "failed");
  const auto newest = json(call("GET", "/api/v1/webhooks/" + hook_ + "/deliveries?order=newest"));
  EXPECT_EQ(last.at("uuid"), newest.at("deliveries").as_array()[0].at("uuid"));

  const auto& idle = items[1];
  EXPECT_EQ(idle.at("webhook").at("id").to_number<std::uint64_t>(), quiet);
  EXPECT_TRUE(idle.at("last_delivery").is_null());
  EXPECT_TRUE(idle.at("stats").at("totals").at("success_rate").is_null());

  // Paged like the list.
  auto one = json(call("GET", "/api/v1/overview?limit=1"));
  ASSERT_EQ(one.at("webhooks").as_array().size(), 1u);
  const auto next = one.at("next_after").to_number<std::uint64_t>();
  auto rest = json(call("GET", "/api/v1/overview?after=" + std::to_string(next)));
  ASSERT_EQ(rest.at("webhooks").as_array().size(), 1u);
  EXPECT_EQ(rest.at("webhooks").as_array()[0].at("webhook").at("id").to_number<std::uint64_t>(),
            quiet);

  auto bad = call("GET", "/api/v1/overview?limit=0&after=x");
  EXPECT_EQ(bad.status, 422u);
}

TEST_F(DeliveryRoutes, EventTypesListTheCatalogInItsOrder) {
  auto r = call("GET", "/api/v1/event-types");
  ASSERT_EQ(r.status, 200u) << r.body;
  std::vector<std::string> types;
  const auto body = json(r);
  for (const auto& t : body.at("event_types").as_array()) types.emplace_back(t.as_string());
  EXPECT_EQ(types, catalog_.types());
  EXPECT_EQ(call("GET", "/api/v1/event-types", {}, "").status, 401u);
}

}  // namespace
}  // namespace hookd::test
