// What an engine tells about itself: its counters, the /metrics figures, and the waits
// for a quiet point that tests and tools use.
#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>

#include "engine/engine_impl.hpp"
#include "store/database.hpp"

namespace hookd::engine {

void engine::wake() { impl_->workers->wake(); }

bool engine::wait_until(const std::function<bool(const engine_stats&)>& done,
                        std::chrono::milliseconds timeout) {
  auto& i = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  i.waiters.fetch_add(1, std::memory_order_acq_rel);
  std::unique_lock lock(i.progress_mutex);
  bool ok = false;
  while (!(ok = done(stats()))) {
    // The timed wait also covers a notification that raced with the check above.
    if (i.progress.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                           std::chrono::milliseconds(50))) ==
            std::cv_status::timeout &&
        std::chrono::steady_clock::now() >= deadline) {
      ok = done(stats());
      break;
    }
  }
  i.waiters.fetch_sub(1, std::memory_order_acq_rel);
  lock.unlock();
  // What the stats count is also written, so the delivery log agrees with them.
  if (ok) i.workers->sync();
  return ok;
}

engine_stats engine::stats() const {
  const auto& i = *impl_;
  const auto& d = i.workers->stats();
  return {
      .published_events = i.published.load(),
      .deliveries_created = i.created.load(),
      .attempts = d.attempts.load(),
      .succeeded = d.succeeded.load(),
      .failed_attempts = d.failed_attempts.load(),
      .failed_deliveries = d.failed_deliveries.load(),
      .cancelled = d.cancelled.load(),
      .backoff_events = d.backoff_events.load(),
      .short_circuited = d.short_circuited.load(),
      .spilled = d.spilled.load(),
      .auto_disabled = d.auto_disabled.load(),
      .connections_opened = i.workers->connections_opened(),
      .expired_deliveries = i.expired_deliveries.load(),
      .expired_events = i.expired_events.load(),
      .storage_state = std::string(store::space_state_name(i.db->space().state())),
      .storage_free_bytes = i.db->space().free_estimate(),
      .observer_dropped = i.notices ? i.notices->dropped() : 0,
  };
}

engine_metrics engine::metrics(std::size_t top_origins) const {
  const auto& i = *impl_;
  engine_metrics m;
  m.counters = stats();
  m.outcome_write_failures = i.workers->write_failures();
  m.stale_retries = i.workers->stale_retries();
  m.crashed_attempts = i.workers->stats().crashed_attempts.load();
  m.workers = i.workers->gauges(top_origins);
  m.attempt_seconds = i.workers->stats().attempt_seconds.read();
  m.delivered_seconds = i.workers->stats().delivered_seconds.read();
  m.publish_seconds = i.publish_seconds.read();
  const auto sizes = i.db->read_sizes();
  m.due_estimate = sizes.due_keys;
  m.sst_bytes = sizes.sst_bytes;
  m.memtable_bytes = sizes.memtable_bytes;
  m.pending_compaction_bytes = sizes.pending_compaction_bytes;
  m.min_free_bytes = i.db->space().min_free();
  const auto webhooks = i.registry->storage().counts();
  m.webhooks_active = webhooks.active;
  m.webhooks_inactive = webhooks.inactive;
  m.webhooks_disabled = webhooks.disabled;
  return m;
}

}  // namespace hookd::engine
