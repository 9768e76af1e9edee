#include "engine/dispatcher.hpp"

#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/encoding.hpp"
#include "engine/log.hpp"
#include "engine/payload.hpp"
#include "engine/signer.hpp"
#include "engine/uuid.hpp"

namespace hookd::engine {
namespace {

namespace net = boost::asio;
using store::delivery_id;
using store::delivery_status;

// Outcomes are written when the worker has nothing else queued, or at this many.
constexpr std::size_t k_max_batch = 512;

struct id_hash {
  std::size_t operator()(const delivery_id& id) const noexcept {
    std::uint64_t h = 0;
    // The last 8 bytes of a UUIDv7 are random.
    for (std::size_t i = 8; i < 16; ++i) h = (h << 8) | id[i];
    return static_cast<std::size_t>(h);
  }
};

// The URL with the query appended (before any fragment, which is never sent).
std::string url_with_query(std::string_view url, std::string_view query) {
  const auto hash = url.find('#');
  std::string out(url.substr(0, hash));
  out.push_back(out.find('?') == std::string::npos ? '?' : '&');
  out += query;
  return out;
}

}  // namespace

struct dispatcher::shard {
  explicit shard(std::size_t limit) : ioc(1), guard(net::make_work_guard(ioc)), limit(limit) {}

  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> guard;
  std::thread thread;
  std::unique_ptr<http_client> client;
  std::optional<store::delivery_writes> writes;
  bool flush_posted = false;
  std::deque<delivery_job> waiting;  // beyond the in-flight limit
  std::size_t running = 0;           // attempts under way
  std::size_t limit;
  bool stopping = false;
  bool cut = false;  // the drain deadline passed: connections were closed
  std::unique_ptr<net::steady_timer> drain_timer;
  std::unordered_map<delivery_id, std::unique_ptr<net::steady_timer>, id_hash> timers;

  // Read by the API from other threads.
  mutable std::mutex in_flight_mutex;
  std::unordered_set<delivery_id, id_hash> in_flight_ids;
};

dispatcher::dispatcher(dependencies deps, unsigned threads, std::size_t max_in_flight,
                       http_client_options http, retry_policy policy)
    : deps_(std::move(deps)), policy_(std::move(policy)) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t per_shard = std::max<std::size_t>(1, max_in_flight / threads);
  for (unsigned i = 0; i < threads; ++i) {
    auto s = std::make_unique<shard>(per_shard);
    s->client = std::make_unique<http_client>(s->ioc.get_executor(), http);
    s->writes.emplace(deps_.queue->writes());
    shards_.push_back(std::move(s));
  }
}

dispatcher::~dispatcher() { stop(std::chrono::milliseconds(0)); }

dispatcher::shard& dispatcher::shard_of(std::uint64_t webhook_id) const {
  return *shards_[webhook_id % shards_.size()];
}

std::uint64_t dispatcher::connections_opened() const {
  std::uint64_t n = 0;
  // http_client stats are plain counters of their worker; a slightly stale sum is fine.
  for (const auto& s : shards_) n += s->client->stats().connections_opened;
  return n;
}

bool dispatcher::in_flight(std::uint64_t webhook_id, const store::delivery_id& id) const {
  auto& s = shard_of(webhook_id);
  std::lock_guard lock(s.in_flight_mutex);
  return s.in_flight_ids.contains(id);
}

// The workers' logic: static functions over a shard, so coroutines take plain
// pointers by value (CP.53) and every handler runs on the shard's own thread.
struct dispatcher_impl {
  using shard = dispatcher::shard;

  struct worker {
    dispatcher::dependencies* deps;
    const retry_policy* policy;
    dispatcher_stats* stats;
  };

  static void flush(shard* s, store::delivery_queue* queue, dispatcher_stats* stats) {
    s->flush_posted = false;
    if (s->writes->empty()) return;
    const std::size_t n = s->writes->count();
    if (auto r = queue->commit(*s->writes); !r) {
      // The deliveries keep their due entries, so they go out again after a restart.
      log::error("writing delivery outcomes failed",
                 {{"count", std::to_string(n)}, {"error", r.error().message()}});
    }
    stats->write_batches.fetch_add(1, std::memory_order_relaxed);
  }

  static void record(shard* s, worker w, const store::delivery_record& after,
                     std::int64_t previous_due, const store::attempt_record* attempt) {
    s->writes->update(after, previous_due, attempt);
    if (s->writes->count() >= k_max_batch) {
      flush(s, w.deps->queue, w.stats);
    } else if (!s->flush_posted) {
      // Runs after the handlers already queued: outcomes completing together share
      // one RocksDB write.
      s->flush_posted = true;
      net::post(s->ioc, [s, w] {
        if (s->flush_posted) flush(s, w.deps->queue, w.stats);
      });
    }
  }

  static net::awaitable<void> attempt(shard* s, worker w, delivery_job job) {
    const auto snapshot = w.deps->snapshot();
    const auto target = snapshot->find(job.record.webhook_id);
    const clock& now = *w.deps->time_source;
    store::delivery_record after = job.record;
    const std::int64_t previous_due = job.record.next_attempt_at_ms;
    if (!target || !target->active) {
      after.status = delivery_status::cancelled;
      after.updated_at_ms = now.now_ms();
      after.next_attempt_at_ms = 0;
      record(s, w, after, previous_due, nullptr);
      co_return;
    }

    const std::string uuid = format_uuid(job.record.id);
    const event_data& event = *job.event;
    std::string body;
    std::string url;
    std::string_view signed_content;
    if (target->body_method) {
      body = delivery_body(event.payload, uuid, event.type);
      signed_content = body;
    } else {
      const std::string query = delivery_query(uuid, event.type, event.query);
      url = url_with_query(target->url, query);
      signed_content = std::string_view(url).substr(url.size() - query.size());
    }
    const std::int64_t started_ms = now.now_ms();
    const std::int64_t timestamp = started_ms / 1000;
    std::vector<std::pair<std::string, std::string>> headers;
    headers.reserve(3);
    headers.emplace_back("webhook-id", uuid);
    headers.emplace_back("webhook-timestamp", std::to_string(timestamp));
    headers.emplace_back("webhook-signature",
                         sign(target->signing_key, uuid, timestamp, signed_content));

    {
      std::lock_guard lock(s->in_flight_mutex);
      s->in_flight_ids.insert(job.record.id);
    }
    w.stats->attempts.fetch_add(1, std::memory_order_relaxed);
    const http_outcome outcome = co_await s->client->send(http_request{
        .method = target->http_method,
        .url = target->body_method ? std::string_view(target->url) : std::string_view(url),
        .headers = &headers,
        .body = body,
    });
    {
      std::lock_guard lock(s->in_flight_mutex);
      s->in_flight_ids.erase(job.record.id);
    }

    if (s->cut) co_return;  // cut short by stop: leave it queued on disk as it was

    store::attempt_record a;
    a.number = job.record.attempts + 1;
    a.at_ms = started_ms;
    a.duration_ms = static_cast<std::uint32_t>(outcome.duration.count());
    a.status_code = outcome.status;
    a.manual = job.manual;
    a.response_excerpt = outcome.body_excerpt;
    after.attempts = a.number;
    after.updated_at_ms = now.now_ms();
    if (outcome.error == error_kind::none) {
      after.status = delivery_status::succeeded;
      after.next_attempt_at_ms = 0;
      w.stats->succeeded.fetch_add(1, std::memory_order_relaxed);
    } else {
      a.error_kind = std::string(to_string(outcome.error));
      a.error = outcome.message;
      w.stats->failed_attempts.fetch_add(1, std::memory_order_relaxed);
      const auto delay = w.policy->next_delay(a.number, *w.deps->random);
      if (delay) {
        after.status = delivery_status::pending;
        after.next_attempt_at_ms = after.updated_at_ms + delay->count();
      } else {
        after.status = delivery_status::failed;
        after.next_attempt_at_ms = 0;
      }
      log::warn("delivery attempt failed",
                {{"delivery", uuid},
                 {"webhook", std::to_string(job.record.webhook_id)},
                 {"attempt", std::to_string(a.number)},
                 {"error_kind", a.error_kind},
                 {"error", a.error},
                 {"next", delay ? format_rfc3339(after.next_attempt_at_ms) : "none (failed)"}});
    }
    record(s, w, after, previous_due, &a);
    if (after.status == delivery_status::pending) {
      delivery_job next{after, job.event, false};
      schedule(s, w, std::move(next));
    }
  }

  static void run_now(shard* s, worker w, delivery_job job) {
    if (s->stopping) return;  // stays queued on disk
    if (s->running >= s->limit) {
      s->waiting.push_back(std::move(job));
      return;
    }
    ++s->running;
    net::co_spawn(s->ioc, attempt(s, w, std::move(job)), [s, w](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("delivery attempt crashed", {{"error", ex.what()}});
        }
      }
      --s->running;
      if (!s->stopping && !s->waiting.empty()) {
        delivery_job next = std::move(s->waiting.front());
        s->waiting.pop_front();
        run_now(s, w, std::move(next));
      }
      if (s->stopping && s->running == 0) finish(s, w);
    });
  }

  // Runs the job when due: now, or on a timer.
  static void schedule(shard* s, worker w, delivery_job job) {
    if (s->stopping) return;
    const std::int64_t wait_ms = job.record.next_attempt_at_ms - w.deps->time_source->now_ms();
    if (wait_ms <= 0) {
      run_now(s, w, std::move(job));
      return;
    }
    auto timer = std::make_unique<net::steady_timer>(s->ioc, std::chrono::milliseconds(wait_ms));
    auto* t = timer.get();
    const delivery_id id = job.record.id;
    s->timers[id] = std::move(timer);
    t->async_wait([s, w, job = std::move(job)](boost::system::error_code ec) mutable {
      if (ec) return;  // cancelled by stop
      s->timers.erase(job.record.id);
      run_now(s, w, std::move(job));
    });
  }

  static void finish(shard* s, worker w) {
    if (s->drain_timer) s->drain_timer->cancel();
    flush(s, w.deps->queue, w.stats);
    s->client->close_all();
    s->guard.reset();
  }

  static void begin_stop(shard* s, worker w, std::chrono::milliseconds drain) {
    s->stopping = true;
    s->waiting.clear();  // still queued on disk
    for (auto& [id, timer] : s->timers) timer->cancel();
    s->timers.clear();
    if (s->running == 0) {
      finish(s, w);
      return;
    }
    s->drain_timer = std::make_unique<net::steady_timer>(s->ioc, drain);
    s->drain_timer->async_wait([s](boost::system::error_code ec) {
      if (ec) return;
      // Requests still running are cut; their deliveries stay due on disk.
      s->cut = true;
      s->client->close_all();
    });
  }

};

void dispatcher::start() {
  if (started_.exchange(true)) return;
  for (auto& s : shards_) {
    auto* ioc = &s->ioc;
    s->thread = std::thread([ioc] { ioc->run(); });
  }
}

void dispatcher::submit(std::vector<delivery_job> jobs) {
  if (stopped_) return;  // they are on disk; the next start queues them
  const dispatcher_impl::worker w{&deps_, &policy_, &stats_};
  if (shards_.size() == 1) {
    auto* s = shards_[0].get();
    net::post(s->ioc, [s, w, jobs = std::move(jobs)]() mutable {
      for (auto& job : jobs) dispatcher_impl::schedule(s, w, std::move(job));
    });
    return;
  }
  // One hand-off per worker, not per delivery.
  std::vector<std::vector<delivery_job>> by_shard(shards_.size());
  for (auto& job : jobs) {
    by_shard[job.record.webhook_id % shards_.size()].push_back(std::move(job));
  }
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    if (by_shard[i].empty()) continue;
    auto* s = shards_[i].get();
    net::post(s->ioc, [s, w, part = std::move(by_shard[i])]() mutable {
      for (auto& job : part) dispatcher_impl::schedule(s, w, std::move(job));
    });
  }
}

void dispatcher::stop(std::chrono::milliseconds drain) {
  if (stopped_.exchange(true)) return;
  const dispatcher_impl::worker w{&deps_, &policy_, &stats_};
  for (auto& sp : shards_) {
    auto* s = sp.get();
    net::post(s->ioc, [s, w, drain] { dispatcher_impl::begin_stop(s, w, drain); });
  }
  if (!started_) {
    // Never started: run each worker here until its stop completes.
    for (auto& s : shards_) s->ioc.run();
    return;
  }
  for (auto& s : shards_) {
    if (s->thread.joinable()) s->thread.join();
  }
}

}  // namespace hookd::engine
