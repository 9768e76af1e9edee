// The dispatcher's workers: admission into per-origin queues under the in-flight
// limits, one coroutine per attempt, operator actions and shutdown. The rules live
// elsewhere: next_state (what an outcome means), origin_queue (back-pressure),
// scheduler (timeline and claims), outcome_batch (writes), attempt_request (signing).
#include "engine/delivery/dispatcher.hpp"

#include <pthread.h>

#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/delivery/attempt_request.hpp"
#include "engine/delivery/lease_table.hpp"
#include "engine/delivery/next_state.hpp"
#include "engine/delivery/origin_queue.hpp"
#include "engine/delivery/outcome_batch.hpp"
#include "engine/delivery/scheduler.hpp"
#include "engine/encoding.hpp"
#include "engine/log.hpp"
#include "engine/uuid.hpp"
#include "store/delivery_codec.hpp"

namespace hookd::engine {
namespace {

namespace net = boost::asio;
using store::delivery_id;
using store::delivery_status;

std::string exception_text(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
  }
  return "unknown exception";
}

}  // namespace

struct dispatcher::shard {
  shard(std::size_t index, std::size_t limit) : guard(net::make_work_guard(ioc)), index(index), limit(limit) {}

  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> guard;
  std::thread thread;
  std::size_t index;
  std::unique_ptr<sender> client;
  std::unique_ptr<outcome_batch> outcomes;
  std::unique_ptr<scheduler> timeline;

  std::size_t running = 0;  // attempts under way on this worker
  std::size_t limit;        // its share of max_in_flight
  std::unordered_map<std::string, std::unique_ptr<origin_queue>> origins;
  std::deque<origin_queue*> ready;  // origins with work held back by `limit`
  // Every delivery this worker holds (timeline, origin queues, running): all leased.
  std::unordered_set<delivery_id, delivery_id_hash> known;
  std::vector<delivery_id> held_scratch;  // `known` as a list, for lease renewal

  bool stopping = false;
  bool cut = false;  // the drain deadline passed: connections were closed
  std::unique_ptr<net::steady_timer> drain_timer;

  // Read by the API from other threads.
  mutable std::mutex in_flight_mutex;
  std::unordered_set<delivery_id, delivery_id_hash> in_flight_ids;
};

// The workers' logic: static functions over a shard, so coroutines take plain
// pointers by value (CP.53) and every handler runs on the shard's own thread.
struct dispatcher_impl {
  using shard = dispatcher::shard;
  using self = dispatcher*;

  static std::int64_t now_ms(self d) { return d->deps_.time_source->now_ms(); }

  static void settle(self d, shard* s, store::delivery_record after, std::int64_t previous_due,
                     std::optional<store::attempt_record> attempt, std::int64_t hold_until = 0) {
    (void)d;
    s->outcomes->add(settlement{std::move(after), previous_due, std::move(attempt), hold_until});
  }

  static void cancel(self d, shard* s, delivery_job job) {
    const std::int64_t previous_due = job.record.next_attempt_at_ms;
    store::delivery_record& after = job.record;
    after.status = delivery_status::cancelled;
    after.updated_at_ms = now_ms(d);
    after.next_attempt_at_ms = 0;
    settle(d, s, std::move(after), previous_due, std::nullopt);
    d->stats_.cancelled.fetch_add(1, std::memory_order_relaxed);
  }

  // ---- admission: origin queues and in-flight limits ------------------------------

  static void enqueue(self d, shard* s, delivery_job job) {
    const auto target = d->deps_.snapshot()->find(job.record.webhook_id);
    if (!target || !target->active) {
      s->known.erase(job.record.id);
      cancel(d, s, std::move(job));
      return;
    }
    s->known.insert(job.record.id);
    auto& slot = s->origins[target->endpoint.origin];
    if (!slot) slot = std::make_unique<origin_queue>(d->options_.connections_per_origin);
    origin_queue* o = slot.get();
    if (o->waiting.empty() && can_start(s, o)) {
      start(d, s, o, std::move(job));
      return;
    }
    o->waiting.push_back(std::move(job));
    if (o->has_room() && !o->listed) {
      // Held back by the worker's limit, not the origin's: wait for a free slot.
      o->listed = true;
      s->ready.push_back(o);
    }
  }

  static bool can_start(const shard* s, const origin_queue* o) {
    return o->has_room() && s->running < s->limit;
  }

  static void start(self d, shard* s, origin_queue* o, delivery_job job) {
    ++o->in_flight;
    ++s->running;
    const delivery_id id = job.record.id;
    net::co_spawn(s->ioc, attempt(d, s, o, std::move(job)), [d, s, o, id](std::exception_ptr e) {
      if (e) {
        // A bug, or memory exhaustion: log it and give the lease back, so the next
        // claim takes the delivery again (it is still due on disk).
        log::error("delivery attempt crashed",
                   {{"delivery", format_uuid(id)}, {"error", exception_text(e)}});
        d->stats_.crashed_attempts.fetch_add(1, std::memory_order_relaxed);
        {
          std::lock_guard lock(s->in_flight_mutex);
          s->in_flight_ids.erase(id);
        }
        s->known.erase(id);
        d->deps_.queue->release(std::span<const delivery_id>(&id, 1));
      }
      --o->in_flight;
      --s->running;
      pump(d, s, o);
      s->timeline->room_freed(s->known.size());
      if (s->stopping && s->running == 0) finish(d, s);
    });
  }

  // A slot freed up: start what the origin, then other waiting origins, can take.
  static void pump(self d, shard* s, origin_queue* o) {
    if (s->stopping) return;
    while (!o->waiting.empty() && can_start(s, o)) {
      delivery_job next = std::move(o->waiting.front());
      o->waiting.pop_front();
      start(d, s, o, std::move(next));
    }
    while (!s->ready.empty() && s->running < s->limit) {
      origin_queue* p = s->ready.front();
      s->ready.pop_front();
      p->listed = false;
      while (!p->waiting.empty() && can_start(s, p)) {
        delivery_job next = std::move(p->waiting.front());
        p->waiting.pop_front();
        start(d, s, p, std::move(next));
      }
      if (!p->waiting.empty() && p->has_room()) {
        p->listed = true;
        s->ready.push_back(p);
      }
    }
  }

  // ---- one attempt -----------------------------------------------------------------

  static net::awaitable<void> attempt(self d, shard* s, origin_queue* o, delivery_job job) {
    const auto target = d->deps_.snapshot()->find(job.record.webhook_id);
    if (!target || !target->active) {
      s->known.erase(job.record.id);
      cancel(d, s, std::move(job));
      co_return;
    }
    const std::int64_t started_ms = now_ms(d);
    const attempt_request request(job, *target, started_ms);
    {
      std::lock_guard lock(s->in_flight_mutex);
      s->in_flight_ids.insert(job.record.id);
    }
    d->stats_.attempts.fetch_add(1, std::memory_order_relaxed);
    const http_outcome outcome = co_await s->client->send(request.request());
    {
      std::lock_guard lock(s->in_flight_mutex);
      s->in_flight_ids.erase(job.record.id);
    }
    s->known.erase(job.record.id);
    if (s->cut) co_return;  // cut short by stop: it stays queued on disk as it was

    if (o->on_outcome(outcome)) d->stats_.backoff_events.fetch_add(1, std::memory_order_relaxed);
    const auto current = d->deps_.snapshot()->find(job.record.webhook_id);
    const retry_policy& policy = target->policy ? *target->policy : d->options_.policy;
    const std::int64_t previous_due = job.record.next_attempt_at_ms;
    const std::uint64_t webhook_id = job.record.webhook_id;
    transition t = next_state(std::move(job.record), outcome, policy,
                              attempt_context{
                                  .started_ms = started_ms,
                                  .finished_ms = now_ms(d),
                                  .manual = job.manual,
                                  .last_chance = job.last_chance,
                                  .same_url = current && current->url == target->url,
                                  .max_retry_after = d->options_.max_retry_after,
                              },
                              *d->deps_.random);
    if (t.after.status == delivery_status::pending && (!current || !current->active)) {
      // Deleted or deactivated while this attempt was under way: the queue's cancel
      // skipped the leased delivery and left it to us, so it ends here, not at its
      // next due time.
      t.after.status = delivery_status::cancelled;
      t.after.next_attempt_at_ms = 0;
      d->stats_.cancelled.fetch_add(1, std::memory_order_relaxed);
    }
    count(d, t.after.status, outcome);
    if (t.disable_reason) d->deps_.disable_webhook(webhook_id, *t.disable_reason);
    if (outcome.error != error_kind::none) {
      log::warn("delivery attempt failed",
                {{"delivery", request.uuid()},
                 {"webhook", std::to_string(webhook_id)},
                 {"attempt", std::to_string(t.attempt.number)},
                 {"error_kind", t.attempt.error_kind},
                 {"error", t.attempt.error},
                 {"next", t.after.status == delivery_status::pending
                              ? format_rfc3339(t.after.next_attempt_at_ms)
                              : std::string(store::to_string(t.after.status))}});
    }
    if (t.after.status != delivery_status::pending) {
      settle(d, s, std::move(t.after), previous_due, std::move(t.attempt));
      co_return;
    }
    // A retry: kept in memory (and leased) when due within the window, else left on
    // disk for a later claim.
    const std::int64_t due = t.after.next_attempt_at_ms;
    const bool keep = !s->stopping && s->timeline->keeps(due);
    settle(d, s, t.after, previous_due, std::move(t.attempt),
           keep ? s->timeline->lease_until(due) : 0);
    if (!keep) co_return;
    job.record = std::move(t.after);
    job.manual = false;
    job.last_chance = false;
    s->known.insert(job.record.id);
    s->timeline->hold(std::move(job));
  }

  static void count(self d, delivery_status after, const http_outcome& outcome) {
    auto& st = d->stats_;
    if (outcome.error == error_kind::none) {
      st.succeeded.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    st.failed_attempts.fetch_add(1, std::memory_order_relaxed);
    if (after == delivery_status::failed) st.failed_deliveries.fetch_add(1, std::memory_order_relaxed);
  }

  // ---- operator actions ------------------------------------------------------------

  static void cancel_webhook(self d, shard* s, std::uint64_t webhook_id) {
    if (s->stopping) return;
    std::vector<delivery_job> dropped = s->timeline->drop_webhook(webhook_id);
    for (auto& [key, o] : s->origins) {
      std::erase_if(o->waiting, [&](delivery_job& j) {
        if (j.record.webhook_id != webhook_id) return false;
        dropped.push_back(std::move(j));
        return true;
      });
    }
    for (auto& job : dropped) {
      s->known.erase(job.record.id);
      cancel(d, s, std::move(job));
    }
    // Running attempts cancel theirs when they complete; the queue cancels what no one
    // holds.
    s->outcomes->flush();
    auto n = d->deps_.queue->cancel_webhook(webhook_id, now_ms(d));
    if (!n) {
      log::error("cancelling deliveries failed",
                 {{"webhook", std::to_string(webhook_id)}, {"error", n.error().message()}});
      return;
    }
    d->stats_.cancelled.fetch_add(*n, std::memory_order_relaxed);
  }

  static void retry_now(self d, shard* s, delivery_id id, bool manual) {
    if (s->stopping) return;
    if (s->known.contains(id)) {
      // Already held here: bring it forward if it waits on the timeline.
      if (auto job = s->timeline->take(id)) {
        job->manual = manual;
        enqueue(d, s, std::move(*job));
      }
      return;
    }
    s->outcomes->flush();
    const std::int64_t now = now_ms(d);
    auto claimed = d->deps_.queue->claim_one(id, now, d->options_.lease);
    if (!claimed) {
      log::warn("manual retry not possible",
                {{"delivery", format_uuid(id)}, {"error", claimed.error().message()}});
      return;
    }
    delivery_job job = std::move(*claimed);
    const bool was_due = job.record.status == delivery_status::pending;
    const std::int64_t previous_due = was_due ? job.record.next_attempt_at_ms : 0;
    job.record.status = delivery_status::pending;
    job.record.next_attempt_at_ms = now;
    job.record.updated_at_ms = now;
    settle(d, s, job.record, previous_due, std::nullopt, s->timeline->lease_until(now));
    // A pending delivery keeps its schedule; one that had ended gets one attempt.
    job.manual = manual;
    job.last_chance = !was_due;
    enqueue(d, s, std::move(job));
  }

  // ---- stopping ----------------------------------------------------------------------

  static void finish(self d, shard* s) {
    (void)d;
    if (s->drain_timer) s->drain_timer->cancel();
    s->outcomes->stop();
    s->client->close_all();
    s->guard.reset();
  }

  static void begin_stop(self d, shard* s, std::chrono::milliseconds drain) {
    s->stopping = true;
    s->timeline->stop();  // still queued on disk
    for (auto& [key, o] : s->origins) o->waiting.clear();
    s->ready.clear();
    if (s->running == 0) {
      finish(d, s);
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

dispatcher::dispatcher(dependencies deps, dispatcher_options options)
    : deps_(std::move(deps)), options_(std::move(options)) {
  unsigned threads = options_.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t per_shard = std::max<std::size_t>(1, options_.max_in_flight / threads);
  for (unsigned i = 0; i < threads; ++i) {
    auto s = std::make_unique<shard>(i, per_shard);
    shard* raw = s.get();
    s->client = deps_.senders(s->ioc);
    s->outcomes = std::make_unique<outcome_batch>(s->ioc, *deps_.queue, *deps_.time_source,
                                                  deps_.progressed);
    s->timeline = std::make_unique<scheduler>(
        s->ioc, *deps_.queue, *deps_.time_source,
        scheduler_options{
            .window = options_.window,
            .lease = options_.lease,
            .max_held = options_.max_held,
            .part = partition{i, threads},
        },
        scheduler::hooks{
            .due = [this, raw](delivery_job job) { dispatcher_impl::enqueue(this, raw, std::move(job)); },
            .held_count = [raw] { return raw->known.size(); },
            .held = [raw]() -> const std::vector<delivery_id>& {
              raw->held_scratch.assign(raw->known.begin(), raw->known.end());
              return raw->held_scratch;
            },
            .holds = [raw](const delivery_id& id) { return raw->known.contains(id); },
            .flush = [raw] { return raw->outcomes->flush(); },
        });
    // Sized for the in-flight limit up front: no rehashing on the hot path.
    s->known.reserve(2 * per_shard);
    s->in_flight_ids.reserve(2 * per_shard);
    shards_.push_back(std::move(s));
  }
  if (deps_.webhooks) {
    // Deleted or deactivated: its pending deliveries are cancelled.
    deps_.webhooks->watch([this](const registry_change& change) {
      if (!change.now || !change.now->active) cancel_webhook(change.id);
    });
  }
}

dispatcher::~dispatcher() { stop(std::chrono::milliseconds(0)); }

dispatcher::shard& dispatcher::shard_of(std::uint64_t webhook_id) const {
  return *shards_[webhook_id % shards_.size()];
}

std::uint64_t dispatcher::connections_opened() const {
  std::uint64_t n = 0;
  // Plain counters of each worker; a slightly stale sum is fine.
  for (const auto& s : shards_) n += s->client->connections_opened();
  return n;
}

std::uint64_t dispatcher::write_failures() const {
  std::uint64_t n = 0;
  for (const auto& s : shards_) n += s->outcomes->failures();
  return n;
}

bool dispatcher::in_flight(std::uint64_t webhook_id, const store::delivery_id& id) const {
  auto& s = shard_of(webhook_id);
  std::lock_guard lock(s.in_flight_mutex);
  return s.in_flight_ids.contains(id);
}

void dispatcher::start() {
  if (stopped_ || started_.exchange(true)) return;
  for (auto& sp : shards_) {
    auto* s = sp.get();
    // Recovery: whatever was pending or in flight at the last stop or crash is due on
    // disk and unleased; the first claim brings in what is due now and within the
    // window.
    net::post(s->ioc, [s] { s->timeline->start(); });
    s->thread = std::thread([s] {
      // Named for top, perf and gdb: "hookd-worker-0", ...
      const std::string name = "hookd-worker-" + std::to_string(s->index);
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      s->ioc.run();
    });
  }
}

void dispatcher::submit(std::vector<delivery_job> jobs) {
  if (stopped_) return;  // they are on disk; the next start claims them
  auto hand_off = [this](shard* s, std::vector<delivery_job> part) {
    net::post(s->ioc, [this, s, part = std::move(part)]() mutable {
      // Fresh from publish: due now (even if the clock stepped back since).
      for (auto& job : part) {
        if (!s->stopping) dispatcher_impl::enqueue(this, s, std::move(job));
      }
    });
  };
  if (shards_.size() == 1) {
    hand_off(shards_[0].get(), std::move(jobs));
    return;
  }
  // One hand-off per worker, not per delivery.
  std::vector<std::vector<delivery_job>> by_shard(shards_.size());
  for (auto& job : jobs) {
    by_shard[job.record.webhook_id % shards_.size()].push_back(std::move(job));
  }
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    if (!by_shard[i].empty()) hand_off(shards_[i].get(), std::move(by_shard[i]));
  }
}

void dispatcher::on_every_worker(const std::function<void(shard&)>& fn, bool second_hop) {
  if (!started_ || stopped_) return;
  std::vector<std::future<void>> done;
  for (auto& sp : shards_) {
    auto* s = sp.get();
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    net::post(s->ioc, [s, fn, promise, second_hop] {
      fn(*s);
      if (!second_hop) {
        promise->set_value();
        return;
      }
      // Queued behind whatever `fn` posted (attempt coroutines start with a post).
      net::post(s->ioc, [promise] { promise->set_value(); });
    });
  }
  for (auto& f : done) {
    // A stop racing this call ends the workers before they run the handler.
    while (f.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      if (stopped_) return;
    }
  }
}

void dispatcher::wake() {
  on_every_worker(
      [](shard& s) {
        if (!s.stopping) s.timeline->wake();
      },
      true);
}

void dispatcher::sync() {
  on_every_worker([](shard& s) { s.outcomes->flush(); }, false);
}

void dispatcher::cancel_webhook(std::uint64_t webhook_id) {
  if (stopped_) return;
  auto* s = &shard_of(webhook_id);
  net::post(s->ioc,
            [this, s, webhook_id] { dispatcher_impl::cancel_webhook(this, s, webhook_id); });
}

outcome<void> dispatcher::retry_now(const store::delivery_record& record, bool manual) {
  if (stopped_) return failure::from(errc::shutting_down, "the engine is stopping");
  if (in_flight(record.webhook_id, record.id)) {
    return failure::from(errc::already_exists,
                         "delivery " + format_uuid(record.id) + " is in flight right now");
  }
  auto* s = &shard_of(record.webhook_id);
  const delivery_id id = record.id;
  net::post(s->ioc, [this, s, id, manual] { dispatcher_impl::retry_now(this, s, id, manual); });
  return {};
}

void dispatcher::stop(std::chrono::milliseconds drain) {
  if (stopped_.exchange(true)) return;
  for (auto& sp : shards_) {
    auto* s = sp.get();
    net::post(s->ioc, [this, s, drain] { dispatcher_impl::begin_stop(this, s, drain); });
  }
  if (!started_) {
    // Never started: nothing ran, and what was handed over stays queued on disk. The
    // io_contexts drop the queued handlers unrun when they are destroyed.
    return;
  }
  for (auto& s : shards_) {
    if (s->thread.joinable()) s->thread.join();
  }
}

}  // namespace hookd::engine
