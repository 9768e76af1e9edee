// The engine end to end: publish, match, deliver over real HTTP to local receivers,
// log every attempt.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>

#include <boost/json/parse.hpp>

#include "tests/integration/engine_fixture.hpp"
#include "tests/support/test_ca.hpp"

namespace hookd::test {
namespace {

namespace json = boost::json;

using Delivery = engine_fixture;

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_F(Delivery, PostCarriesPayloadWithUuidActionAndSignedHeaders) {
  open();
  receiver rx;
  const auto id = create_webhook(rx.url("/hooks/in"));
  const auto before = unix_seconds();
  auto published = publish(R"({"text": "hello", "customer": {"first_name": "Ann"}})");
  EXPECT_EQ(published.deliveries, 1u);
  rx.wait_for_requests(1);
  const auto after = unix_seconds();
  const auto req = rx.requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/hooks/in");
  EXPECT_EQ(req.header("content-type"), "application/json");
  EXPECT_TRUE(req.header("user-agent").starts_with("hookd/")) << req.header("user-agent");
  const auto body = json::parse(req.body);
  EXPECT_EQ(body.at("action").as_string(), "customer_created");
  EXPECT_EQ(body.at("uuid").as_string(), req.header("webhook-id"));
  EXPECT_EQ(body.at("text").as_string(), "hello");
  EXPECT_EQ(body.at("customer").at("first_name").as_string(), "Ann");
  EXPECT_TRUE(verify_standard_webhooks_signature(secret_of(id), req.header("webhook-id"),
                                                 req.header("webhook-timestamp"), req.body,
                                                 req.header("webhook-signature")))
      << req.header("webhook-signature");
  // The attempt's own time: between the publish and the request's arrival.
  const auto ts = std::stoll(req.header("webhook-timestamp"));
  EXPECT_GE(ts, before);
  EXPECT_LE(ts, after);
}

TEST_F(Delivery, EachMethodUsesItsBodyOrQueryForm) {
  open();
  receiver rx;
  std::map<std::string, std::uint64_t> ids;
  for (const char* m : {"POST", "PUT", "PATCH", "GET", "DELETE"}) {
    ids[m] = create_webhook(rx.url(std::string("/") + m + "?k=1"), m);
  }
  publish(R"({"customer": {"first_name": "Ann Lee", "tags": ["a", "b+c"]}, "n": 3})");
  rx.wait_for_requests(5);
  std::set<std::string> seen;
  for (const auto& req : rx.requests()) {
    seen.insert(req.method);
    const auto secret = secret_of(ids.at(req.method));
    if (req.method == "GET" || req.method == "DELETE") {
      EXPECT_TRUE(req.body.empty()) << req.method;
      const std::string prefix = "/" + req.method + "?k=1&";
      ASSERT_TRUE(req.target.starts_with(prefix)) << req.target;
      const std::string query = req.target.substr(prefix.size());
      EXPECT_EQ(query, "uuid=" + req.header("webhook-id") +
                           "&action=customer_created&customer[first_name]=Ann%20Lee"
                           "&customer[tags][]=a&customer[tags][]=b%2Bc&n=3");
      // For GET and DELETE the signed content is the query string hookd built.
      EXPECT_TRUE(verify_standard_webhooks_signature(secret, req.header("webhook-id"),
                                                     req.header("webhook-timestamp"), query,
                                                     req.header("webhook-signature")));
    } else {
      EXPECT_EQ(req.target, "/" + req.method + "?k=1");
      const auto body = json::parse(req.body);
      EXPECT_EQ(body.at("uuid").as_string(), req.header("webhook-id"));
      EXPECT_EQ(body.at("n").to_number<int>(), 3);
      EXPECT_TRUE(verify_standard_webhooks_signature(secret, req.header("webhook-id"),
                                                     req.header("webhook-timestamp"), req.body,
                                                     req.header("webhook-signature")));
    }
  }
  EXPECT_EQ(seen, (std::set<std::string>{"POST", "PUT", "PATCH", "GET", "DELETE"}));
}

TEST_F(Delivery, ManyEventsToManyWebhooksArriveExactlyOnceEach) {
  open();
  receiver a;
  receiver b;
  std::vector<std::uint64_t> hooks;
  for (int i = 0; i < 10; ++i) {
    hooks.push_back(create_webhook((i % 2 ? a : b).url("/h" + std::to_string(i))));
  }
  create_webhook(a.url("/other-type"), "POST", "acme", "outbound_message");
  create_webhook(a.url("/other-account"), "POST", "beta");
  constexpr int k_events = 100;
  std::set<std::string> event_ids;
  for (int e = 0; e < k_events; ++e) {
    auto r = publish(R"({"n": )" + std::to_string(e) + "}");
    EXPECT_EQ(r.deliveries, hooks.size());
    event_ids.insert(r.event_id);
  }
  EXPECT_EQ(event_ids.size(), static_cast<std::size_t>(k_events));
  a.wait_for_requests(k_events * 5);
  b.wait_for_requests(k_events * 5);
  settle();  // every outcome written; nothing more can arrive
  std::map<std::pair<std::string, int>, int> per_hook_event;
  std::set<std::string> uuids;
  for (const auto* rx : {&a, &b}) {
    for (const auto& req : rx->requests()) {
      auto body = json::parse(req.body);
      ++per_hook_event[{req.target, body.at("n").to_number<int>()}];
      uuids.insert(req.header("webhook-id"));
    }
  }
  EXPECT_EQ(per_hook_event.size(), hooks.size() * k_events);
  for (const auto& [key, count] : per_hook_event) {
    EXPECT_EQ(count, 1) << key.first << " event " << key.second;
  }
  EXPECT_EQ(uuids.size(), hooks.size() * k_events);
  const auto stats = engine_->stats();
  EXPECT_EQ(stats.succeeded, hooks.size() * k_events);
  EXPECT_EQ(stats.failed_attempts, 0u);
}

TEST_F(Delivery, ConnectionsAreReusedUpToThePerOriginLimit) {
  auto o = options();
  o.threads = 1;
  o.http.connections_per_origin = 4;
  open(o);
  receiver rx;
  create_webhook(rx.url());
  constexpr std::size_t k_n = 300;
  for (std::size_t i = 0; i < k_n; ++i) publish();
  rx.wait_for_requests(k_n);
  EXPECT_LE(rx.connections_accepted(), 4u);
  EXPECT_GE(rx.connections_accepted(), 1u);
  EXPECT_EQ(engine_->stats().connections_opened, rx.connections_accepted());
}

TEST_F(Delivery, SucceededDeliveryIsLoggedWithItsAttempt) {
  open();
  receiver rx;
  rx.set_responder([](const received_request&) {
    reply r;
    r.status = 201;
    r.body = R"({"ok":true})";
    return r;
  });
  const auto hook = create_webhook(rx.url());
  publish();
  rx.wait_for_requests(1);
  const std::string uuid = rx.requests()[0].header("webhook-id");
  settle();
  auto d = engine_->delivery("acme", uuid);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->status, "succeeded");
  EXPECT_EQ(d->webhook_id, hook);
  EXPECT_EQ(d->event_type, "customer_created");
  EXPECT_FALSE(d->next_attempt_at_ms);
  ASSERT_EQ(d->attempts.size(), 1u);
  EXPECT_EQ(d->attempts[0].number, 1u);
  EXPECT_EQ(d->attempts[0].status_code, 201u);
  EXPECT_TRUE(d->attempts[0].error_kind.empty());
  EXPECT_EQ(d->attempts[0].response_excerpt, R"({"ok":true})");
  EXPECT_FALSE(engine_->delivery("beta", uuid)) << "another account saw the delivery";
}

TEST_F(Delivery, FailedAttemptsAreLoggedWithReasonAndExcerpt) {
  auto o = options();
  o.retry_schedule = {std::chrono::milliseconds(1)};
  open(o);
  receiver rx;
  const std::string big(4000, 'x');
  rx.set_responder([&](const received_request&) {
    reply r;
    r.status = 500;
    r.body = big;
    return r;
  });
  create_webhook(rx.url());
  publish();
  rx.wait_for_requests(2);  // the first attempt and the one retry
  const std::string uuid = rx.requests()[0].header("webhook-id");
  settle();
  auto d = engine_->delivery("acme", uuid);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, "failed");
  ASSERT_EQ(d->attempts.size(), 2u);
  for (const auto& a : d->attempts) {
    EXPECT_EQ(a.status_code, 500u);
    EXPECT_EQ(a.error_kind, "http_status");
    EXPECT_FALSE(a.error.empty());
    EXPECT_EQ(a.response_excerpt, std::string(1024, 'x'));
  }
}

TEST_F(Delivery, PrivateTargetsAreRefusedWithoutTheOption) {
  auto o = options();
  o.http.allow_private_targets = false;
  o.retry_schedule = {};
  open(o);
  receiver rx;
  const auto hook = create_webhook(rx.url());
  publish();
  settle();
  auto list = engine_->deliveries("acme", hook, std::nullopt, std::nullopt, 10);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->deliveries.size(), 1u);
  auto d = engine_->delivery("acme", list->deliveries[0].uuid).value();
  EXPECT_EQ(d.status, "failed");
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0].error_kind, "blocked_destination");
  EXPECT_FALSE(d.attempts[0].status_code);
  EXPECT_EQ(rx.request_count(), 0u);
}

TEST_F(Delivery, HttpsReceiverWithTrustedTestCa) {
  test_ca ca(dir_.path());
  auto cert = ca.issue("127.0.0.1", (dir_.path() / "leaf").string());
  receiver rx({.cert_file = cert.cert_file, .key_file = cert.key_file});
  auto o = options();
  o.http.extra_ca_file = ca.ca_file();
  open(o);
  create_webhook(rx.url());
  publish();
  rx.wait_for_requests(1);
  settle();
  EXPECT_EQ(engine_->stats().succeeded, 1u);
  EXPECT_TRUE(rx.url().starts_with("https://"));
}

TEST_F(Delivery, HttpsReceiverWithUntrustedCertificateIsATlsFailure) {
  test_ca ca(dir_.path());
  auto cert = ca.issue("127.0.0.1", (dir_.path() / "leaf").string());
  receiver rx({.cert_file = cert.cert_file, .key_file = cert.key_file});
  auto o = options();
  o.retry_schedule = {};
  open(o);  // the test CA is not trusted
  const auto hook = create_webhook(rx.url());
  publish();
  settle();
  auto list = engine_->deliveries("acme", hook, "failed", std::nullopt, 10).value();
  ASSERT_EQ(list.deliveries.size(), 1u);
  auto d = engine_->delivery("acme", list.deliveries[0].uuid).value();
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0].error_kind, "tls");
  EXPECT_EQ(rx.request_count(), 0u);
}

TEST_F(Delivery, RegistryChangesAreSeenByTheNextPublish) {
  open();
  receiver rx;
  EXPECT_EQ(publish().deliveries, 0u);
  const auto hook = create_webhook(rx.url());
  EXPECT_EQ(publish().deliveries, 1u);
  ASSERT_TRUE(engine_->webhooks().patch("acme", hook, R"({"webhook": {"active": false}})"));
  EXPECT_EQ(publish().deliveries, 0u);
  ASSERT_TRUE(engine_->webhooks().patch("acme", hook, R"({"webhook": {"active": true}})"));
  EXPECT_EQ(publish().deliveries, 1u);
  ASSERT_TRUE(engine_->webhooks().remove("acme", hook));
  EXPECT_EQ(publish().deliveries, 0u);
}

TEST_F(Delivery, PublishRejectsBadEventsNamingTheField) {
  open();
  struct bad {
    std::string type, payload, field;
  };
  for (const auto& b : std::vector<bad>{
           {"no_such_type", "{}", "event.type"},
           {"customer_created", "[1]", "event.payload"},
           {"customer_created", "not json", "event.payload"},
           {"customer_created", R"({"uuid": "x"})", "event.payload"},
           {"customer_created", R"({"action": "x"})", "event.payload"},
           {"customer_created", R"({"a": ")" + std::string(256 * 1024, 'x') + R"("})",
            "event.payload"},
       }) {
    auto r = engine_->publish("acme", b.type, b.payload);
    ASSERT_FALSE(r) << b.type << " " << b.payload.substr(0, 40);
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    ASSERT_EQ(r.error().details.size(), 1u);
    EXPECT_EQ(r.error().details[0].field, b.field);
  }
  EXPECT_EQ(engine_->stats().published_events, 0u);
}

TEST_F(Delivery, RepeatedEventIdReturnsFirstAnswerAndCreatesNothing) {
  open();
  receiver rx;
  create_webhook(rx.url());
  auto first = publish(R"({"n": 1})", "customer_created", "acme", "order-17");
  EXPECT_FALSE(first.duplicate);
  EXPECT_EQ(first.event_id, "order-17");
  EXPECT_EQ(first.deliveries, 1u);
  create_webhook(rx.url("/second"));  // would match now, but the event is a repeat
  auto again = publish(R"({"n": 2})", "customer_created", "acme", "order-17");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.event_id, "order-17");
  EXPECT_EQ(again.deliveries, 1u);
  // The same id in another account is another event.
  EXPECT_FALSE(publish(R"({"n": 3})", "customer_created", "beta", "order-17").duplicate);
  rx.wait_for_requests(1);
  settle();
  EXPECT_EQ(rx.request_count(), 1u);
  EXPECT_EQ(engine_->stats().deliveries_created, 1u);
}

TEST_F(Delivery, StopLeavesUndeliveredQueuedAndRestartDeliversWithSameIds) {
  receiver silent;
  silent.set_responder([](const received_request&) {
    reply r;
    r.never_answer = true;
    return r;
  });
  open();
  const auto hook = create_webhook(silent.url());
  constexpr std::size_t k_n = 5;
  for (std::size_t i = 0; i < k_n; ++i) publish();
  silent.wait_for_requests(k_n);
  std::set<std::string> first_ids;
  for (const auto& r : silent.requests()) first_ids.insert(r.header("webhook-id"));
  engine_->stop(std::chrono::milliseconds(50));  // the requests are cut, not failed
  engine_.reset();

  // Point the same webhook at a receiver that answers, then start again.
  receiver ok;
  {
    auto e = engine::engine::open(options()).value();
    ASSERT_TRUE(
        e->webhooks().patch("acme", hook, R"({"webhook": {"url": ")" + ok.url() + R"("}})"));
  }
  open();
  ok.wait_for_requests(k_n);
  std::set<std::string> second_ids;
  for (const auto& r : ok.requests()) second_ids.insert(r.header("webhook-id"));
  EXPECT_EQ(second_ids, first_ids);
}

}  // namespace
}  // namespace hookd::test

namespace hookd::test {
namespace {

using DeliveryRetries = engine_fixture;

TEST_F(DeliveryRetries, ReceiverFailingKTimesGetsKPlusOneRequestsWithFreshSignatures) {
  auto o = options();
  // Whole seconds apart so each attempt's webhook-timestamp (unix seconds) differs.
  o.retry_schedule = {std::chrono::milliseconds(1100), std::chrono::milliseconds(1100),
                      std::chrono::milliseconds(1100)};
  open(o);
  receiver rx;
  constexpr int k_failures = 2;
  std::atomic<int> seen{0};
  rx.set_responder([&](const received_request&) {
    reply r;
    r.status = seen.fetch_add(1) < k_failures ? 503 : 200;
    return r;
  });
  const auto hook = create_webhook(rx.url());
  publish();
  rx.wait_for_requests(k_failures + 1);
  settle();
  const auto requests = rx.requests();
  ASSERT_EQ(requests.size(), static_cast<std::size_t>(k_failures + 1));
  std::set<std::string> timestamps;
  std::set<std::string> signatures;
  for (const auto& r : requests) {
    EXPECT_EQ(r.header("webhook-id"), requests[0].header("webhook-id"));
    EXPECT_EQ(r.body, requests[0].body);
    EXPECT_TRUE(verify_standard_webhooks_signature(secret_of(hook), r.header("webhook-id"),
                                                   r.header("webhook-timestamp"), r.body,
                                                   r.header("webhook-signature")));
    timestamps.insert(r.header("webhook-timestamp"));
    signatures.insert(r.header("webhook-signature"));
  }
  EXPECT_EQ(timestamps.size(), requests.size());
  EXPECT_EQ(signatures.size(), requests.size());
  auto d = engine_->delivery("acme", requests[0].header("webhook-id")).value();
  EXPECT_EQ(d.status, "succeeded");
  EXPECT_EQ(d.attempts.size(), static_cast<std::size_t>(k_failures + 1));
}

TEST_F(DeliveryRetries, FailingOriginDoesNotDelayAHealthyOne) {
  auto o = options();
  // Longer than the test may take: a stuck attempt ends only when the engine stops.
  o.http.attempt_timeout = std::chrono::minutes(10);
  o.retry_schedule = {std::chrono::seconds(60)};
  o.threads = 1;  // both origins share one worker
  open(o);
  receiver stuck;
  stuck.set_responder([](const received_request&) {
    reply r;
    r.never_answer = true;
    return r;
  });
  receiver healthy;
  create_webhook(stuck.url(), "POST", "acme", "customer_created");
  create_webhook(healthy.url(), "POST", "acme", "outbound_message");
  constexpr std::size_t k_n = 300;
  for (std::size_t i = 0; i < k_n; ++i) {
    publish(R"({"n": 1})", "customer_created");
    publish(R"({"n": 1})", "outbound_message");
  }
  healthy.wait_for_requests(k_n);
  ASSERT_TRUE(engine_->wait_until([](const auto& s) { return s.succeeded >= k_n; },
                                  std::chrono::seconds(30)));
  // Every healthy delivery succeeded while no stuck attempt had ended (they never
  // answer and cannot time out yet): the healthy origin never waited behind them.
  const auto stats = engine_->stats();
  EXPECT_EQ(stats.succeeded, k_n);
  EXPECT_EQ(stats.failed_attempts, 0u);
  // The stuck origin holds at most its connection limit of requests; the rest wait
  // in its own queue, not in front of the healthy origin's deliveries.
  EXPECT_GE(stuck.request_count(), 1u);
  EXPECT_LE(stuck.request_count(), o.http.connections_per_origin);
  EXPECT_EQ(healthy.request_count(), k_n);
  engine_->stop(std::chrono::milliseconds(0));  // cut: they stay queued on disk
}

TEST_F(DeliveryRetries, TimeoutsShrinkTheStuckOriginsConcurrency) {
  auto o = options();
  o.http.attempt_timeout = std::chrono::milliseconds(300);
  o.retry_schedule = {std::chrono::seconds(60)};
  o.threads = 1;
  open(o);
  receiver stuck;
  stuck.set_responder([](const received_request&) {
    reply r;
    r.never_answer = true;
    return r;
  });
  create_webhook(stuck.url());
  constexpr std::size_t k_n = 20;
  for (std::size_t i = 0; i < k_n; ++i) publish();
  // The first attempts time out, each halving the origin's concurrency.
  ASSERT_TRUE(engine_->wait_until([](const auto& s) { return s.backoff_events >= 1; },
                                  std::chrono::seconds(20)));
  const auto stats = engine_->stats();
  EXPECT_GE(stats.failed_attempts, 1u);
  EXPECT_EQ(stats.succeeded, 0u);
  settle();
  const auto uuid = stuck.requests().at(0).header("webhook-id");
  const auto d = engine_->delivery("acme", uuid).value();
  ASSERT_FALSE(d.attempts.empty());
  EXPECT_EQ(d.attempts[0].error_kind, "timeout");
  EXPECT_NE(d.attempts[0].error.find("no response within 300 ms"), std::string::npos)
      << d.attempts[0].error;
}

}  // namespace
}  // namespace hookd::test
