// A worker's memory: each held delivery counts against its receiver origin, an origin
// holds at most its share, and what does not fit waits on disk (spilled fresh
// deliveries, claims' admission test) until room frees.

#include "engine/delivery/worker.hpp"

namespace hookd::engine {

using store::delivery_id;

origin_queue* dispatcher_impl::origin_of(self d, shard* s, const webhook_target& target) {
  auto& slot = s->origins[target.endpoint.origin];
  if (!slot) {
    slot = std::make_unique<origin_queue>(d->options_.connections_per_origin, d->options_.circuit);
  }
  return slot.get();
}

void dispatcher_impl::remember(shard* s, const delivery_id& id, origin_queue* o) {
  auto [it, inserted] = s->known.try_emplace(id, o);
  if (inserted) {
    ++o->held;
  } else if (it->second != o) {
    // Its webhook moved to another origin since it was taken in.
    --it->second->held;
    it->second = o;
    ++o->held;
  }
}

void dispatcher_impl::forget(shard* s, const delivery_id& id) {
  auto it = s->known.find(id);
  if (it == s->known.end()) return;
  --it->second->held;
  s->known.erase(it);
}

bool dispatcher_impl::has_room(const shard* s, const origin_queue* o, std::size_t extra) {
  return s->known.size() + extra < s->max_held && o->held + extra < o->share();
}

void dispatcher_impl::spill(self d, shard* s, delivery_job job) {
  forget(s, job.record.id);
  d->stats_.spilled.fetch_add(1, std::memory_order_relaxed);
  d->deps_.queue->release(std::span<const delivery_id>(&job.record.id, 1));
  s->timeline->left_on_disk();
}

void dispatcher_impl::take_claimed(self d, shard* s, delivery_job job) {
  const auto target = active_target(d, s, job);
  if (!target) return;
  remember(s, job.record.id, origin_of(d, s, *target));
  s->timeline->hold(std::move(job));
}

std::function<bool(std::uint64_t, std::int64_t)> dispatcher_impl::admitter(self d, shard* s) {
  // Counts what this claim admitted so far, per origin and in all; each webhook's
  // origin is looked up once per claim.
  struct tally {
    boost::unordered_flat_map<std::uint64_t, origin_queue*> origin_of_webhook;
    boost::unordered_flat_map<origin_queue*, std::size_t> per_origin;
    std::size_t total = 0;
    std::int64_t now = 0;
  };
  auto t = std::make_shared<tally>();
  t->now = now_ms(d);
  return [d, s, t](std::uint64_t webhook_id, std::int64_t due_ms) {
    auto [it, fresh] = t->origin_of_webhook.try_emplace(webhook_id, nullptr);
    if (fresh) {
      auto found = d->deps_.target(webhook_id);
      if (found && *found && (*found)->active) it->second = origin_of(d, s, **found);
    }
    origin_queue* o = it->second;
    // Unknown, deleted, inactive or unreadable: taken, so the worker settles it (cancels
    // it, or gives it back) instead of leaving it due.
    if (!o) return true;
    // An open circuit fails what is due now at once: it passes through without staying.
    if (o->circuit_open() && due_ms <= t->now) return true;
    auto& mine = t->per_origin[o];
    if (s->known.size() + t->total >= s->max_held || o->held + mine >= o->share()) return false;
    ++mine;
    ++t->total;
    return true;
  };
}

}  // namespace hookd::engine
