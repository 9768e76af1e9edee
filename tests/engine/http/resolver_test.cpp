// The client's resolver on its own: lookups run where the test says (an io_context it
// runs by hand, so no thread and no timing is involved), answers that come after the
// deadline or after the worker is gone, the cache, and the system lookup itself.
#include "engine/http/resolver.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace hookd::test {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using engine::error_kind;
using engine::http_detail::resolve;
using engine::http_detail::resolved;
using engine::http_detail::resolver;
using engine::http_detail::resolver_options;

class Resolver : public ::testing::Test {
 protected:
  std::shared_ptr<resolver> make(net::io_context& worker) {
    resolver_options o;
    o.ttl = 1h;
    o.lookup = [calls = calls_](const std::string& host) {
      calls->fetch_add(1);
      return engine::name_lookup_answer{{host == "late.test" ? "192.0.2.7" : "192.0.2.1"}, {}};
    };
    o.lookup_executor = lookups_.get_executor();
    return std::make_shared<resolver>(worker.get_executor(), std::move(o));
  }

  // Starts a resolve on `worker`; its result lands in `into`.
  static void start(net::io_context& worker, std::shared_ptr<resolver> r, std::string host,
                    std::chrono::steady_clock::time_point deadline, std::optional<resolved>& into) {
    net::co_spawn(worker, resolve(std::move(r), std::move(host), deadline, 1000ms),
                  [&into](std::exception_ptr e, resolved out) {
                    if (e) std::rethrow_exception(e);
                    into = std::move(out);
                  });
  }

  // Where lookups run: only when the test runs it.
  net::io_context lookups_;
  std::shared_ptr<std::atomic<int>> calls_ = std::make_shared<std::atomic<int>>(0);
};

TEST_F(Resolver, AnswerIsCachedForTheTtl) {
  net::io_context worker;
  auto r = make(worker);
  std::optional<resolved> first;
  start(worker, r, "receiver.test", std::chrono::steady_clock::now() + 1h, first);
  worker.poll();  // the lookup is handed over; the worker waits for it
  EXPECT_FALSE(first);
  lookups_.run();  // the lookup answers
  worker.run();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->error, error_kind::none) << first->message;
  ASSERT_EQ(first->addresses.size(), 1u);
  EXPECT_EQ(first->addresses[0].to_string(), "192.0.2.1");

  std::optional<resolved> second;
  start(worker, r, "receiver.test", std::chrono::steady_clock::now() + 1h, second);
  worker.restart();
  worker.run();  // from the cache: no lookup to wait for
  ASSERT_TRUE(second);
  EXPECT_EQ(second->addresses, first->addresses);
  EXPECT_EQ(calls_->load(), 1);

  r->clear_cache();
  std::optional<resolved> third;
  start(worker, r, "receiver.test", std::chrono::steady_clock::now() + 1h, third);
  worker.restart();
  worker.poll();
  lookups_.restart();
  lookups_.run();
  worker.run();
  ASSERT_TRUE(third);
  EXPECT_EQ(calls_->load(), 2);
}

TEST_F(Resolver, AnswerAfterTheDeadlineIsDroppedAndNotCached) {
  net::io_context worker;
  auto r = make(worker);
  std::optional<resolved> late;
  // The deadline has passed already: the wait ends before the lookup could run.
  start(worker, r, "late.test", std::chrono::steady_clock::now(), late);
  worker.run();
  ASSERT_TRUE(late);
  EXPECT_EQ(late->error, error_kind::timeout);
  EXPECT_EQ(late->message, "DNS lookup of late.test timed out after 1000 ms");
  EXPECT_TRUE(late->addresses.empty());

  lookups_.run();  // the lookup runs now, too late; its answer goes to the worker
  worker.restart();
  worker.run();  // and reaches nobody
  EXPECT_EQ(calls_->load(), 1);

  std::optional<resolved> again;
  start(worker, r, "late.test", std::chrono::steady_clock::now() + 1h, again);
  worker.restart();
  worker.poll();
  lookups_.restart();
  lookups_.run();
  worker.run();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->error, error_kind::none) << again->message;
  EXPECT_EQ(calls_->load(), 2);  // the late answer was not cached
}

TEST_F(Resolver, AnswerArrivingAfterTheWorkerIsGoneIsDropped) {
  std::optional<resolved> result;
  {
    net::io_context worker;
    auto r = make(worker);
    start(worker, r, "receiver.test", std::chrono::steady_clock::now() + 1h, result);
    worker.poll();  // the lookup is handed over; the worker waits for it
    r->close();     // as ~http_client does before the worker's io_context goes
    r.reset();      // the waiting coroutine still holds the resolver
    // Leaving the scope destroys the worker's io_context, the waiting coroutine with it.
  }
  // The lookup answers now. Posting the answer to the destroyed io_context would be a
  // use after free (AddressSanitizer stops the test); it is dropped instead.
  lookups_.run();
  EXPECT_EQ(calls_->load(), 1);
  EXPECT_FALSE(result);
}

TEST_F(Resolver, FailedLookupIsDnsNamingTheHost) {
  net::io_context worker;
  resolver_options o;
  o.lookup = [](const std::string&) { return engine::name_lookup_answer{{}, "no such name"}; };
  o.lookup_executor = lookups_.get_executor();
  auto r = std::make_shared<resolver>(worker.get_executor(), std::move(o));
  std::optional<resolved> out;
  start(worker, r, "missing.test", std::chrono::steady_clock::now() + 1h, out);
  worker.poll();
  lookups_.run();
  worker.run();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->error, error_kind::dns);
  EXPECT_EQ(out->message, "DNS lookup of missing.test failed: no such name");
}

TEST_F(Resolver, MalformedOrThrowingLookupsAreDnsFailures) {
  net::io_context worker;
  resolver_options o;
  o.lookup = [](const std::string& host) -> engine::name_lookup_answer {
    if (host == "throws.test") throw std::runtime_error("resolver library failed");
    return {{"192.0.2.1", "not-an-address"}, {}};
  };
  o.lookup_executor = lookups_.get_executor();
  auto r = std::make_shared<resolver>(worker.get_executor(), std::move(o));
  std::optional<resolved> malformed;
  std::optional<resolved> thrown;
  start(worker, r, "malformed.test", std::chrono::steady_clock::now() + 1h, malformed);
  start(worker, r, "throws.test", std::chrono::steady_clock::now() + 1h, thrown);
  worker.poll();
  lookups_.run();
  worker.run();
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->error, error_kind::dns);
  EXPECT_EQ(malformed->message,
            "DNS lookup of malformed.test returned a malformed address \"not-an-address\"");
  ASSERT_TRUE(thrown);
  EXPECT_EQ(thrown->error, error_kind::dns);
  EXPECT_EQ(thrown->message,
            "DNS lookup of throws.test failed: the lookup threw: resolver library failed");
}

TEST_F(Resolver, RepeatedAddressesOfAnAnswerAreKeptOnce) {
  net::io_context worker;
  resolver_options o;
  o.lookup = [](const std::string&) {
    return engine::name_lookup_answer{{"192.0.2.1", "2001:db8::1", "192.0.2.1"}, {}};
  };
  o.lookup_executor = lookups_.get_executor();
  auto r = std::make_shared<resolver>(worker.get_executor(), std::move(o));
  std::optional<resolved> out;
  start(worker, r, "twice.test", std::chrono::steady_clock::now() + 1h, out);
  worker.poll();
  lookups_.run();
  worker.run();
  ASSERT_TRUE(out);
  ASSERT_EQ(out->addresses.size(), 2u);
  EXPECT_EQ(out->addresses[0].to_string(), "192.0.2.1");
  EXPECT_EQ(out->addresses[1].to_string(), "2001:db8::1");
}

// The real getaddrinfo path, with numeric hosts only: they are converted without any
// name server, so this holds on a machine without network. AI_ADDRCONFIG may refuse
// the family of which the machine has no address besides loopback, so each of the
// two may fail, but not both; what does come back is the address itself.
TEST(SystemNameLookup, NumericHostsComeBackAsThemselves) {
  int answered = 0;
  for (const std::string host : {"127.0.0.1", "::1"}) {
    const auto answer = engine::system_name_lookup(host);
    if (!answer.error.empty()) continue;
    EXPECT_EQ(answer.addresses, std::vector<std::string>{host});
    ++answered;
  }
  EXPECT_GE(answered, 1);
}

}  // namespace
}  // namespace hookd::test
