// The dispatcher: its workers (engine/delivery/worker.*), started and stopped here,
// and the thread-safe entry points that hand work to them.
#include "engine/delivery/dispatcher.hpp"

#include <pthread.h>

#include <algorithm>
#include <future>
#include <unordered_map>

#include <boost/asio/post.hpp>

#include "engine/delivery/worker.hpp"
#include "engine/log.hpp"
#include "engine/uuid.hpp"

namespace hookd::engine {
namespace {

namespace net = boost::asio;
using store::delivery_id;

}  // namespace

dispatcher::dispatcher(dependencies deps, dispatcher_options options)
    : deps_(std::move(deps)),
      options_(std::move(options)),
      maintenance_(std::make_unique<dispatcher_maintenance>()) {
  unsigned threads = options_.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t per_shard = std::max<std::size_t>(1, options_.max_in_flight / threads);
  for (unsigned i = 0; i < threads; ++i) {
    auto s = std::make_unique<shard>(i, per_shard);
    shard* raw = s.get();
    s->client = deps_.senders(s->ioc);
    s->outcomes = std::make_unique<outcome_batch>(s->ioc, *deps_.queue, *deps_.time_source,
                                                  [this](std::span<const settlement> batch) {
                                                    if (deps_.settled) deps_.settled(batch);
                                                    if (deps_.progressed) deps_.progressed();
                                                  });
    s->max_held = std::max<std::size_t>(1, options_.max_held / threads);
    s->timeline = std::make_unique<scheduler>(
        s->ioc, *deps_.queue, *deps_.time_source,
        scheduler_options{
            .window = options_.window,
            .lease = options_.lease,
            .max_held = s->max_held,
            .part = partition{i, threads},
        },
        scheduler::hooks{
            .due = [this,
                    raw](delivery_job job) { dispatcher_impl::enqueue(this, raw, std::move(job)); },
            .claimed =
                [this, raw](delivery_job job) {
                  dispatcher_impl::take_claimed(this, raw, std::move(job));
                },
            .admitter = [this, raw] { return dispatcher_impl::admitter(this, raw); },
            .held_count = [raw] { return raw->known.size(); },
            .held = [raw]() -> const std::vector<delivery_id>& {
              raw->held_scratch.clear();
              for (const auto& [id, origin] : raw->known) raw->held_scratch.push_back(id);
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

dispatcher::~dispatcher() {
  try {
    stop(std::chrono::milliseconds(0));
  } catch (const std::exception& e) {
    // Joining a worker failed: a destructor may not throw, and nothing else can stop it.
    log::error("stopping the dispatcher failed", {{"error", e.what()}});
  }
}

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

std::uint64_t dispatcher::stale_retries() const {
  std::uint64_t n = 0;
  for (const auto& s : shards_) n += s->client->stale_retries();
  return n;
}

dispatcher_gauges dispatcher::gauges(std::size_t top) const {
  dispatcher_gauges out;
  if (!started_ || stopped_) {
    out.complete = false;
    return out;
  }
  std::unordered_map<std::string, origin_gauge> by_origin;
  for (const auto& sp : shards_) {
    // The worker's state belongs to its thread: read it there.
    auto promise = std::make_shared<std::promise<dispatcher_gauges>>();
    auto answer = promise->get_future();
    auto* s = sp.get();
    net::post(s->ioc, [s, promise] {
      dispatcher_gauges g;
      g.in_flight = s->running;
      g.held = s->known.size();
      for (const auto& [origin, q] : s->origins) {
        g.top_origins.push_back({origin, q->limit(), q->in_flight, q->held, q->circuit_open()});
      }
      promise->set_value(std::move(g));
    });
    if (answer.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
      out.complete = false;
      continue;
    }
    auto g = answer.get();
    out.in_flight += g.in_flight;
    out.held += g.held;
    for (auto& o : g.top_origins) {
      auto& sum = by_origin[o.origin];
      sum.origin = o.origin;
      sum.limit += o.limit;
      sum.in_flight += o.in_flight;
      sum.held += o.held;
      sum.circuit_open = sum.circuit_open || o.circuit_open;
    }
  }
  out.origins = by_origin.size();
  for (auto& [origin, g] : by_origin) {
    if (g.circuit_open) ++out.open_circuits;
    out.top_origins.push_back(std::move(g));
  }
  std::sort(out.top_origins.begin(), out.top_origins.end(),
            [](const origin_gauge& a, const origin_gauge& b) {
              return a.held != b.held ? a.held > b.held : a.origin < b.origin;
            });
  if (out.top_origins.size() > top) out.top_origins.resize(top);
  return out;
}

bool dispatcher::in_flight(std::uint64_t webhook_id, const store::delivery_id& id) const {
  auto& s = shard_of(webhook_id);
  std::lock_guard lock(s.in_flight_mutex);
  return s.in_flight_ids.contains(id);
}

void dispatcher::start() {
  if (stopped_ || started_.exchange(true)) return;
  if (deps_.webhooks && options_.disable_after.count() > 0) {
    // Runs of failures stored before the restart keep their start: each worker gets
    // its webhooks' before its thread runs.
    auto failing = deps_.webhooks->failing();
    if (!failing) {
      log::error("reading webhooks' failure runs failed; their clocks start afresh",
                 {{"error", failing.error().message()}});
    } else {
      for (const auto& [id, since] : *failing) {
        shard_of(id).failing.emplace(id, shard::failing_run{since, true});
      }
    }
  }
  maintenance_->thread = std::thread([m = maintenance_.get()] {
    pthread_setname_np(pthread_self(), "hookd-maintain");
    m->ioc.run();
  });
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
    // Publishers faster than the worker: what it has not taken in yet is capped too,
    // and beyond that the deliveries stay on disk (released, due now) for its claims.
    const std::size_t n = part.size();
    if (s->incoming.fetch_add(n, std::memory_order_relaxed) + n > s->max_held / 2) {
      s->incoming.fetch_sub(n, std::memory_order_relaxed);
      std::vector<delivery_id> ids;
      ids.reserve(n);
      for (const auto& job : part) ids.push_back(job.record.id);
      deps_.queue->release(ids);
      stats_.spilled.fetch_add(n, std::memory_order_relaxed);
      net::post(s->ioc, [s] { s->timeline->left_on_disk(); });
      return;
    }
    net::post(s->ioc, [this, s, n, part = std::move(part)]() mutable {
      s->incoming.fetch_sub(n, std::memory_order_relaxed);
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
  if (!started_ || stopped_) return;
  // Behind whatever the workers queued there before they flushed.
  std::promise<void> done;
  auto f = done.get_future();
  net::post(maintenance_->ioc, [&done] { done.set_value(); });
  while (f.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (stopped_) return;
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
  // Background work already queued finishes (a cancellation is a few batched writes).
  maintenance_->guard.reset();
  if (maintenance_->thread.joinable()) maintenance_->thread.join();
}

}  // namespace hookd::engine
