// One dispatcher worker's logic: admission into per-origin queues under the in-flight
// limits, one coroutine per attempt, operator actions and shutdown. The rules live
// elsewhere: next_state (what an outcome means), origin_queue (back-pressure),
// scheduler (timeline and claims), outcome_batch (writes), attempt_request (signing).
#include "engine/delivery/worker.hpp"

#include <malloc.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "engine/delivery/attempt_request.hpp"
#include "engine/delivery/next_state.hpp"
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

void dispatcher_impl::settle(self d, shard* s, store::delivery_record after,
                             std::int64_t previous_due,
                             std::optional<store::attempt_record> attempt, std::int64_t hold_until,
                             delivery_status previous_status) {
  (void)d;
  s->outcomes->add(
      settlement{std::move(after), previous_due, std::move(attempt), hold_until, previous_status});
}

void dispatcher_impl::cancel(self d, shard* s, delivery_job job) {
  const std::int64_t previous_due = job.record.next_attempt_at_ms;
  store::delivery_record& after = job.record;
  after.status = delivery_status::cancelled;
  after.updated_at_ms = now_ms(d);
  after.next_attempt_at_ms = 0;
  settle(d, s, std::move(after), previous_due, std::nullopt);
  d->stats_.cancelled.fetch_add(1, std::memory_order_relaxed);
}

std::optional<std::shared_ptr<const webhook_target>> dispatcher_impl::target_of(
    self d, shard* s, const delivery_job& job) {
  auto found = d->deps_.target(job.record.webhook_id);
  if (found) return std::move(*found);
  log::error("reading a webhook failed; its delivery waits on disk",
             {{"delivery", format_uuid(job.record.id)},
              {"webhook", std::to_string(job.record.webhook_id)},
              {"error", found.error().message()}});
  forget(s, job.record.id);
  d->deps_.queue->release(std::span<const delivery_id>(&job.record.id, 1));
  return std::nullopt;
}

std::shared_ptr<const webhook_target> dispatcher_impl::active_target(self d, shard* s,
                                                                     delivery_job& job) {
  const auto found = target_of(d, s, job);
  if (!found) return nullptr;
  if (!*found || !(*found)->active) {
    forget(s, job.record.id);
    cancel(d, s, std::move(job));
    return nullptr;
  }
  return *found;
}

void dispatcher_impl::enqueue(self d, shard* s, delivery_job job) {
  const auto target = active_target(d, s, job);
  if (!target) return;
  origin_queue* o = origin_of(d, s, *target);
  if (!s->known.contains(job.record.id) && !job.manual && !job.last_chance && !o->circuit_open() &&
      !has_room(s, o)) {
    // Fresh from publish for an origin that holds its share already (or a worker at
    // its cap): it waits on disk, not in memory, and a claim brings it in later.
    spill(d, s, std::move(job));
    return;
  }
  remember(s, job.record.id, o);
  if (!o->admits(now_ms(d), job.record.id)) {
    short_circuit(d, s, o, std::move(job));
    return;
  }
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

bool dispatcher_impl::can_start(const shard* s, const origin_queue* o) {
  if (!o->has_room()) return false;
  // Every origin may always have one request out, whatever the others hold: slots
  // taken by receivers that hang can never keep a healthy one waiting.
  if (o->in_flight == 0) return true;
  if (s->running >= s->limit) return false;
  // Beyond that, the worker's slots are shared fairly among the origins using them.
  const std::size_t share = s->limit / std::max<std::size_t>(1, s->origins_in_flight);
  return o->in_flight < std::max<std::size_t>(1, share);
}

void dispatcher_impl::start(self d, shard* s, origin_queue* o, delivery_job job) {
  if (o->in_flight++ == 0) ++s->origins_in_flight;
  ++s->running;
  const delivery_id id = job.record.id;
  const std::uint64_t webhook = job.record.webhook_id;
  net::co_spawn(s->ioc, attempt(d, s, o, std::move(job)),
                [d, s, o, id, webhook](const std::exception_ptr& e) {
                  if (e) {
                    // A bug, or memory exhaustion: log it and give the lease back, so the next
                    // claim takes the delivery again (it is still due on disk).
                    log::error("delivery attempt crashed", {{"delivery", format_uuid(id)},
                                                            {"webhook", std::to_string(webhook)},
                                                            {"error", exception_text(e)}});
                    d->stats_.crashed_attempts.fetch_add(1, std::memory_order_relaxed);
                    {
                      std::lock_guard lock(s->in_flight_mutex);
                      s->in_flight_ids.erase(id);
                    }
                    forget(s, id);
                    o->abandon_probe(id);
                    d->deps_.queue->release(std::span<const delivery_id>(&id, 1));
                  }
                  if (--o->in_flight == 0) --s->origins_in_flight;
                  --s->running;
                  pump(d, s, o);
                  s->timeline->room_freed(s->known.size());
                  if (s->stopping && s->running == 0) finish(d, s);
                });
}

// A slot freed up: start what the origin, then other waiting origins, can take.
void dispatcher_impl::pump(self d, shard* s, origin_queue* o) {
  if (s->stopping) return;
  while (!o->waiting.empty() && can_start(s, o)) {
    delivery_job next = std::move(o->waiting.front());
    o->waiting.pop_front();
    start(d, s, o, std::move(next));
  }
  // Each listed origin gets one turn: one still held back by its fair share goes to
  // the back of the list for the next free slot.
  for (std::size_t turns = s->ready.size(); turns > 0 && s->running < s->limit; --turns) {
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

net::awaitable<void> dispatcher_impl::attempt(self d, shard* s, origin_queue* o, delivery_job job) {
  const auto target = active_target(d, s, job);
  if (!target) co_return;
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
  forget(s, job.record.id);
  if (s->cut) co_return;  // cut short by stop: it stays queued on disk as it was

  const auto effect = o->on_outcome(outcome, now_ms(d));
  if (effect.backed_off) d->stats_.backoff_events.fetch_add(1, std::memory_order_relaxed);
  conclude(d, s, std::move(job), *target, outcome, started_ms, request.uuid());
  if (effect.opened) {
    // The origin is unreachable: what waits for it is failed now, on its schedule,
    // instead of each delivery spending a connection and a timeout to learn it.
    std::deque<delivery_job> waiting;
    waiting.swap(o->waiting);
    for (auto& next : waiting) short_circuit(d, s, o, std::move(next));
  }
}

void dispatcher_impl::short_circuit(self d, shard* s, origin_queue* o, delivery_job job) {
  const auto target = active_target(d, s, job);
  if (!target) return;
  forget(s, job.record.id);
  d->stats_.short_circuited.fetch_add(1, std::memory_order_relaxed);
  http_outcome outcome;
  outcome.error = error_kind::origin_unavailable;
  outcome.message = "not sent: " + target->endpoint.origin + " did not answer the last " +
                    std::to_string(o->consecutive_failures()) +
                    " attempts (timeouts or refused connections); " +
                    (o->probing() ? std::string("a probe attempt is under way")
                                  : "next probe after " + format_rfc3339(o->next_probe_ms()));
  const std::int64_t now = now_ms(d);
  const std::string uuid = format_uuid(job.record.id);
  conclude(d, s, std::move(job), *target, outcome, now, uuid);
}

void dispatcher_impl::conclude(self d, shard* s, delivery_job job, const webhook_target& target,
                               const http_outcome& outcome, std::int64_t started_ms,
                               const std::string& uuid) {
  // When the webhook cannot be read now, it is taken to be as the attempt found it.
  const auto read = d->deps_.target(job.record.webhook_id);
  const webhook_target* current = read ? read->get() : &target;
  const retry_policy& policy = target.policy ? *target.policy : d->options_.policy;
  const std::int64_t previous_due = job.record.next_attempt_at_ms;
  const std::uint64_t webhook_id = job.record.webhook_id;
  const std::int64_t created_ms = job.record.created_at_ms;
  if (outcome.error != error_kind::origin_unavailable) {
    d->stats_.attempt_seconds.observe(static_cast<double>(outcome.duration.count()) / 1000.0);
  }
  transition t = next_state(std::move(job.record), outcome, policy,
                            attempt_context{
                                .started_ms = started_ms,
                                .finished_ms = now_ms(d),
                                .manual = job.manual,
                                .last_chance = job.last_chance,
                                .same_url = current && current->url == target.url,
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
  if (outcome.error == error_kind::none) {
    d->stats_.delivered_seconds.observe(static_cast<double>(now_ms(d) - created_ms) / 1000.0);
  }
  if (t.disable_reason) {
    forget_health(d, s, webhook_id);
    d->deps_.disable_webhook(webhook_id, *t.disable_reason);
  } else {
    track_health(d, s, webhook_id, outcome.error == error_kind::none, now_ms(d));
  }
  if (outcome.error != error_kind::none) {
    log::warn("delivery attempt failed",
              {{"delivery", uuid},
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
    return;
  }
  // A retry: kept in memory (and leased) when due within the window, else left on
  // disk for a later claim.
  const std::int64_t due = t.after.next_attempt_at_ms;
  origin_queue* o = origin_of(d, s, target);
  const bool soon = !s->stopping && s->timeline->keeps(due);
  const bool keep = soon && has_room(s, o);
  settle(d, s, t.after, previous_due, std::move(t.attempt),
         keep ? s->timeline->lease_until(due) : 0);
  if (!keep) {
    // Its origin holds its share: the retry waits on disk, and a refill at its due
    // time brings it back (so it keeps its schedule).
    if (soon) s->timeline->due_on_disk(due);
    return;
  }
  job.record = std::move(t.after);
  job.manual = false;
  job.last_chance = false;
  remember(s, job.record.id, o);
  s->timeline->hold(std::move(job));
}

void dispatcher_impl::count(self d, delivery_status after, const http_outcome& outcome) {
  auto& st = d->stats_;
  if (outcome.error == error_kind::none) {
    st.succeeded.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  st.failed_attempts.fetch_add(1, std::memory_order_relaxed);
  if (after == delivery_status::failed)
    st.failed_deliveries.fetch_add(1, std::memory_order_relaxed);
}

void dispatcher_impl::cancel_webhook(self d, shard* s, std::uint64_t webhook_id) {
  if (s->stopping) return;
  // Re-checked when the cancel runs: a webhook deactivated and active again by now
  // keeps its deliveries.
  const auto now = d->deps_.target(webhook_id);
  if (!now) {
    // Its deliveries are cancelled as they come up for an attempt instead.
    log::error("reading a webhook to cancel its deliveries failed",
               {{"webhook", std::to_string(webhook_id)}, {"error", now.error().message()}});
    return;
  }
  if (*now && (*now)->active) return;
  // Deactivated or deleted: a later reactivation starts a fresh run.
  forget_health(d, s, webhook_id);
  std::vector<delivery_job> dropped = s->timeline->drop_webhook(webhook_id);
  for (auto& [key, o] : s->origins) {
    // A named reference: clang before 16 cannot capture a structured binding.
    auto& queue = *o;
    std::erase_if(queue.waiting, [&](delivery_job& j) {
      if (j.record.webhook_id != webhook_id) return false;
      queue.abandon_probe(j.record.id);
      dropped.push_back(std::move(j));
      return true;
    });
  }
  for (auto& job : dropped) {
    forget(s, job.record.id);
    cancel(d, s, std::move(job));
  }
  // Running attempts cancel theirs when they complete; the queue cancels what no one
  // holds, page by page on the maintenance thread, off this loop.
  s->outcomes->flush();
  net::post(d->maintenance_->ioc, [d, webhook_id] { cancel_backlog(d, webhook_id); });
}

void dispatcher_impl::cancel_backlog(self d, std::uint64_t webhook_id) {
  // Checked again: active again by now, it keeps its deliveries.
  const auto now = d->deps_.target(webhook_id);
  if (!now || (*now && (*now)->active)) return;
  auto n = d->deps_.queue->cancel_webhook(webhook_id, now_ms(d));
  if (!n) {
    log::error("cancelling deliveries failed",
               {{"webhook", std::to_string(webhook_id)}, {"error", n.error().message()}});
    return;
  }
  d->stats_.cancelled.fetch_add(*n, std::memory_order_relaxed);
  if (*n > 0) d->deps_.progressed();
  // A large backlog gone: give its memory back to the system now.
  if (*n >= 1'000) malloc_trim(0);
}

void dispatcher_impl::retry_now(self d, shard* s, delivery_id id, bool manual) {
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
  const delivery_status was = job.record.status;
  const bool was_due = was == delivery_status::pending;
  const std::int64_t previous_due = was_due ? job.record.next_attempt_at_ms : 0;
  job.record.status = delivery_status::pending;
  job.record.next_attempt_at_ms = now;
  job.record.updated_at_ms = now;
  settle(d, s, job.record, previous_due, std::nullopt, s->timeline->lease_until(now), was);
  // A pending delivery keeps its schedule; one that had ended gets one attempt.
  job.manual = manual;
  job.last_chance = !was_due;
  enqueue(d, s, std::move(job));
}

void dispatcher_impl::finish(self d, shard* s) {
  (void)d;
  if (s->drain_timer) s->drain_timer->cancel();
  s->outcomes->stop();
  s->client->close_all();
  s->guard.reset();
}

void dispatcher_impl::begin_stop(self d, shard* s, std::chrono::milliseconds drain) {
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

}  // namespace hookd::engine
