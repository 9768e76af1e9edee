// Auto-disable's clock: each webhook's run of failed attempts since its last success,
// stored once it has lasted a minute, and the deactivation once it reaches
// disable_after.
#include "engine/delivery/retry_policy.hpp"
#include "engine/delivery/worker.hpp"
#include "engine/encoding.hpp"
#include "engine/log.hpp"

namespace hookd::engine {

void dispatcher_impl::track_health(self d, shard* s, std::uint64_t webhook_id, bool ok,
                                   std::int64_t now) {
  if (d->options_.disable_after.count() <= 0) return;
  auto it = s->failing.find(webhook_id);
  if (ok) {
    if (it != s->failing.end()) forget_health(d, s, webhook_id);
    return;
  }
  if (it == s->failing.end()) {
    s->failing.emplace(webhook_id, shard::failing_run{now, false});
    return;
  }
  auto& run = it->second;
  // Stored once the run has lasted a minute: a receiver that flaps writes nothing.
  constexpr std::int64_t k_store_after_ms = 60'000;
  if (!run.stored && now - run.since_ms >= k_store_after_ms && d->deps_.webhooks) {
    if (auto r = d->deps_.webhooks->set_failing_since(webhook_id, run.since_ms); r) {
      run.stored = true;
    } else {
      log::error("storing a webhook's failure run failed",
                 {{"webhook", std::to_string(webhook_id)}, {"error", r.error().message()}});
    }
  }
  if (now - run.since_ms < d->options_.disable_after.count()) return;
  const std::string reason =
      "every attempt failed for " + format_retry_schedule({d->options_.disable_after}) +
      " (since " + format_rfc3339(run.since_ms) +
      "): deactivated automatically; fix the receiver, then set active to true";
  forget_health(d, s, webhook_id);
  d->stats_.auto_disabled.fetch_add(1, std::memory_order_relaxed);
  d->deps_.disable_webhook(webhook_id, reason);
}

void dispatcher_impl::forget_health(self d, shard* s, std::uint64_t webhook_id) {
  auto it = s->failing.find(webhook_id);
  if (it == s->failing.end()) return;
  const bool stored = it->second.stored;
  s->failing.erase(it);
  if (!stored || !d->deps_.webhooks) return;
  if (auto r = d->deps_.webhooks->set_failing_since(webhook_id, std::nullopt); !r) {
    log::error("clearing a webhook's failure run failed",
               {{"webhook", std::to_string(webhook_id)}, {"error", r.error().message()}});
  }
}

}  // namespace hookd::engine
