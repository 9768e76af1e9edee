#include "engine/delivery/dispatcher.hpp"

#include <pthread.h>

#include <array>
#include <cstring>
#include <deque>
#include <future>
#include <map>
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
#include "engine/delivery/payload.hpp"
#include "engine/delivery/signer.hpp"
#include "engine/uuid.hpp"

namespace hookd::engine {
namespace {

namespace net = boost::asio;
using store::delivery_id;
using store::delivery_status;
using due_key = store::delivery_queue::due_key;

// Outcomes are written when the worker has nothing else queued, or at this many.
constexpr std::size_t k_max_batch = 512;
// Due entries read from disk per refill step; a worker yields between steps.
constexpr std::size_t k_refill_step = 1000;
// Deliveries a worker holds in memory at most while reading a backlog from disk.
constexpr std::size_t k_max_held = 20'000;

struct id_hash {
  std::size_t operator()(const delivery_id& id) const noexcept {
    std::uint64_t h = 0;
    // The last 8 bytes of a UUIDv7 are random.
    for (std::size_t i = 8; i < 16; ++i) h = (h << 8) | id[i];
    return static_cast<std::size_t>(h);
  }
};

// The request target with the query appended to any it already has.
std::string target_with_query(std::string_view target, std::string_view query) {
  std::string out(target);
  out.push_back(out.find('?') == std::string::npos ? '?' : '&');
  out += query;
  return out;
}

// The key right after `k` in the due queue's order.
due_key successor(due_key k) {
  for (auto i = k.id.size(); i-- > 0;) {
    if (++k.id[i] != 0) return k;
  }
  ++k.due_ms;
  return k;
}

// Receivers that are overloaded or unreachable: shrink their concurrency.
bool signals_overload(const http_outcome& o) {
  return o.error == error_kind::timeout || o.error == error_kind::connect || o.status == 429 ||
         o.status == 502 || o.status == 503 || o.status == 504;
}

// Per-origin queue with an adaptive concurrency limit (AIMD-like: halve on overload,
// +1 per success, between 1 and the configured maximum).
struct origin_state {
  std::deque<delivery_job> queue;
  std::size_t in_flight = 0;
  std::size_t limit = 1;
  bool listed = false;  // in shard::ready
};

}  // namespace

struct dispatcher::shard {
  shard(std::size_t index, std::size_t count, std::size_t limit)
      : ioc(1),
        guard(net::make_work_guard(ioc)),
        index(index),
        count(count),
        limit(limit),
        wake_timer(ioc),
        refill_timer(ioc),
        write_retry_timer(ioc) {}

  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> guard;
  std::thread thread;
  std::size_t index;
  std::size_t count;
  std::unique_ptr<http_client> client;
  std::optional<store::delivery_writes> writes;
  bool flush_posted = false;

  std::size_t running = 0;  // attempts under way on this worker
  std::size_t limit;        // its share of max_in_flight
  std::unordered_map<std::string, std::unique_ptr<origin_state>> origins;
  std::deque<origin_state*> ready;  // origins with work held back by `limit`

  // Deliveries due later but within the window, by due time.
  std::multimap<std::int64_t, delivery_job> timeline;
  net::steady_timer wake_timer;
  net::steady_timer refill_timer;
  net::steady_timer write_retry_timer;
  bool write_retry_armed = false;
  std::chrono::milliseconds write_backoff{0};
  // Every delivery this worker holds (timeline, origin queues, running), so a refill
  // from disk never loads one twice.
  std::unordered_set<delivery_id, id_hash> known;
  // Due entries before this key are in memory (or done); the rest wait on disk.
  due_key cursor{};
  bool refill_paused = false;  // a backlog read stopped at k_max_held; resumes as it drains

  bool stopping = false;
  bool cut = false;  // the drain deadline passed: connections were closed
  std::unique_ptr<net::steady_timer> drain_timer;

  // Read by the API from other threads.
  mutable std::mutex in_flight_mutex;
  std::unordered_set<delivery_id, id_hash> in_flight_ids;
};

// The workers' logic: static functions over a shard, so coroutines take plain
// pointers by value (CP.53) and every handler runs on the shard's own thread.
struct dispatcher_impl {
  using shard = dispatcher::shard;
  using self = dispatcher*;

  static std::int64_t now_ms(self d) { return d->deps_.time_source->now_ms(); }

  // ---- writing outcomes ----------------------------------------------------

  // Writes the outcomes gathered so far. Returns false when RocksDB refused them: the
  // batch is kept and written again with backoff, since memory has already moved on
  // (a dropped batch would strand deliveries or deliver them twice).
  static bool flush(self d, shard* s) {
    s->flush_posted = false;
    if (s->writes->empty()) return true;
    if (s->write_retry_armed) return false;  // a retry is scheduled; keep gathering
    const std::size_t n = s->writes->count();
    if (auto r = d->deps_.queue->commit(*s->writes); !r) {
      d->stats_.write_failures.fetch_add(1, std::memory_order_relaxed);
      s->write_backoff = std::min(std::max(s->write_backoff * 2, std::chrono::milliseconds(50)),
                                  std::chrono::milliseconds(5000));
      log::error("writing delivery outcomes failed; retrying",
                 {{"count", std::to_string(n)},
                  {"error", r.error().message()},
                  {"retry_in_ms", std::to_string(s->write_backoff.count())}});
      s->write_retry_armed = true;
      s->write_retry_timer.expires_after(s->write_backoff);
      s->write_retry_timer.async_wait([d, s](boost::system::error_code ec) {
        s->write_retry_armed = false;
        if (!ec) flush(d, s);  // cancelled only by finish(), which writes itself
      });
      return false;
    }
    s->write_backoff = std::chrono::milliseconds(0);
    d->stats_.write_batches.fetch_add(1, std::memory_order_relaxed);
    // Once per batch, not per attempt: waking a waiter costs a context switch.
    if (d->deps_.progressed) d->deps_.progressed();
    return true;
  }

  static void record(self d, shard* s, const store::delivery_record& after,
                     std::int64_t previous_due, const store::attempt_record* attempt) {
    s->writes->update(after, previous_due, attempt);
    if (s->writes->count() >= k_max_batch) {
      flush(d, s);
    } else if (!s->flush_posted) {
      // Runs after the handlers already queued: outcomes completing together share
      // one RocksDB write.
      s->flush_posted = true;
      net::post(s->ioc, [d, s] {
        if (s->flush_posted) flush(d, s);
      });
    }
  }

  static void cancel(self d, shard* s, const delivery_job& job) {
    store::delivery_record after = job.record;
    after.status = delivery_status::cancelled;
    after.updated_at_ms = now_ms(d);
    after.next_attempt_at_ms = 0;
    record(d, s, after, job.record.next_attempt_at_ms, nullptr);
    d->stats_.cancelled.fetch_add(1, std::memory_order_relaxed);
  }

  // ---- admission: timeline, origin queues, in-flight limits -----------------

  // Takes a delivery whose due entry is on disk: runs it when due, holds it on the
  // timeline when due within the loaded window, else leaves it to a later refill.
  static void accept(self d, shard* s, delivery_job job) {
    if (s->stopping || s->known.contains(job.record.id)) return;
    const std::int64_t due = job.record.next_attempt_at_ms;
    if (due <= now_ms(d)) {
      enqueue(d, s, std::move(job));
      return;
    }
    if (due_key{due, job.record.id} >= s->cursor) return;  // a refill will bring it in
    s->known.insert(job.record.id);
    const bool earliest = s->timeline.empty() || due < s->timeline.begin()->first;
    s->timeline.emplace(due, std::move(job));
    if (earliest) arm(d, s);
  }

  static void enqueue(self d, shard* s, delivery_job job) {
    const auto target = d->deps_.snapshot()->find(job.record.webhook_id);
    if (!target || !target->active) {
      s->known.erase(job.record.id);
      cancel(d, s, job);
      return;
    }
    s->known.insert(job.record.id);
    auto& slot = s->origins[target->endpoint.origin];
    if (!slot) {
      slot = std::make_unique<origin_state>();
      slot->limit = d->options_.http.connections_per_origin;
    }
    origin_state* o = slot.get();
    if (o->queue.empty() && can_start(s, o)) {
      start(d, s, o, std::move(job));
      return;
    }
    o->queue.push_back(std::move(job));
    if (o->in_flight < o->limit && !o->listed) {
      // Held back by the worker's limit, not the origin's: wait for a free slot.
      o->listed = true;
      s->ready.push_back(o);
    }
  }

  static bool can_start(const shard* s, const origin_state* o) {
    return o->in_flight < o->limit && s->running < s->limit;
  }

  static void start(self d, shard* s, origin_state* o, delivery_job job) {
    ++o->in_flight;
    ++s->running;
    const delivery_id id = job.record.id;
    net::co_spawn(s->ioc, attempt(d, s, o, std::move(job)), [d, s, o, id](std::exception_ptr e) {
      if (e) {
        // A bug, or memory exhaustion: log it and let the delivery go back to disk,
        // where the next refill (or restart) finds it.
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          what = ex.what();
        } catch (...) {
        }
        log::error("delivery attempt crashed", {{"delivery", format_uuid(id)}, {"error", what}});
        s->known.erase(id);
        std::lock_guard lock(s->in_flight_mutex);
        s->in_flight_ids.erase(id);
      }
      --o->in_flight;
      --s->running;
      pump(d, s, o);
      if (s->refill_paused && s->known.size() < k_max_held / 2 && !s->stopping) {
        s->refill_paused = false;
        net::post(s->ioc, [d, s] { refill(d, s); });
      }
      if (s->stopping && s->running == 0) finish(d, s);
    });
  }

  // Starts what the freed capacity allows: this origin first, then origins that were
  // waiting for the worker's limit, round robin.
  static void pump(self d, shard* s, origin_state* o) {
    if (s->stopping) return;
    while (!o->queue.empty() && can_start(s, o)) {
      delivery_job next = std::move(o->queue.front());
      o->queue.pop_front();
      start(d, s, o, std::move(next));
    }
    for (std::size_t turns = s->ready.size(); turns > 0 && s->running < s->limit; --turns) {
      origin_state* p = s->ready.front();
      s->ready.pop_front();
      p->listed = false;
      while (!p->queue.empty() && can_start(s, p)) {
        delivery_job next = std::move(p->queue.front());
        p->queue.pop_front();
        start(d, s, p, std::move(next));
      }
      if (!p->queue.empty() && p->in_flight < p->limit) {
        p->listed = true;
        s->ready.push_back(p);
      }
    }
  }

  // ---- one attempt -----------------------------------------------------------

  static net::awaitable<void> attempt(self d, shard* s, origin_state* o, delivery_job job) {
    const auto target = d->deps_.snapshot()->find(job.record.webhook_id);
    if (!target || !target->active) {
      s->known.erase(job.record.id);
      cancel(d, s, job);
      co_return;
    }
    const std::string uuid = format_uuid(job.record.id);
    const event_data& event = *job.event;
    std::string body;
    std::string request_target;
    std::string_view signed_content;
    if (target->body_method) {
      body = delivery_body(event.payload, uuid, event.type);
      signed_content = body;
    } else {
      // The query form is prepared at publish only when a GET/DELETE webhook matched;
      // this one may have changed its method since.
      std::string payload_query = event.query;
      if (payload_query.empty()) {
        if (auto q = check_payload(event.payload, true)) payload_query = std::move(*q);
      }
      const std::string query = delivery_query(uuid, event.type, payload_query);
      request_target = target_with_query(target->endpoint.target, query);
      signed_content =
          std::string_view(request_target).substr(request_target.size() - query.size());
    }
    const std::int64_t started_ms = now_ms(d);
    const std::int64_t timestamp = started_ms / 1000;
    const std::string timestamp_text = std::to_string(timestamp);
    const std::string signature = sign(target->signing_key, uuid, timestamp, signed_content);
    const std::array<std::pair<std::string_view, std::string_view>, 3> headers{{
        {"webhook-id", uuid},
        {"webhook-timestamp", timestamp_text},
        {"webhook-signature", signature},
    }};
    {
      std::lock_guard lock(s->in_flight_mutex);
      s->in_flight_ids.insert(job.record.id);
    }
    d->stats_.attempts.fetch_add(1, std::memory_order_relaxed);
    const http_outcome outcome = co_await s->client->send(http_request{
        .method = target->http_method,
        .url = &target->endpoint,
        .target = target->body_method ? std::string_view(target->endpoint.target)
                                      : std::string_view(request_target),
        .headers = headers,
        .body = body,
    });
    {
      std::lock_guard lock(s->in_flight_mutex);
      s->in_flight_ids.erase(job.record.id);
    }
    s->known.erase(job.record.id);
    if (s->cut) co_return;  // cut short by stop: it stays queued on disk as it was

    const std::int64_t finished_ms = now_ms(d);
    store::attempt_record a;
    a.number = job.record.attempts + 1;
    a.at_ms = started_ms;
    a.duration_ms = static_cast<std::uint32_t>(outcome.duration.count());
    a.status_code = outcome.status;
    a.manual = job.manual;
    a.response_excerpt = outcome.body_excerpt;
    // The job's record becomes the delivery's new state (no copy on the hot path).
    const std::int64_t previous_due = job.record.next_attempt_at_ms;
    store::delivery_record& after = job.record;
    after.attempts = a.number;
    after.updated_at_ms = finished_ms;
    after.next_attempt_at_ms = 0;
    const std::size_t max_limit = d->options_.http.connections_per_origin;
    if (outcome.error == error_kind::none) {
      after.status = delivery_status::succeeded;
      o->limit = std::min(max_limit, o->limit + 1);
      d->stats_.succeeded.fetch_add(1, std::memory_order_relaxed);
    } else {
      a.error_kind = std::string(to_string(outcome.error));
      a.error = outcome.message;
      d->stats_.failed_attempts.fetch_add(1, std::memory_order_relaxed);
      if (signals_overload(outcome) && o->limit > 1) {
        o->limit = std::max<std::size_t>(1, o->limit / 2);
        d->stats_.backoff_events.fetch_add(1, std::memory_order_relaxed);
      }
      std::optional<retry_policy::duration> delay;
      const auto current = d->deps_.snapshot()->find(job.record.webhook_id);
      if (outcome.status == 410 && current && current->url == target->url) {
        // Gone: the receiver asks us to stop. Disable the webhook; its other pending
        // deliveries are cancelled with it.
        // (Not when the URL changed while the request was out: the 410 is the old one's.)
        after.status = delivery_status::cancelled;
        d->deps_.disable_webhook(job.record.webhook_id, "the receiver answered 410 Gone at " +
                                                            format_rfc3339(finished_ms));
      } else if (!job.last_chance) {
        const retry_policy& policy = target->policy ? *target->policy : d->options_.policy;
        delay = policy.next_delay(a.number, *d->deps_.random);
        if (delay && (outcome.status == 429 || outcome.status == 503) &&
            !outcome.retry_after.empty()) {
          if (auto asked = parse_retry_after(outcome.retry_after, finished_ms)) {
            delay = std::max(*delay, std::min(*asked, d->options_.max_retry_after));
          }
        }
      }
      if (after.status != delivery_status::cancelled) {
        after.status = delay ? delivery_status::pending : delivery_status::failed;
        if (delay) after.next_attempt_at_ms = finished_ms + delay->count();
      }
      if (after.status == delivery_status::failed) {
        d->stats_.failed_deliveries.fetch_add(1, std::memory_order_relaxed);
      }
      log::warn("delivery attempt failed",
                {{"delivery", uuid},
                 {"webhook", std::to_string(job.record.webhook_id)},
                 {"attempt", std::to_string(a.number)},
                 {"error_kind", a.error_kind},
                 {"error", a.error},
                 {"next", delay ? format_rfc3339(after.next_attempt_at_ms)
                                : std::string(store::to_string(after.status))}});
    }
    record(d, s, after, previous_due, &a);
    if (after.status == delivery_status::pending) {
      job.manual = false;
      job.last_chance = false;
      accept(d, s, std::move(job));
    }
  }

  // ---- timers and refills ----------------------------------------------------

  static void arm(self d, shard* s) {
    if (s->timeline.empty()) {
      s->wake_timer.cancel();
      return;
    }
    const std::int64_t wait = std::max<std::int64_t>(0, s->timeline.begin()->first - now_ms(d));
    s->wake_timer.expires_after(std::chrono::milliseconds(wait));
    s->wake_timer.async_wait([d, s](boost::system::error_code ec) {
      if (!ec) release_due(d, s);
    });
  }

  // Moves every timeline entry that is due by the clock into its origin queue.
  static void release_due(self d, shard* s) {
    if (s->stopping) return;
    const std::int64_t now = now_ms(d);
    while (!s->timeline.empty() && s->timeline.begin()->first <= now) {
      delivery_job job = std::move(s->timeline.begin()->second);
      s->timeline.erase(s->timeline.begin());
      enqueue(d, s, std::move(job));
    }
    arm(d, s);
  }

  // Loads due entries of this worker from disk up to now + window.
  static void refill(self d, shard* s) {
    if (s->stopping) return;
    // Disk must reflect every outcome this worker has seen before it is read back.
    if (!flush(d, s)) return;
    const std::int64_t bound = now_ms(d) + d->options_.window.count();
    std::vector<std::pair<due_key, std::uint64_t>> entries;
    auto scanned = d->deps_.queue->scan_due(
        s->cursor, bound, k_refill_step,
        [&](const due_key& k, std::uint64_t webhook, std::uint64_t publisher) {
          // Published by this process: handed over in memory by submit(), which may
          // not have run yet; loading it here too would deliver it twice.
          if (publisher == d->boot_id_) webhook = UINT64_MAX;
          entries.emplace_back(k, webhook);
        });
    if (!scanned) {
      log::error("reading the due queue failed", {{"error", scanned.error().message()}});
      return;
    }
    // This worker's entries, read in two batched lookups: deliveries, then events.
    std::vector<due_key> mine;
    std::vector<store::delivery_id> ids;
    for (const auto& [key, webhook] : entries) {
      if (webhook == UINT64_MAX || webhook % s->count != s->index || s->known.contains(key.id)) {
        continue;
      }
      mine.push_back(key);
      ids.push_back(key.id);
    }
    auto records = d->deps_.queue->get_many(ids);
    std::map<std::pair<std::string, std::string>, std::shared_ptr<const event_data>> events;
    std::vector<std::pair<std::string, std::string>> wanted;
    for (const auto& rec : records) {
      if (!rec) continue;
      auto key = std::make_pair(rec->account, rec->event_id);
      if (events.emplace(key, nullptr).second) wanted.push_back(std::move(key));
    }
    auto found = d->deps_.queue->find_events(wanted);
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (!found[i]) {
        log::error("the event of a due delivery is missing", {{"event", wanted[i].second}});
        continue;
      }
      auto data = std::make_shared<event_data>();
      data->account = found[i]->account;
      data->id = found[i]->id;
      data->type = found[i]->type;
      // data->query stays empty: attempt() builds it for GET/DELETE webhooks only.
      data->payload = std::move(found[i]->payload);
      events[wanted[i]] = std::move(data);
    }
    for (std::size_t i = 0; i < mine.size(); ++i) {
      auto& rec = records[i];
      if (!rec) {
        log::error("a due delivery is missing",
                   {{"delivery", format_uuid(mine[i].id)}, {"error", rec.error().message()}});
        continue;
      }
      if (rec->status != delivery_status::pending && rec->status != delivery_status::in_flight) {
        continue;  // a stale due entry: the delivery is already done
      }
      auto ev = events[{rec->account, rec->event_id}];
      if (!ev) continue;
      delivery_job job{std::move(*rec), std::move(ev)};
      // Past the cursor now, so accept() keeps it on the timeline.
      s->cursor = std::max(s->cursor, successor(mine[i]));
      accept(d, s, std::move(job));
    }
    if (*scanned == k_refill_step) {
      s->cursor = std::max(s->cursor, successor(entries.back().first));
      if (s->known.size() < k_max_held) {
        net::post(s->ioc, [d, s] { refill(d, s); });  // more is due: continue after a yield
      } else {
        // A large backlog (a long outage, a restart): hold at most k_max_held in memory
        // and read on as attempts finish; the rest waits on disk.
        s->refill_paused = true;
      }
    } else {
      s->cursor = std::max(s->cursor, due_key{bound, {}});
    }
  }

  static std::shared_ptr<const event_data> load_event(
      self d,
      std::map<std::pair<std::string, std::string>, std::shared_ptr<const event_data>>& cache,
      const std::string& account, const std::string& id) {
    auto key = std::make_pair(account, id);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    auto ev = d->deps_.queue->find_event(account, id);
    if (!ev) {
      log::error("the event of a due delivery is missing", {{"event", id}});
      return nullptr;
    }
    auto data = std::make_shared<event_data>();
    data->account = ev->account;
    data->id = ev->id;
    data->type = ev->type;
    data->payload = std::move(ev->payload);
    // data->query stays empty: attempt() builds it for GET/DELETE webhooks only.
    cache.emplace(key, data);
    return data;
  }

  static void refill_loop(self d, shard* s) {
    const auto period =
        std::max<std::chrono::milliseconds>(d->options_.window / 4, std::chrono::milliseconds(10));
    s->refill_timer.expires_after(period);
    s->refill_timer.async_wait([d, s](boost::system::error_code ec) {
      if (ec || s->stopping) return;
      refill(d, s);
      release_due(d, s);
      refill_loop(d, s);
    });
  }

  // ---- operator actions ------------------------------------------------------

  static void cancel_webhook(self d, shard* s, std::uint64_t webhook_id) {
    if (s->stopping) return;
    flush(d, s);
    std::unordered_set<delivery_id, id_hash> dropped;
    for (auto it = s->timeline.begin(); it != s->timeline.end();) {
      if (it->second.record.webhook_id == webhook_id) {
        dropped.insert(it->second.record.id);
        it = s->timeline.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [key, o] : s->origins) {
      std::erase_if(o->queue, [&](const delivery_job& j) {
        if (j.record.webhook_id != webhook_id) return false;
        dropped.insert(j.record.id);
        return true;
      });
    }
    for (const auto& id : dropped) s->known.erase(id);
    auto pending = d->deps_.queue->pending_of_webhook(webhook_id);
    if (!pending) {
      log::error("cancelling deliveries failed",
                 {{"webhook", std::to_string(webhook_id)}, {"error", pending.error().message()}});
      return;
    }
    for (const auto& rec : *pending) {
      if (s->known.contains(rec.id)) continue;  // running: its completion cancels it
      cancel(d, s, delivery_job{rec, nullptr});
    }
    arm(d, s);
  }

  static void retry_now(self d, shard* s, store::delivery_id id, bool manual) {
    if (s->stopping) return;
    flush(d, s);
    auto rec = d->deps_.queue->get(id);
    if (!rec) return;
    if (s->known.contains(id)) {
      // Already held here: bring it forward if it waits on the timeline.
      for (auto it = s->timeline.begin(); it != s->timeline.end(); ++it) {
        if (it->second.record.id == id) {
          delivery_job job = std::move(it->second);
          s->timeline.erase(it);
          job.manual = manual;
          enqueue(d, s, std::move(job));
          break;
        }
      }
      return;
    }
    std::map<std::pair<std::string, std::string>, std::shared_ptr<const event_data>> cache;
    auto ev = load_event(d, cache, rec->account, rec->event_id);
    if (!ev) return;
    const bool was_due = rec->status == delivery_status::pending;
    store::delivery_record after = *rec;
    after.status = delivery_status::pending;
    after.next_attempt_at_ms = now_ms(d);
    after.updated_at_ms = after.next_attempt_at_ms;
    record(d, s, after, was_due ? rec->next_attempt_at_ms : 0, nullptr);
    // A pending delivery keeps its schedule; one that had ended gets one attempt.
    enqueue(d, s, delivery_job{after, std::move(ev), manual, !was_due});
  }

  // ---- stopping ----------------------------------------------------------------

  static void finish(self d, shard* s) {
    if (s->drain_timer) s->drain_timer->cancel();
    s->write_retry_timer.cancel();
    s->write_retry_armed = false;
    if (!flush(d, s)) {
      // Last try failed: these outcomes are lost, not the deliveries; their due
      // entries stay, so they go out again after the restart.
      s->write_retry_timer.cancel();
      log::error("stopping with unwritten delivery outcomes",
                 {{"count", std::to_string(s->writes->count())}});
    }
    s->client->close_all();
    s->guard.reset();
  }

  static void begin_stop(self d, shard* s, std::chrono::milliseconds drain) {
    s->stopping = true;
    s->timeline.clear();  // still queued on disk
    for (auto& [key, o] : s->origins) o->queue.clear();
    s->ready.clear();
    s->wake_timer.cancel();
    s->refill_timer.cancel();
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
  // From the CSPRNG whatever random source was injected: a seeded test source would
  // give a restarted process its predecessor's id, and it would skip that one's work.
  crypto_random csprng;
  while (boot_id_ == 0 || boot_id_ == UINT64_MAX) {
    std::array<std::byte, 8> bytes{};
    csprng.fill(bytes);
    std::memcpy(&boot_id_, bytes.data(), bytes.size());
  }
  unsigned threads = options_.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t per_shard = std::max<std::size_t>(1, options_.max_in_flight / threads);
  for (unsigned i = 0; i < threads; ++i) {
    auto s = std::make_unique<shard>(i, threads, per_shard);
    s->client = std::make_unique<http_client>(s->ioc.get_executor(), options_.http);
    s->writes.emplace(deps_.queue->writes());
    // Sized for the in-flight limit up front: no rehashing on the hot path.
    s->known.reserve(2 * per_shard);
    s->in_flight_ids.reserve(2 * per_shard);
    shards_.push_back(std::move(s));
  }
}

dispatcher::~dispatcher() { stop(std::chrono::milliseconds(0)); }

dispatcher::shard& dispatcher::shard_of(std::uint64_t webhook_id) const {
  return *shards_[webhook_id % shards_.size()];
}

std::uint64_t dispatcher::connections_opened() const {
  std::uint64_t n = 0;
  // Plain counters of each worker; a slightly stale sum is fine.
  for (const auto& s : shards_) n += s->client->stats().connections_opened;
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
    // Recovery: whatever was pending or in flight at the last stop or crash is due
    // on disk; the first refill brings in what is due now and within the window.
    net::post(s->ioc, [this, s] {
      dispatcher_impl::refill(this, s);
      dispatcher_impl::refill_loop(this, s);
    });
    s->thread = std::thread([s] {
      // Named for top, perf and gdb: "hookd-worker-0", ...
      const std::string name = "hookd-worker-" + std::to_string(s->index);
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      s->ioc.run();
    });
  }
}

void dispatcher::submit(std::vector<delivery_job> jobs) {
  if (stopped_) return;  // they are on disk; the next start queues them
  auto hand_off = [this](shard* s, std::vector<delivery_job> part) {
    net::post(s->ioc, [this, s, part = std::move(part)]() mutable {
      // Fresh from publish: due now (even if the clock stepped back since), and never
      // read back by a refill of this process, so it must not be left to one.
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

void dispatcher::wake() {
  for (auto& sp : shards_) {
    auto* s = sp.get();
    net::post(s->ioc, [this, s] {
      dispatcher_impl::refill(this, s);
      dispatcher_impl::release_due(this, s);
    });
  }
}

void dispatcher::sync() {
  if (!started_ || stopped_) return;
  std::vector<std::future<void>> done;
  for (auto& sp : shards_) {
    auto* s = sp.get();
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    net::post(s->ioc, [this, s, promise] {
      dispatcher_impl::flush(this, s);
      promise->set_value();
    });
  }
  for (auto& f : done) {
    // A stop racing this call ends the workers before they run the handler.
    while (f.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      if (stopped_) return;
    }
  }
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
