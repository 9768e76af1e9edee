// The dispatcher's HTTP client against real local receivers on port 0: the request
// on the wire, status classification, keep-alive pools and their limits, failures of
// every kind, destination checks and https with a generated CA. Host names resolve
// through injected lookups, never the machine's DNS.
#include "engine/http/client.hpp"

#include <atomic>
#include <latch>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "engine/registry/webhook_url.hpp"
#include "tests/support/receiver.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_ca.hpp"

namespace hookd::test {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using engine::error_kind;
using header_list = std::vector<std::pair<std::string, std::string>>;

// Owns what an http_request points at, for as long as the request runs. The URL is
// parsed as the subscription snapshot parses a stored one.
struct call {
  std::string method = "POST";
  std::string url{};
  std::string body{};
  header_list headers{};
  std::optional<std::string> target{};  // sent instead of the URL's own target
  mutable engine::webhook_url endpoint{};
  mutable std::vector<std::pair<std::string_view, std::string_view>> header_views{};

  engine::http_request request() const {
    endpoint = engine::parse_stored_webhook_url(url);
    header_views.assign(headers.begin(), headers.end());
    return {.method = method,
            .url = &endpoint,
            .target = target ? std::string_view(*target) : std::string_view(endpoint.target),
            .headers = header_views,
            .body = body};
  }
};

// Lookups answered from a table, counting the calls; names not in it do not exist.
struct fake_dns {
  std::map<std::string, std::vector<std::string>> answers;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);

  engine::name_lookup lookup() const {
    return [answers = answers, calls = calls](const std::string& host) {
      calls->fetch_add(1);
      auto it = answers.find(host);
      if (it == answers.end()) return engine::name_lookup_answer{{}, "Name or service not known"};
      return engine::name_lookup_answer{it->second, {}};
    };
  }
};

// Holds lookups until released, at the latest when it goes out of scope, so no pool
// thread is left blocked after a test.
struct held_lookups {
  std::shared_ptr<std::latch> gate = std::make_shared<std::latch>(1);
  ~held_lookups() { release(); }
  void release() {
    if (!released_) gate->count_down();
    released_ = true;
  }
  engine::name_lookup lookup() const {
    return [gate = gate](const std::string&) {
      gate->wait();
      return engine::name_lookup_answer{{"127.0.0.1"}, {}};
    };
  }

 private:
  bool released_ = false;
};

class HttpClient : public ::testing::Test {
 protected:
  void TearDown() override {
    // Nothing may be left pending once the pools are closed: run() must return.
    for (auto* c : clients_) c->close_all();
    ioc_.restart();
    ioc_.run_for(10s);
    EXPECT_TRUE(ioc_.stopped()) << "work left on the io_context after close_all()";
  }

  static engine::http_client_options options() {
    engine::http_client_options o;
    o.allow_private_targets = true;  // receivers are on loopback
    o.connect_timeout = 2s;
    o.attempt_timeout = 5s;
    return o;
  }

  engine::http_client& client(engine::http_client_options o = options()) {
    owned_.push_back(std::make_unique<engine::http_client>(ioc_.get_executor(), std::move(o)));
    clients_.push_back(owned_.back().get());
    return *owned_.back();
  }

  // Runs the io_context until every call completed (the timed loop is a safety net
  // against a hang, not a synchronisation).
  std::vector<engine::http_outcome> send_all(engine::http_client& c,
                                             const std::vector<call>& calls) {
    std::vector<std::optional<engine::http_outcome>> results(calls.size());
    std::size_t done = 0;
    for (std::size_t i = 0; i < calls.size(); ++i) {
      net::co_spawn(ioc_, c.send(calls[i].request()),
                    [&results, &done, i](std::exception_ptr e, engine::http_outcome out) {
                      if (e) std::rethrow_exception(e);
                      results[i] = std::move(out);
                      ++done;
                    });
    }
    ioc_.restart();
    while (done < calls.size()) {
      if (ioc_.run_one_for(30s) == 0) throw std::runtime_error("requests did not complete");
    }
    std::vector<engine::http_outcome> out;
    for (auto& r : results) out.push_back(std::move(*r));
    return out;
  }

  engine::http_outcome send(engine::http_client& c, call one) {
    return std::move(send_all(c, {std::move(one)}).front());
  }

  engine::http_outcome post(engine::http_client& c, const std::string& url) {
    return send(c, {.method = "POST", .url = url, .body = R"({"n":1})"});
  }

  net::io_context ioc_;
  std::vector<std::unique_ptr<engine::http_client>> owned_;
  std::vector<engine::http_client*> clients_;
};

reply status(unsigned code) {
  reply r;
  r.status = code;
  return r;
}

TEST_F(HttpClient, PostDeliversBodyAndHeadersExactly) {
  receiver r;
  auto& c = client();
  const std::string body = R"({"uuid":"u-1","action":"created","name":"Zoë"})";
  auto out = send(c, {.method = "POST",
                      .url = r.url("/hooks/in?x=1"),
                      .body = body,
                      .headers = {{"webhook-id", "u-1"}, {"webhook-signature", "v1,abc="}}});
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  EXPECT_EQ(out.status, 200u);
  EXPECT_TRUE(out.message.empty());
  ASSERT_EQ(r.request_count(), 1u);
  const auto got = r.requests().front();
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/hooks/in?x=1");
  EXPECT_EQ(got.body, body);
  EXPECT_EQ(got.header("content-type"), "application/json");
  EXPECT_EQ(got.header("content-length"), std::to_string(body.size()));
  EXPECT_EQ(got.header("user-agent"), "hookd");
  EXPECT_EQ(got.header("host"), "127.0.0.1:" + std::to_string(r.port()));
  EXPECT_EQ(got.header("webhook-id"), "u-1");
  EXPECT_EQ(got.header("webhook-signature"), "v1,abc=");
  EXPECT_EQ(got.header("transfer-encoding"), "");
}

TEST_F(HttpClient, ClientHeadersAreNotDuplicatedFromExtraHeaders) {
  receiver r;
  auto o = options();
  o.user_agent = "hookd/9.9";
  auto& c = client(o);
  auto out = send(c, {.method = "PUT",
                      .url = r.url(),
                      .body = "x=1",
                      .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                                  {"Host", "evil.example"},
                                  {"Content-Length", "999"}}});
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  ASSERT_EQ(r.request_count(), 1u);
  const auto got = r.requests().front();
  EXPECT_EQ(got.method, "PUT");
  EXPECT_EQ(got.body, "x=1");
  EXPECT_EQ(got.header("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(got.header("host"), "127.0.0.1:" + std::to_string(r.port()));
  EXPECT_EQ(got.header("content-length"), "3");
  EXPECT_EQ(got.header("user-agent"), "hookd/9.9");
}

TEST_F(HttpClient, GetSendsTheTargetAsWrittenAndNoBody) {
  receiver r;
  auto& c = client();
  // The dispatcher appends the Rack-style query, literal brackets included, to the
  // URL's target; the client sends it as written.
  auto out = send(c, {.method = "GET",
                      .url = r.url("/hook"),
                      .target = "/hook?action=created&customer%5Bname%5D=Ann&tags[]=a"});
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  ASSERT_EQ(r.request_count(), 1u);
  const auto got = r.requests().front();
  EXPECT_EQ(got.method, "GET");
  EXPECT_EQ(got.target, "/hook?action=created&customer%5Bname%5D=Ann&tags[]=a");
  EXPECT_EQ(got.body, "");
  EXPECT_EQ(got.header("content-length"), "");
  EXPECT_EQ(got.header("content-type"), "");
}

TEST_F(HttpClient, EmptyPathIsSentAsSlash) {
  receiver r;
  auto& c = client();
  auto out = send(c, {.method = "DELETE", .url = "http://127.0.0.1:" + std::to_string(r.port())});
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  auto query_only = send(c, {.method = "GET", .url = r.url(), .target = "?a=1"});
  EXPECT_EQ(query_only.error, error_kind::none) << query_only.message;
  ASSERT_EQ(r.request_count(), 2u);
  EXPECT_EQ(r.requests().front().target, "/");
  EXPECT_EQ(r.requests().front().method, "DELETE");
  EXPECT_EQ(r.requests().back().target, "/?a=1");
}

TEST_F(HttpClient, TwoHundredAndTwoHundredFourAreSuccess) {
  receiver r;
  r.set_responder([](const received_request& req) {
    reply out;
    out.status = req.target == "/204" ? 204 : 200;
    if (out.status == 200) out.body = "ok";
    return out;
  });
  auto& c = client();
  auto ok = post(c, r.url("/200"));
  EXPECT_EQ(ok.error, error_kind::none);
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.body_excerpt, "ok");
  auto none = post(c, r.url("/204"));
  EXPECT_EQ(none.error, error_kind::none);
  EXPECT_EQ(none.status, 204u);
  EXPECT_EQ(none.body_excerpt, "");
  EXPECT_TRUE(none.reused_connection);
}

TEST_F(HttpClient, RedirectIsNotFollowed) {
  receiver r;
  const auto elsewhere = r.url("/elsewhere");
  r.set_responder([elsewhere](const received_request&) {
    reply out = status(301);
    out.headers = {{"Location", elsewhere}};
    return out;
  });
  auto& c = client();
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::http_status);
  EXPECT_EQ(out.status, 301u);
  EXPECT_EQ(out.message, "HTTP 301");
  EXPECT_EQ(r.request_count(), 1u);
}

TEST_F(HttpClient, GoneIsHttpStatus) {
  receiver r;
  r.set_responder([](const received_request&) { return status(410); });
  auto& c = client();
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::http_status);
  EXPECT_EQ(out.status, 410u);
  EXPECT_EQ(out.message, "HTTP 410");
}

TEST_F(HttpClient, ServiceUnavailableCapturesRetryAfter) {
  receiver r;
  r.set_responder([](const received_request&) {
    reply out = status(503);
    out.headers = {{"Retry-After", "120"}};
    out.body = "busy";
    return out;
  });
  auto& c = client();
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::http_status);
  EXPECT_EQ(out.status, 503u);
  EXPECT_EQ(out.message, "HTTP 503");
  EXPECT_EQ(out.retry_after, "120");
  EXPECT_EQ(out.body_excerpt, "busy");
  // A non-2xx answer with a well-framed body keeps the connection.
  auto again = post(c, r.url());
  EXPECT_TRUE(again.reused_connection);
  EXPECT_EQ(r.connections_accepted(), 1u);
}

TEST_F(HttpClient, BodyExcerptIsCappedAt1KiB) {
  receiver r;
  r.set_responder([](const received_request&) {
    reply out;
    out.body = std::string(1000, 'a') + std::string(4000, 'b');
    return out;
  });
  auto& c = client();
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::none);
  EXPECT_EQ(out.body_excerpt, std::string(1000, 'a') + std::string(24, 'b'));
  // The whole body was drained, so the connection is reused.
  EXPECT_TRUE(post(c, r.url()).reused_connection);
  EXPECT_EQ(c.stats().connections_opened, 1u);
}

TEST_F(HttpClient, BodyOverMaxResponseBodyIsCutAndConnectionDropped) {
  receiver r;
  r.set_responder([](const received_request&) {
    reply out;
    out.body = std::string(200 * 1024, 'z');
    return out;
  });
  auto o = options();
  o.max_response_body = 4096;
  auto& c = client(o);
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  EXPECT_EQ(out.status, 200u);
  EXPECT_EQ(out.body_excerpt, std::string(1024, 'z'));
  auto next = post(c, r.url());
  EXPECT_EQ(next.error, error_kind::none) << next.message;
  EXPECT_FALSE(next.reused_connection);
  EXPECT_EQ(c.stats().connections_opened, 2u);
}

TEST_F(HttpClient, KeepAliveReusesOneConnection) {
  receiver r;
  auto& c = client();
  for (int i = 0; i < 10; ++i) {
    auto out = post(c, r.url());
    ASSERT_EQ(out.error, error_kind::none) << out.message;
    EXPECT_EQ(out.reused_connection, i > 0) << i;
  }
  EXPECT_EQ(r.connections_accepted(), 1u);
  EXPECT_EQ(c.stats().connections_opened, 1u);
  EXPECT_EQ(c.stats().requests, 10u);
  EXPECT_EQ(c.stats().stale_retries, 0u);
}

TEST_F(HttpClient, ConnectionCloseResponseIsNotReused) {
  receiver r;
  r.set_responder([](const received_request&) {
    reply out;
    out.headers = {{"Connection", "close"}};
    return out;
  });
  auto& c = client();
  EXPECT_EQ(post(c, r.url()).error, error_kind::none);
  auto second = post(c, r.url());
  EXPECT_EQ(second.error, error_kind::none) << second.message;
  EXPECT_FALSE(second.reused_connection);
  EXPECT_EQ(r.connections_accepted(), 2u);
  EXPECT_EQ(c.stats().stale_retries, 0u);
}

TEST_F(HttpClient, PerOriginLimitQueuesConcurrentRequests) {
  receiver r;
  auto o = options();
  o.connections_per_origin = 2;
  auto& c = client(o);
  std::vector<call> calls(6, call{.url = r.url(), .body = "{}"});
  const auto outs = send_all(c, calls);
  for (const auto& out : outs) EXPECT_EQ(out.error, error_kind::none) << out.message;
  EXPECT_EQ(r.connections_accepted(), 2u);
  EXPECT_EQ(c.stats().connections_opened, 2u);
  std::set<std::uint64_t> used;
  for (const auto& req : r.requests()) used.insert(req.connection);
  EXPECT_EQ(used, (std::set<std::uint64_t>{1, 2}));
}

TEST_F(HttpClient, QueuedRequestCountsItsWaitAgainstItsOwnDeadline) {
  receiver r;
  r.set_responder([](const received_request&) {
    reply out;
    out.never_answer = true;
    return out;
  });
  auto o = options();
  o.connections_per_origin = 1;
  o.attempt_timeout = 500ms;
  auto& c = client(o);
  const auto outs =
      send_all(c, {call{.url = r.url(), .body = "{}"}, call{.url = r.url(), .body = "{}"}});
  // The second request queues behind the first, which holds the only connection
  // until its deadline; the wait counts against the second one's own attempt, so it
  // ends by its deadline too (in line, or on a connection of its own when the turn
  // reached it in its last moment), not one attempt_timeout after its turn.
  EXPECT_EQ(outs[0].error, error_kind::timeout) << outs[0].message;
  EXPECT_NE(outs[0].message.find("no response within 500 ms"), std::string::npos)
      << outs[0].message;
  EXPECT_EQ(outs[1].error, error_kind::timeout) << outs[1].message;
  for (const auto& out : outs) EXPECT_GE(out.duration, 500ms);
  ASSERT_GE(r.request_count(), 1u);
  EXPECT_EQ(r.requests().front().connection, 1u);
  EXPECT_EQ(c.stats().requests, 2u);
}

TEST_F(HttpClient, ConnectionRefusedIsConnect) {
  std::uint16_t port = 0;
  {
    net::io_context scratch;
    net::ip::tcp::acceptor a(scratch, {net::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  auto& c = client();
  auto out = post(c, "http://127.0.0.1:" + std::to_string(port) + "/hook");
  EXPECT_EQ(out.error, error_kind::connect);
  EXPECT_EQ(out.status, 0u);
  EXPECT_NE(out.message.find("127.0.0.1"), std::string::npos) << out.message;
  EXPECT_EQ(c.stats().connections_opened, 0u);
}

TEST_F(HttpClient, UnresolvableHostIsDns) {
  auto o = options();
  o.lookup = fake_dns{}.lookup();
  auto& c = client(o);
  auto out = post(c, "http://nonexistent.invalid/hook");
  EXPECT_EQ(out.error, error_kind::dns);
  EXPECT_NE(out.message.find("nonexistent.invalid"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("Name or service not known"), std::string::npos) << out.message;
  EXPECT_EQ(c.stats().connections_opened, 0u);
}

TEST_F(HttpClient, LookupWithoutAddressesIsDns) {
  auto o = options();
  o.lookup = fake_dns{.answers = {{"empty.test", {}}}}.lookup();
  auto& c = client(o);
  auto out = post(c, "http://empty.test/hook");
  EXPECT_EQ(out.error, error_kind::dns);
  EXPECT_NE(out.message.find("DNS lookup of empty.test failed: no addresses"), std::string::npos)
      << out.message;
}

TEST_F(HttpClient, LookupSlowerThanConnectTimeoutIsTimeout) {
  held_lookups slow;
  auto o = options();
  o.connect_timeout = 200ms;
  o.lookup = slow.lookup();
  auto& c = client(o);
  auto out = post(c, "http://slow.test/hook");
  EXPECT_EQ(out.error, error_kind::timeout) << out.message;
  EXPECT_NE(out.message.find("DNS lookup of slow.test timed out after"), std::string::npos)
      << out.message;
  EXPECT_GE(out.duration, 200ms);
  EXPECT_EQ(c.stats().connections_opened, 0u);
}

TEST_F(HttpClient, AnswersAreCachedForTheTtl) {
  receiver r;
  r.set_responder([](const received_request&) {
    reply out;
    out.headers = {{"Connection", "close"}};  // every request connects, so resolves, again
    return out;
  });
  fake_dns dns{.answers = {{"receiver.test", {"127.0.0.1"}}}};
  auto o = options();
  o.lookup = dns.lookup();
  auto& cached = client(o);
  const auto url = "http://receiver.test:" + std::to_string(r.port()) + "/hook";
  EXPECT_EQ(post(cached, url).error, error_kind::none);
  EXPECT_EQ(post(cached, url).error, error_kind::none);
  EXPECT_EQ(dns.calls->load(), 1);

  o.dns_ttl = 0ms;
  auto& uncached = client(o);
  EXPECT_EQ(post(uncached, url).error, error_kind::none);
  EXPECT_EQ(post(uncached, url).error, error_kind::none);
  EXPECT_EQ(dns.calls->load(), 3);
  EXPECT_EQ(r.connections_accepted(), 4u);
}

TEST_F(HttpClient, CloseAllForgetsCachedAnswers) {
  receiver r;
  fake_dns dns{.answers = {{"receiver.test", {"127.0.0.1"}}}};
  auto o = options();
  o.lookup = dns.lookup();
  auto& c = client(o);
  const auto url = "http://receiver.test:" + std::to_string(r.port()) + "/hook";
  EXPECT_EQ(post(c, url).error, error_kind::none);
  c.close_all();
  EXPECT_EQ(post(c, url).error, error_kind::none);
  EXPECT_EQ(dns.calls->load(), 2);
}

TEST_F(HttpClient, IpLiteralsAreNotLookedUp) {
  receiver r;
  fake_dns dns;
  auto o = options();
  o.lookup = dns.lookup();
  auto& c = client(o);
  EXPECT_EQ(post(c, r.url()).error, error_kind::none);
  EXPECT_EQ(dns.calls->load(), 0);
}

TEST_F(HttpClient, NeverAnsweringReceiverTimesOut) {
  receiver r;
  r.set_responder([](const received_request&) {
    reply out;
    out.never_answer = true;
    return out;
  });
  auto o = options();
  o.attempt_timeout = 300ms;
  auto& c = client(o);
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::timeout) << out.message;
  EXPECT_EQ(out.status, 0u);
  EXPECT_EQ(out.message,
            "POST http://127.0.0.1:" + std::to_string(r.port()) + ": no response within 300 ms");
  EXPECT_GE(out.duration, 300ms);
  EXPECT_EQ(r.request_count(), 1u);
  EXPECT_EQ(r.connections_accepted(), 1u);
}

TEST_F(HttpClient, LoopbackIsBlockedByDefault) {
  receiver r;
  auto o = options();
  o.allow_private_targets = false;
  auto& c = client(o);
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::blocked_destination);
  EXPECT_NE(out.message.find("127.0.0.1"), std::string::npos) << out.message;
  EXPECT_EQ(r.connections_accepted(), 0u);
}

TEST_F(HttpClient, HostNameResolvingToLoopbackIsBlocked) {
  receiver r;
  auto o = options();
  o.allow_private_targets = false;
  o.lookup = fake_dns{.answers = {{"receiver.test", {"127.0.0.1"}}}}.lookup();
  auto& c = client(o);
  auto out = post(c, "http://receiver.test:" + std::to_string(r.port()) + "/hook");
  EXPECT_EQ(out.error, error_kind::blocked_destination) << out.message;
  // The webhook's owner reads this message: it names the rule, never the address the
  // name resolved to (the operator's log has that).
  EXPECT_NE(out.message.find("non_public_address"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("receiver.test"), std::string::npos) << out.message;
  EXPECT_EQ(out.message.find("127.0.0.1"), std::string::npos) << out.message;
  EXPECT_EQ(r.connections_accepted(), 0u);
}

TEST_F(HttpClient, AllowedNetworkPermitsLoopback) {
  receiver r;
  auto o = options();
  o.allow_private_targets = false;
  o.allowed_networks = {*engine::cidr::parse("127.0.0.0/8")};
  auto& c = client(o);
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  EXPECT_EQ(r.request_count(), 1u);
}

TEST_F(HttpClient, HostNameIsResolvedAndSentInHostHeader) {
  receiver r;
  fake_dns dns{.answers = {{"receiver.test", {"127.0.0.1"}}}};
  auto o = options();
  o.lookup = dns.lookup();
  auto& c = client(o);
  auto out = post(c, "http://Receiver.Test:" + std::to_string(r.port()) + "/hook");
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  ASSERT_EQ(r.request_count(), 1u);
  EXPECT_EQ(r.requests().front().header("host"), "receiver.test:" + std::to_string(r.port()));
  // Same origin whatever the case: the pooled connection is reused.
  EXPECT_TRUE(
      post(c, "http://receiver.test:" + std::to_string(r.port()) + "/hook").reused_connection);
  EXPECT_EQ(dns.calls->load(), 1);
}

TEST_F(HttpClient, RefusedAddressOfAnAnswerIsSkippedForTheNext) {
  receiver r;  // listens on 127.0.0.1 only, so 127.0.0.2 (loopback too) refuses the port
  fake_dns dns{.answers = {{"receiver.test", {"127.0.0.2", "127.0.0.1"}}}};
  auto o = options();
  o.lookup = dns.lookup();
  auto& c = client(o);
  auto out = post(c, "http://receiver.test:" + std::to_string(r.port()) + "/hook");
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  EXPECT_EQ(r.request_count(), 1u);
  EXPECT_EQ(c.stats().connections_opened, 1u);
}

TEST_F(HttpClient, StaleKeepAliveConnectionIsReplaced) {
  receiver r;
  r.set_responder([](const received_request& req) {
    reply out;
    out.close_after_reply = req.connection == 1;  // the server drops its idle connection
    return out;
  });
  auto& c = client();
  ASSERT_EQ(post(c, r.url()).error, error_kind::none);
  auto second = post(c, r.url());
  EXPECT_EQ(second.error, error_kind::none) << second.message;
  EXPECT_FALSE(second.reused_connection);
  EXPECT_EQ(c.stats().stale_retries, 1u);
  EXPECT_EQ(c.stats().connections_opened, 2u);
  ASSERT_EQ(r.request_count(), 2u);
  EXPECT_EQ(r.requests().back().connection, 2u);
}

TEST_F(HttpClient, FreshConnectionClosedWithoutAnswerIsNotRetried) {
  receiver r;
  r.set_responder([](const received_request&) {
    reply out;
    out.raw = "";
    out.close_after_reply = true;
    return out;
  });
  auto& c = client();
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::connect) << out.message;
  EXPECT_EQ(r.request_count(), 1u);
  EXPECT_EQ(c.stats().stale_retries, 0u);
}

TEST_F(HttpClient, MalformedResponseIsProtocol) {
  receiver r;
  r.set_responder([](const received_request&) {
    reply out;
    out.raw = "HTTP/1.1 two hundred OK\r\nContent-Length: 0\r\n\r\n";
    return out;
  });
  auto& c = client();
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::protocol) << out.message;
  // The broken connection is not pooled.
  r.set_responder({});
  auto next = post(c, r.url());
  EXPECT_EQ(next.error, error_kind::none) << next.message;
  EXPECT_FALSE(next.reused_connection);
}

TEST_F(HttpClient, UndeliverableStoredUrlIsProtocol) {
  auto& c = client();
  for (const char* url : {"ftp://example.com/x", "not a url", "http://127.0.0.1:0/", "http:///path",
                          "http://%41.example/", "http://[v1.x]/"}) {
    auto out = post(c, url);
    EXPECT_EQ(out.error, error_kind::protocol) << url;
    EXPECT_NE(out.message.find("cannot be delivered"), std::string::npos) << out.message;
  }
  EXPECT_EQ(c.stats().connections_opened, 0u);
}

TEST_F(HttpClient, StoredUrlWithUserInfoOrFragmentIsDeliveredWithoutThem) {
  receiver r;
  auto& c = client();
  auto out = post(c, "http://user:secret@127.0.0.1:" + std::to_string(r.port()) + "/in?a=1#top");
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  ASSERT_EQ(r.request_count(), 1u);
  EXPECT_EQ(r.requests().front().target, "/in?a=1");
  EXPECT_EQ(r.requests().front().header("authorization"), "");
}

TEST_F(HttpClient, InvalidRequestPartsAreProtocol) {
  receiver r;
  auto& c = client();
  EXPECT_EQ(send(c, {.url = r.url(), .target = "/a b"}).error, error_kind::protocol);
  EXPECT_EQ(send(c, {.url = r.url(), .target = "/a\x7f"}).error, error_kind::protocol);
  EXPECT_EQ(send(c, {.method = "PO ST", .url = r.url()}).error, error_kind::protocol);
  EXPECT_EQ(send(c, {.url = r.url(), .headers = {{"x-bad", "a\r\nInjected: 1"}}}).error,
            error_kind::protocol);
  EXPECT_EQ(send(c, {.url = r.url(), .headers = {{"bad name", "v"}}}).error, error_kind::protocol);
  EXPECT_EQ(r.request_count(), 0u);
}

TEST_F(HttpClient, MissingUrlIsABugReportedAtTheCall) {
  auto& c = client();
  engine::http_request request{
      .method = "POST", .url = nullptr, .target = "/", .headers = {}, .body = {}};
  EXPECT_THROW((void)c.send(request), std::invalid_argument);
}

TEST_F(HttpClient, IdleConnectionExpires) {
  receiver r;
  auto o = options();
  o.idle_timeout = 100ms;
  auto& c = client(o);
  ASSERT_EQ(post(c, r.url()).error, error_kind::none);
  // The idle sweeper is the only work left; run() returns once it closed the
  // connection.
  const auto start = std::chrono::steady_clock::now();
  ioc_.restart();
  ioc_.run_for(10s);
  ASSERT_TRUE(ioc_.stopped());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
  auto next = post(c, r.url());
  EXPECT_EQ(next.error, error_kind::none);
  EXPECT_FALSE(next.reused_connection);
  EXPECT_EQ(c.stats().connections_opened, 2u);
  EXPECT_EQ(c.stats().stale_retries, 0u);
}

TEST_F(HttpClient, CloseAllDropsPooledConnections) {
  receiver r;
  auto& c = client();
  ASSERT_EQ(post(c, r.url()).error, error_kind::none);
  c.close_all();
  auto next = post(c, r.url());
  EXPECT_EQ(next.error, error_kind::none);
  EXPECT_FALSE(next.reused_connection);
  EXPECT_EQ(r.connections_accepted(), 2u);
}

TEST_F(HttpClient, BadOptionsThrowAtConstruction) {
  auto o = options();
  o.extra_ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(engine::http_client(ioc_.get_executor(), o), std::runtime_error);
  o = options();
  o.connections_per_origin = 0;
  EXPECT_THROW(engine::http_client(ioc_.get_executor(), o), std::invalid_argument);
}

TEST_F(HttpClient, ErrorKindsHaveStableNames) {
  EXPECT_EQ(engine::to_string(error_kind::none), "none");
  EXPECT_EQ(engine::to_string(error_kind::timeout), "timeout");
  EXPECT_EQ(engine::to_string(error_kind::connect), "connect");
  EXPECT_EQ(engine::to_string(error_kind::tls), "tls");
  EXPECT_EQ(engine::to_string(error_kind::dns), "dns");
  EXPECT_EQ(engine::to_string(error_kind::http_status), "http_status");
  EXPECT_EQ(engine::to_string(error_kind::protocol), "protocol");
  EXPECT_EQ(engine::to_string(error_kind::blocked_destination), "blocked_destination");
}

// --- https ---

class HttpClientTls : public HttpClient {
 protected:
  temp_dir dir_;
  test_ca ca_{dir_.path()};

  engine::http_client& trusting_client() {
    auto o = options();
    o.extra_ca_file = ca_.ca_file();
    return client(o);
  }
};

TEST_F(HttpClientTls, TrustedCaSucceedsAndKeepsTheConnection) {
  const auto cert = ca_.issue("127.0.0.1", "leaf");
  receiver r({.cert_file = cert.cert_file, .key_file = cert.key_file});
  auto& c = trusting_client();
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  ASSERT_EQ(r.request_count(), 1u);
  EXPECT_EQ(r.requests().front().body, R"({"n":1})");
  EXPECT_TRUE(post(c, r.url()).reused_connection);
  EXPECT_EQ(r.connections_accepted(), 1u);
}

TEST_F(HttpClientTls, HostNameCertificateIsVerifiedWithSni) {
  const auto cert = ca_.issue("receiver.test", "named");
  receiver r({.cert_file = cert.cert_file, .key_file = cert.key_file});
  auto o = options();
  o.extra_ca_file = ca_.ca_file();
  o.lookup = fake_dns{.answers = {{"receiver.test", {"127.0.0.1"}}}}.lookup();
  auto& c = client(o);
  auto out = post(c, "https://receiver.test:" + std::to_string(r.port()) + "/hook");
  EXPECT_EQ(out.error, error_kind::none) << out.message;
  EXPECT_EQ(r.request_count(), 1u);
}

TEST_F(HttpClientTls, UntrustedCaIsTls) {
  const auto cert = ca_.issue("127.0.0.1", "leaf");
  receiver r({.cert_file = cert.cert_file, .key_file = cert.key_file});
  auto& c = client();  // system store only
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::tls) << out.message;
  EXPECT_NE(out.message.find("certificate"), std::string::npos) << out.message;
  EXPECT_EQ(r.request_count(), 0u);
}

TEST_F(HttpClientTls, CertificateForAnotherHostIsTls) {
  const auto cert = ca_.issue("other.example", "other");
  receiver r({.cert_file = cert.cert_file, .key_file = cert.key_file});
  auto& c = trusting_client();
  auto out = post(c, r.url());
  EXPECT_EQ(out.error, error_kind::tls) << out.message;
  EXPECT_NE(out.message.find("mismatch"), std::string::npos) << out.message;
  EXPECT_EQ(r.request_count(), 0u);
}

TEST_F(HttpClientTls, StaleTlsConnectionIsReplaced) {
  const auto cert = ca_.issue("127.0.0.1", "leaf");
  receiver r({.cert_file = cert.cert_file, .key_file = cert.key_file});
  r.set_responder([](const received_request& req) {
    reply out;
    out.close_after_reply = req.connection == 1;
    return out;
  });
  auto& c = trusting_client();
  ASSERT_EQ(post(c, r.url()).error, error_kind::none);
  auto second = post(c, r.url());
  EXPECT_EQ(second.error, error_kind::none) << second.message;
  EXPECT_EQ(c.stats().stale_retries, 1u);
  EXPECT_EQ(r.request_count(), 2u);
}

}  // namespace
}  // namespace hookd::test
