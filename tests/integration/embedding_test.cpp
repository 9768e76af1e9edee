// What a host embedding hookd relies on beyond the blocking calls: publish_async and
// async_publish from an Asio loop (any completion token), and the delivery observer
// with its threading promises, against the real engine and loopback receivers.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "hookd/engine/async.hpp"
#include "hookd/engine/logging.hpp"
#include "hookd/version.hpp"
#include "tests/integration/engine_fixture.hpp"

namespace hookd::test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// A one-shot gate: wait() blocks until open().
class gate {
 public:
  void open() {
    {
      std::lock_guard lock(m_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Records every notice with the thread it came on.
class recording_observer : public engine::delivery_observer {
 public:
  struct entry {
    std::string kind;
    engine::delivery_notice notice;
    engine::webhook_disabled_notice disabled;
    std::thread::id thread;
  };

  void delivered(const engine::delivery_notice& n) override { add("delivered", n); }
  void attempt_failed(const engine::delivery_notice& n) override { add("attempt_failed", n); }
  void failed(const engine::delivery_notice& n) override { add("failed", n); }
  void webhook_disabled(const engine::webhook_disabled_notice& n) override {
    hold();
    std::lock_guard lock(m_);
    entries_.push_back({"webhook_disabled", {}, n, std::this_thread::get_id()});
    cv_.notify_all();
  }

  std::vector<entry> entries() const {
    std::lock_guard lock(m_);
    return entries_;
  }
  // Blocks until `n` notices arrived; false after 30 s (a broken engine fails, not hangs).
  bool wait_for(std::size_t n) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, 30s, [&] { return entries_.size() >= n; });
  }
  // The first call blocks until release() (a slow observer).
  void block_first_call() { blocked_ = std::make_unique<gate>(); }
  void release() { blocked_->open(); }

 private:
  void hold() {
    if (blocked_ && !held_.exchange(true)) blocked_->wait();
  }
  void add(const char* kind, const engine::delivery_notice& n) {
    hold();
    std::lock_guard lock(m_);
    entries_.push_back({kind, n, {}, std::this_thread::get_id()});
    cv_.notify_all();
  }

  mutable std::mutex m_;
  std::condition_variable cv_;
  std::vector<entry> entries_;
  std::unique_ptr<gate> blocked_;
  std::atomic<bool> held_{false};
};

// A receiver's answer of `status` with `body`, to every request.
receiver::responder answering(unsigned status, std::string body = {}) {
  return [status, body = std::move(body)](const received_request&) {
    reply r;
    r.status = status;
    r.body = body;
    return r;
  };
}

class Embedding : public engine_fixture {
 protected:
  engine::publish_request request(std::string payload = R"({"customer": {"id": 42}})") {
    return {.account = "acme",
            .type = "customer_created",
            .payload = std::move(payload),
            .event_id = std::nullopt};
  }
};

TEST_F(Embedding, VersionOfTheHeadersIsTheVersionOfTheProject) {
  EXPECT_STREQ(engine::k_version, HOOKD_VERSION_STRING);
  EXPECT_EQ(HOOKD_VERSION,
            HOOKD_VERSION_MAJOR * 10000 + HOOKD_VERSION_MINOR * 100 + HOOKD_VERSION_PATCH);
  EXPECT_EQ(std::string(engine::k_user_agent), std::string("hookd/") + HOOKD_VERSION_STRING);
}

TEST_F(Embedding, PublishAsyncAnswersOnAPublishThreadAndTheEventIsDelivered) {
  open();
  receiver rx;
  create_webhook(rx.url());
  std::promise<std::pair<engine::outcome<engine::publish_result>, std::thread::id>> answered;
  engine_->publish_async(request(R"({"customer": {"id": 7}})"),
                         [&](engine::outcome<engine::publish_result> r) {
                           answered.set_value({std::move(r), std::this_thread::get_id()});
                         });
  auto [result, thread] = answered.get_future().get();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->deliveries, 1u);
  EXPECT_FALSE(result->duplicate);
  EXPECT_NE(thread, std::this_thread::get_id());
  rx.wait_for_requests(1);
  // Sonar's body: uuid and action first, then the payload as published.
  const auto body = rx.requests().at(0).body;
  EXPECT_NE(body.find(R"("action":"customer_created","customer":{"id":7}})"), std::string::npos)
      << body;
}

TEST_F(Embedding, PublishAsyncGivesTheSameErrorsAsPublish) {
  open();
  std::promise<engine::outcome<engine::publish_result>> answered;
  auto bad = request(R"(["not", "an", "object"])");
  bad.type = "no_such_type";
  engine_->publish_async(std::move(bad), [&](engine::outcome<engine::publish_result> r) {
    answered.set_value(std::move(r));
  });
  auto result = answered.get_future().get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, make_error_code(errc::invalid_argument));
  ASSERT_EQ(result.error().details.size(), 2u);
  EXPECT_EQ(result.error().details[0].field, "event.type");
}

TEST_F(Embedding, AsyncPublishResumesACoroutineOnItsOwnExecutor) {
  open();
  receiver rx;
  create_webhook(rx.url());
  asio::io_context host;
  std::optional<engine::outcome<engine::publish_result>> seen;
  bool on_host_thread = false;
  asio::co_spawn(
      host,
      [&]() -> asio::awaitable<void> {
        auto r = co_await engine::async_publish(*engine_, request(), asio::use_awaitable);
        on_host_thread = host.get_executor().running_in_this_thread();
        seen = std::move(r);
      },
      asio::detached);
  host.run();  // returns once the coroutine is done: the publish kept the loop alive
  ASSERT_TRUE(seen.has_value());
  ASSERT_TRUE(*seen) << seen->error().message;
  EXPECT_EQ((*seen)->deliveries, 1u);
  EXPECT_TRUE(on_host_thread);
  rx.wait_for_requests(1);
}

TEST_F(Embedding, AsyncPublishTakesACallbackOrAFuture) {
  open();
  // A plain callback has the system executor: it runs on a thread of Asio's own.
  std::promise<engine::outcome<engine::publish_result>> by_callback;
  engine::async_publish(*engine_, request(), [&](engine::outcome<engine::publish_result> r) {
    by_callback.set_value(std::move(r));
  });
  auto first = by_callback.get_future().get();
  ASSERT_TRUE(first) << first.error().message;

  asio::io_context loop;
  auto work = asio::make_work_guard(loop);
  std::thread runner([&] { loop.run(); });
  auto future =
      engine::async_publish(*engine_, request(), asio::bind_executor(loop, asio::use_future));
  auto r = future.get();
  work.reset();
  runner.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->type, "customer_created");
}

TEST_F(Embedding, PublishAsyncRefusesWhenItsQueueIsFull) {
  auto o = options();
  o.publish_threads = 1;
  o.publish_queue = 1;
  open(std::move(o));
  gate release;
  std::promise<void> first_running;
  // The only publish thread is held inside the first callback ...
  engine_->publish_async(request(), [&](engine::outcome<engine::publish_result> r) {
    EXPECT_TRUE(r);
    first_running.set_value();
    release.wait();
  });
  first_running.get_future().wait();
  // ... so the second waits in the queue, and the third finds it full.
  std::promise<engine::outcome<engine::publish_result>> second;
  engine_->publish_async(request(), [&](auto r) { second.set_value(std::move(r)); });
  std::optional<engine::outcome<engine::publish_result>> third;
  engine_->publish_async(request(), [&](auto r) { third = std::move(r); });
  ASSERT_TRUE(third.has_value()) << "a full queue answers at once, on the caller's thread";
  ASSERT_FALSE(*third);
  EXPECT_EQ(third->error().code, make_error_code(errc::storage_busy));
  EXPECT_NE(third->error().message.find("publish_queue"), std::string::npos)
      << third->error().message;
  release.open();
  auto r = second.get_future().get();
  EXPECT_TRUE(r) << r.error().message;
}

TEST_F(Embedding, StopAnswersQueuedPublishesWithShuttingDownAndCallsEachOnce) {
  auto o = options();
  o.publish_threads = 1;
  open(std::move(o));
  gate release;
  std::promise<void> first_running;
  engine_->publish_async(request(), [&](engine::outcome<engine::publish_result>) {
    first_running.set_value();
    release.wait();
  });
  first_running.get_future().wait();
  std::atomic<int> queued_answers{0};
  std::promise<engine::outcome<engine::publish_result>> queued;
  engine_->publish_async(request(), [&](auto r) {
    ++queued_answers;
    queued.set_value(std::move(r));
  });
  std::thread stopper([&] { engine_->stop(5s); });
  // Once stop has begun, a new request is refused on the caller's thread: that is
  // how this test knows stop is under way before letting the first callback go.
  for (;;) {
    // An accepted probe waits in the queue and is answered later by stop(), on the
    // stopping thread; hence shared state.
    auto refused = std::make_shared<std::atomic<bool>>(false);
    engine_->publish_async(request(), [refused](engine::outcome<engine::publish_result> r) {
      if (!r && r.error().code == make_error_code(errc::shutting_down)) *refused = true;
    });
    if (*refused) break;
    std::this_thread::yield();
  }
  release.open();
  stopper.join();
  auto r = queued.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::shutting_down));
  EXPECT_EQ(queued_answers.load(), 1);
}

TEST_F(Embedding, ACallbackMayStopTheEngineAndTheEngineIsDestroyedCleanly) {
  open();
  std::promise<engine::outcome<engine::publish_result>> answered;
  engine_->publish_async(request(), [&](engine::outcome<engine::publish_result> r) {
    engine_->stop(1s);  // from a publish thread, which stop() itself would join
    answered.set_value(std::move(r));
  });
  auto r = answered.get_future().get();
  EXPECT_TRUE(r) << r.error().message;
  // A later publish is refused, and destroying the engine neither hangs nor aborts.
  std::optional<engine::outcome<engine::publish_result>> after;
  engine_->publish_async(request(), [&](auto a) { after = std::move(a); });
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->error().code, make_error_code(errc::shutting_down));
  engine_.reset();
}

TEST_F(Embedding, ASecondStopReturnsOnlyOnceTheFirstHasFinished) {
  recording_observer seen;
  auto o = options();
  o.observer = &seen;
  open(std::move(o));
  gate answer;
  gate arrived;
  receiver slow;
  // Declared after the receiver, so it opens the gate before the receiver is
  // destroyed, whatever happens in the test.
  struct opens_at_exit {
    gate& g;
    ~opens_at_exit() { g.open(); }
  } opener{answer};
  slow.set_responder([&](const received_request&) {
    arrived.open();
    answer.wait();
    return reply{};
  });
  create_webhook(slow.url());
  publish();
  arrived.wait();  // the attempt is in flight, held by the receiver
  std::thread first([&] { engine_->stop(10s); });
  // Once the first stop has begun, publish is refused (an account without webhooks:
  // nothing more to deliver).
  while (engine_->publish("nobody", "customer_created", "{}")) std::this_thread::yield();
  std::atomic<bool> released{false};
  std::atomic<bool> released_when_second_returned{false};
  std::size_t notices_when_second_returned = 0;
  std::thread second([&] {
    engine_->stop(10s);
    released_when_second_returned = released.load();
    notices_when_second_returned = seen.entries().size();
  });
  released = true;
  answer.open();
  second.join();
  first.join();
  EXPECT_TRUE(released_when_second_returned)
      << "the second stop returned while the first was still draining";
  EXPECT_EQ(notices_when_second_returned, 1u) << "the first stop tells the observer first";
}

TEST_F(Embedding, ObserverHearsEachOutcomeOnItsOwnThreadAfterItIsWritten) {
  recording_observer seen;
  auto o = options();
  o.observer = &seen;
  o.retry_schedule = {20ms};  // two attempts
  open(std::move(o));
  receiver ok;
  receiver failing;
  failing.set_responder(answering(503, "down"));
  const auto good = create_webhook(ok.url());
  const auto bad = create_webhook(failing.url());
  const auto published = publish();
  ASSERT_TRUE(seen.wait_for(3)) << seen.entries().size() << " notices";
  settle();  // stop() returns after every notice of a written outcome was called

  const auto all = seen.entries();
  ASSERT_EQ(all.size(), 3u);
  std::thread::id observer_thread = all[0].thread;
  std::vector<std::string> bad_kinds;
  for (const auto& e : all) {
    EXPECT_EQ(e.thread, observer_thread) << "one thread calls the observer";
    EXPECT_NE(e.thread, std::this_thread::get_id());
    EXPECT_EQ(e.notice.account, "acme");
    EXPECT_EQ(e.notice.event_id, published.event_id);
    EXPECT_EQ(e.notice.event_type, "customer_created");
    // What the notice says is what the delivery log holds.
    const auto logged = engine_->delivery("acme", e.notice.delivery_id);
    ASSERT_TRUE(logged) << logged.error().message;
    ASSERT_GE(logged->attempts.size(), e.notice.attempt);
    const auto& attempt = logged->attempts[e.notice.attempt - 1];
    EXPECT_EQ(attempt.at_ms, e.notice.at_ms);
    EXPECT_EQ(attempt.status_code, e.notice.status_code);
    EXPECT_EQ(attempt.error_kind, e.notice.error_kind);
    if (e.notice.webhook_id == good) {
      EXPECT_EQ(e.kind, "delivered");
      EXPECT_EQ(e.notice.status, "succeeded");
      EXPECT_EQ(e.notice.attempt, 1u);
      EXPECT_EQ(e.notice.status_code, 200u);
      EXPECT_TRUE(e.notice.error_kind.empty());
    } else {
      EXPECT_EQ(e.notice.webhook_id, bad);
      EXPECT_EQ(e.notice.status_code, 503u);
      EXPECT_FALSE(e.notice.error_kind.empty());
      bad_kinds.push_back(e.kind);
      if (e.kind == "attempt_failed") {
        EXPECT_EQ(e.notice.status, "pending");
        EXPECT_EQ(e.notice.attempt, 1u);
        ASSERT_TRUE(e.notice.next_attempt_at_ms.has_value());
        // The schedule's 20 ms, counted from when the outcome was settled: after the
        // attempt's end, by however long the worker took to get to it (bounded loosely,
        // a loaded machine can take a while).
        EXPECT_GE(*e.notice.next_attempt_at_ms, e.notice.at_ms + e.notice.duration_ms + 20);
        EXPECT_LE(*e.notice.next_attempt_at_ms, e.notice.at_ms + e.notice.duration_ms + 5'020);
      } else {
        EXPECT_EQ(e.notice.status, "failed");
        EXPECT_EQ(e.notice.attempt, 2u);
        EXPECT_FALSE(e.notice.next_attempt_at_ms.has_value());
      }
    }
  }
  EXPECT_EQ(bad_kinds, (std::vector<std::string>{"attempt_failed", "failed"}))
      << "one delivery's notices come in the order of its attempts";
  EXPECT_EQ(engine_->stats().observer_dropped, 0u);
}

TEST_F(Embedding, ObserverHearsOfAWebhookHookdDisabled) {
  recording_observer seen;
  auto o = options();
  o.observer = &seen;
  open(std::move(o));
  receiver gone;
  gone.set_responder(answering(410));
  const auto hook = create_webhook(gone.url());
  publish();
  ASSERT_TRUE(seen.wait_for(2));
  settle();
  const auto all = seen.entries();
  const auto disabled = std::find_if(all.begin(), all.end(),
                                     [](const auto& e) { return e.kind == "webhook_disabled"; });
  ASSERT_NE(disabled, all.end());
  EXPECT_EQ(disabled->disabled.webhook_id, hook);
  EXPECT_EQ(disabled->disabled.account, "acme");
  EXPECT_EQ(disabled->disabled.reason, engine_->webhooks().get("acme", hook)->disabled_reason);
  EXPECT_FALSE(disabled->disabled.reason.empty());
}

TEST_F(Embedding, ASlowObserverLosesNoticesNotDeliveries) {
  recording_observer seen;
  seen.block_first_call();
  auto o = options();
  o.observer = &seen;
  o.observer_queue = 1;
  open(std::move(o));
  receiver rx;
  create_webhook(rx.url());
  for (int n = 0; n < 5; ++n) publish();
  // Every delivery succeeds although the observer is stuck in its first notice.
  ASSERT_TRUE(engine_->wait_until([](const auto& s) { return s.succeeded >= 5; }, 30s));
  EXPECT_GE(engine_->stats().observer_dropped, 1u);
  seen.release();
  settle();
  EXPECT_EQ(seen.entries().size() + engine_->stats().observer_dropped, 5u)
      << "each notice is called or counted as dropped";
}

TEST_F(Embedding, OpenRefusesAnOptionOutOfRangeAndNamesIt) {
  const std::vector<std::pair<std::string, std::function<void(engine::engine_options&)>>> cases = {
      {"data_dir", [](auto& o) { o.data_dir.clear(); }},
      {"http.connect_timeout", [](auto& o) { o.http.connect_timeout = 0ms; }},
      {"http.connections_per_origin", [](auto& o) { o.http.connections_per_origin = 0; }},
      {"max_in_flight", [](auto& o) { o.max_in_flight = 0; }},
      {"retry_schedule",
       [](auto& o) {
         o.retry_schedule = {10s, -1ms};
       }},
      {"retry_jitter", [](auto& o) { o.retry_jitter = 1.5; }},
      {"max_retry_after", [](auto& o) { o.max_retry_after = std::chrono::hours(24 * 8); }},
      {"min_free_space", [](auto& o) { o.min_free_space = 1 << 20; }},
      {"observer_queue", [](auto& o) { o.observer_queue = 0; }},
      {"origin_circuit.cool_down", [](auto& o) { o.origin_circuit.cool_down = 0ms; }},
      {"threads", [](auto& o) { o.threads = 1000; }},
  };
  for (const auto& [field, spoil] : cases) {
    auto o = options();
    spoil(o);
    auto opened = engine::engine::open(std::move(o));
    ASSERT_FALSE(opened) << field;
    EXPECT_NE(opened.error().message.find(field), std::string::npos)
        << field << ": " << opened.error().message;
  }
  auto o = options();
  o.min_free_space = 0;  // 0 turns the watch off: allowed
  EXPECT_TRUE(engine::engine::open(std::move(o)));
}

// OpenSSL's source, or an exception when told to (a failing CSPRNG).
class failing_random : public engine::random_source {
 public:
  void fill(std::span<std::byte> out) override {
    if (fail) throw std::runtime_error("the random source failed");
    real_.fill(out);
  }
  std::atomic<bool> fail{false};

 private:
  engine::crypto_random real_;
};

TEST_F(Embedding, APublishThatThrowsIsAnsweredNotLost) {
  failing_random random;
  auto o = options();
  o.random = &random;
  open(std::move(o));
  receiver rx;
  create_webhook(rx.url());
  random.fail = true;
  std::promise<engine::outcome<engine::publish_result>> answered;
  engine_->publish_async(request(), [&](engine::outcome<engine::publish_result> r) {
    answered.set_value(std::move(r));
  });
  auto r = answered.get_future().get();
  random.fail = false;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::storage_io));
  EXPECT_NE(r.error().message.find("the random source failed"), std::string::npos)
      << r.error().message;
  // The publish thread lives on.
  std::promise<engine::outcome<engine::publish_result>> next;
  engine_->publish_async(request(), [&](auto a) { next.set_value(std::move(a)); });
  EXPECT_TRUE(next.get_future().get());
}

TEST_F(Embedding, ALogSinkThatThrowsCostsTheLineNotTheEngine) {
  std::atomic<int> calls{0};
  engine::configure_logging({.min_level = engine::log_level::warn,
                             .format = engine::log_format::text,
                             .sink = [&](engine::log_level, std::string_view) {
                               ++calls;
                               throw std::runtime_error("the host's logger is down");
                             }});
  open();
  receiver failing;
  failing.set_responder(answering(500));
  create_webhook(failing.url());
  publish();
  publish();
  // Every failed attempt logs a warning through the throwing sink; the retries and
  // their outcomes go on regardless.
  const bool done =
      engine_->wait_until([](const auto& s) { return s.failed_deliveries >= 2; }, 30s);
  settle();
  engine::configure_logging({});
  ASSERT_TRUE(done);
  EXPECT_GE(calls.load(), 4);
  EXPECT_EQ(engine_->stats().failed_deliveries, 2u);
}

TEST_F(Embedding, AHostTakesTheLogLinesItself) {
  std::mutex m;
  std::vector<std::pair<engine::log_level, std::string>> lines;
  engine::configure_logging({.min_level = engine::log_level::warn,
                             .format = engine::log_format::json,
                             .sink = [&](engine::log_level l, std::string_view line) {
                               std::lock_guard lock(m);
                               lines.emplace_back(l, std::string(line));
                             }});
  open();
  receiver failing;
  failing.set_responder(answering(500));
  create_webhook(failing.url());
  publish();
  ASSERT_TRUE(engine_->wait_until([](const auto& s) { return s.failed_deliveries >= 1; }, 30s));
  settle();
  engine::configure_logging({});  // back to stderr, info, text for the other tests
  std::lock_guard lock(m);
  ASSERT_FALSE(lines.empty());
  for (const auto& [level, line] : lines) {
    EXPECT_GE(level, engine::log_level::warn) << line;
    EXPECT_TRUE(line.starts_with("{") && line.ends_with("}\n")) << line;
  }
  const bool attempt_logged = std::any_of(lines.begin(), lines.end(), [](const auto& l) {
    return l.second.find("\"msg\":\"delivery attempt failed\"") != std::string::npos;
  });
  EXPECT_TRUE(attempt_logged);
}

}  // namespace
}  // namespace hookd::test
