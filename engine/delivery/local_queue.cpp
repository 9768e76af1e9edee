// The single-node delivery queue: RocksDB records through store::delivery_queue, with
// leases and per-partition claim cursors in memory. Scans and writes run without the
// lock; the lock only guards the lease table and the cursors.
#include "engine/delivery/local_queue.hpp"

#include <algorithm>
#include <set>
#include <string>

#include "engine/log.hpp"
#include "engine/uuid.hpp"

namespace hookd::engine {
namespace {

using store::delivery_status;
using store::due_key;

// Due entries read per step of a claim's scan.
constexpr std::size_t k_scan_step = 1000;

// A stored event as its deliveries carry it. The query stays empty: an attempt
// builds it for GET/DELETE webhooks only.
std::shared_ptr<const event_data> to_event_data(store::event_record&& e) {
  auto data = std::make_shared<event_data>();
  data->account = std::move(e.account);
  data->id = std::move(e.id);
  data->type = std::move(e.type);
  data->payload = std::move(e.payload);
  return data;
}

bool is_pending(delivery_status s) {
  return s == delivery_status::pending || s == delivery_status::in_flight;
}

}  // namespace

local_queue::local_queue(store::delivery_queue& store) : store_(store) {}

local_queue::cursor& local_queue::cursor_for(const partition& p) {
  return cursors_[{p.index, p.count}];
}

void local_queue::rewind(const due_key& key, std::uint64_t webhook_id) {
  for (auto& [part, c] : cursors_) {
    if (webhook_id % part.second != part.first) continue;
    if (key < c.at) c.at = key;
    if (c.scanning && (!c.low || key < *c.low)) c.low = key;
  }
}

void local_queue::expire(std::int64_t now_ms) {
  leases_.expire(now_ms, [this](const lease_table::lease& l) { rewind(l.key, l.webhook_id); });
}

std::size_t local_queue::leased() const {
  std::lock_guard lock(mutex_);
  return leases_.size();
}

result<void> local_queue::append(const store::event_record& event,
                                 std::span<const store::delivery_record> deliveries,
                                 std::int64_t now_ms, std::chrono::milliseconds lease) {
  {
    // Leased before they exist on disk, so a claim scanning meanwhile never takes them.
    std::lock_guard lock(mutex_);
    for (const auto& d : deliveries) {
      leases_.take({d.next_attempt_at_ms, d.id}, d.webhook_id, now_ms + lease.count());
    }
  }
  auto written = store_.publish(event, deliveries);
  if (!written) {
    std::lock_guard lock(mutex_);
    for (const auto& d : deliveries) leases_.end(d.id);
  }
  return written;
}

std::vector<delivery_job> local_queue::load(std::span<const due_key> keys,
                                            std::vector<due_key>& unreadable) {
  std::vector<store::delivery_id> ids;
  ids.reserve(keys.size());
  for (const auto& k : keys) ids.push_back(k.id);
  auto records = store_.get_many(ids);
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const event_data>> events;
  std::vector<std::pair<std::string, std::string>> wanted;
  for (const auto& rec : records) {
    if (!rec) continue;
    auto key = std::make_pair(rec->account, rec->event_id);
    if (events.emplace(key, nullptr).second) wanted.push_back(std::move(key));
  }
  auto found = store_.find_events(wanted);
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (!found[i]) {
      log::error("the event of a due delivery cannot be read",
                 {{"event", wanted[i].second}, {"error", found[i].error().message()}});
      continue;
    }
    events[wanted[i]] = to_event_data(std::move(*found[i]));
  }
  std::vector<delivery_job> jobs;
  jobs.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto& rec = records[i];
    if (!rec) {
      log::error("a due delivery cannot be read",
                 {{"delivery", format_uuid(keys[i].id)}, {"error", rec.error().message()}});
      unreadable.push_back(keys[i]);
      continue;
    }
    // A due entry whose delivery is already done (written by an older version) is stale.
    if (!is_pending(rec->status) || rec->next_attempt_at_ms != keys[i].due_ms) continue;
    auto ev = events[{rec->account, rec->event_id}];
    if (!ev) {
      unreadable.push_back(keys[i]);
      continue;
    }
    jobs.push_back(delivery_job{std::move(*rec), std::move(ev)});
  }
  return jobs;
}

result<claim_batch> local_queue::claim(const claim_request& request) {
  due_key from;
  {
    std::lock_guard lock(mutex_);
    expire(request.now_ms);
    auto& c = cursor_for(request.part);
    c.scanning = true;
    c.low.reset();
    from = c.at;
  }
  std::vector<due_key> taken;
  std::optional<due_key> skipped;  // the first entry this claim did not admit
  std::size_t scanned_total = 0;
  due_key stop = from;
  bool reached_end = false;
  error failure;
  while (taken.size() < request.max && scanned_total < request.max_scan) {
    std::vector<std::pair<due_key, std::uint64_t>> step;
    const std::size_t asked = std::min(k_scan_step, request.max_scan - scanned_total);
    auto scanned = store_.scan_due(
        stop, request.due_by_ms + 1, asked,
        [&](const due_key& k, std::uint64_t webhook) { step.emplace_back(k, webhook); });
    if (!scanned) {
      failure = scanned.error();
      break;
    }
    scanned_total += *scanned;
    // Candidates (the partition's, not leased) first, under the lock; then admission,
    // asked without it (it reads the claimer's own state), and only for as many as
    // the claim can still take.
    std::vector<char> open(step.size(), 0);
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < step.size(); ++i) {
        const bool candidate = request.part.contains(step[i].second) &&
                               !leases_.held(step[i].first.id, request.now_ms);
        open[i] = candidate ? 1 : 0;
      }
    }
    std::vector<char> admitted(step.size(), 1);
    if (request.admit) {
      std::size_t yes = 0;
      for (std::size_t i = 0; i < step.size(); ++i) {
        if (!open[i]) continue;
        if (taken.size() + yes == request.max) {
          admitted[i] = 0;
          continue;
        }
        admitted[i] = request.admit(step[i].second, step[i].first.due_ms) ? 1 : 0;
        if (admitted[i]) ++yes;
      }
    }
    bool full = false;
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < step.size(); ++i) {
        const auto& [key, webhook] = step[i];
        stop = successor(key);
        if (!open[i] || leases_.held(key.id, request.now_ms)) continue;
        if (!admitted[i]) {
          if (!skipped) skipped = key;
          continue;
        }
        taken.push_back(key);
        // Leased now, before the records are read, so no one else takes them meanwhile.
        leases_.take(key, webhook, request.now_ms + request.lease.count());
        if (taken.size() == request.max) {
          full = true;
          break;
        }
      }
    }
    if (!full && *scanned < asked) {
      // Everything due by due_by_ms was seen.
      reached_end = true;
      stop = due_key{request.due_by_ms + 1, {}};
      break;
    }
  }
  std::vector<due_key> unreadable;
  auto jobs = failure ? std::vector<delivery_job>{} : load(taken, unreadable);
  std::lock_guard lock(mutex_);
  auto& c = cursor_for(request.part);
  c.scanning = false;
  if (failure) {
    for (const auto& k : taken) leases_.end(k.id);
    c.at = std::min(c.at, from);
    return failure;
  }
  // Entries that turned out stale or unreadable keep no lease.
  if (jobs.size() != taken.size()) {
    std::unordered_map<store::delivery_id, bool, delivery_id_hash> loaded;
    for (const auto& j : jobs) loaded.emplace(j.record.id, true);
    for (const auto& k : taken) {
      if (!loaded.contains(k.id)) leases_.end(k.id);
    }
  }
  if (skipped && (!c.skipped || *skipped < *c.skipped)) c.skipped = skipped;
  c.at = c.low ? std::min(stop, *c.low) : stop;
  c.low.reset();
  std::optional<due_key> behind;  // skipped entries the cursor comes back to
  if (reached_end && c.skipped) {
    // Past the end of what is due: the next claim starts over at the first entry
    // left behind.
    c.at = std::min(c.at, *c.skipped);
    behind = c.skipped;
    c.skipped.reset();
  }
  // A read that failed is tried again by the next claim, not left behind the cursor.
  for (const auto& k : unreadable) c.at = std::min(c.at, k);
  claim_batch batch;
  batch.more = !reached_end;
  // Left behind by this claim, or by earlier ones the cursor now returns to: either
  // way there is due work the claimer said no to, and freed room should claim again.
  if (!skipped) skipped = behind;
  batch.skipped = skipped.has_value();
  if (skipped) batch.skipped_due_ms = skipped->due_ms;
  batch.jobs = std::move(jobs);
  return batch;
}

result<delivery_job> local_queue::claim_one(const store::delivery_id& id, std::int64_t now_ms,
                                            std::chrono::milliseconds lease) {
  std::shared_lock expiry(expiry_mutex_);
  auto rec = store_.get(id);
  if (!rec) return rec.error();
  auto ev = store_.find_event(rec->account, rec->event_id);
  if (!ev) return ev.error();
  {
    std::lock_guard lock(mutex_);
    if (leases_.held(id, now_ms)) return errc::already_exists;
    leases_.take({rec->next_attempt_at_ms, id}, rec->webhook_id, now_ms + lease.count());
  }
  return delivery_job{std::move(*rec), to_event_data(std::move(*ev))};
}

void local_queue::extend(std::span<const store::delivery_id> ids, std::int64_t until_ms) {
  std::lock_guard lock(mutex_);
  for (const auto& id : ids) leases_.extend(id, until_ms);
}

void local_queue::release(std::span<const store::delivery_id> ids) {
  std::lock_guard lock(mutex_);
  for (const auto& id : ids) {
    if (auto l = leases_.end(id)) rewind(l->key, l->webhook_id);
  }
}

store::delivery_writes local_queue::take_writes() {
  {
    std::lock_guard lock(writes_mutex_);
    if (!spare_writes_.empty()) {
      auto w = std::move(spare_writes_.back());
      spare_writes_.pop_back();
      return w;
    }
  }
  return store_.writes();
}

void local_queue::give_back(store::delivery_writes writes) {
  writes.clear();
  std::lock_guard lock(writes_mutex_);
  spare_writes_.push_back(std::move(writes));
}

result<void> local_queue::settle(std::span<const settlement> batch, std::int64_t) {
  // A batch's buffer is reused: a fresh one would grow by reallocation to the size
  // of ~500 outcomes on every write.
  auto writes = take_writes();
  for (const auto& s : batch) {
    writes.update(s.after, s.previous_due_ms, s.previous_status, s.attempt ? &*s.attempt : nullptr);
  }
  auto committed = store_.commit(writes);
  give_back(std::move(writes));
  if (!committed) return committed;
  std::lock_guard lock(mutex_);
  for (const auto& s : batch) {
    const due_key key{s.after.next_attempt_at_ms, s.after.id};
    const bool pending = is_pending(s.after.status);
    if (pending && s.hold_until_ms != 0) {
      leases_.take(key, s.after.webhook_id, std::max(s.hold_until_ms, key.due_ms));
      continue;
    }
    leases_.end(s.after.id);
    if (pending) rewind(key, s.after.webhook_id);
  }
  return {};
}

result<std::size_t> local_queue::cancel_webhook(std::uint64_t webhook_id, std::int64_t now_ms) {
  // Page by page through the webhook's pending index: the cost is its unfinished
  // deliveries, not its history, and memory stays one page whatever the backlog.
  constexpr std::size_t k_page = 1'000;
  std::size_t cancelled = 0;
  std::optional<store::delivery_id> after;
  for (;;) {
    auto pending = store_.pending_of_webhook(webhook_id, after, k_page);
    if (!pending) return pending.error();
    if (pending->empty()) return cancelled;
    after = pending->back().id;
    std::vector<store::delivery_record> mine;
    {
      // Leased for the write, so no claim takes one of them halfway; those leased to
      // someone else are theirs to cancel.
      std::lock_guard lock(mutex_);
      for (auto& rec : *pending) {
        if (leases_.held(rec.id, now_ms)) continue;
        leases_.take({rec.next_attempt_at_ms, rec.id}, webhook_id, INT64_MAX);
        mine.push_back(std::move(rec));
      }
    }
    auto writes = take_writes();
    for (const auto& rec : mine) {
      store::delivery_record after_cancel = rec;
      after_cancel.status = delivery_status::cancelled;
      after_cancel.updated_at_ms = now_ms;
      after_cancel.next_attempt_at_ms = 0;
      writes.update(after_cancel, rec.next_attempt_at_ms, rec.status, nullptr);
    }
    auto written = store_.commit(writes);
    give_back(std::move(writes));
    {
      std::lock_guard lock(mutex_);
      for (const auto& rec : mine) {
        leases_.end(rec.id);
        if (!written) rewind({rec.next_attempt_at_ms, rec.id}, webhook_id);
      }
    }
    if (!written) return written.error();
    cancelled += mine.size();
  }
}

result<store::delivery_record> local_queue::get(const store::delivery_id& id) const {
  return store_.get(id);
}

result<std::vector<store::attempt_record>> local_queue::attempts(
    const store::delivery_id& id) const {
  return store_.attempts(id);
}

result<store::event_record> local_queue::find_event(std::string_view account,
                                                    std::string_view id) const {
  return store_.find_event(account, id);
}

result<delivery_page> local_queue::list(std::uint64_t webhook_id,
                                        const std::optional<store::delivery_id>& after,
                                        std::optional<store::delivery_status> status,
                                        std::size_t limit, store::list_order order) const {
  return store_.list(webhook_id, after, status, limit, order);
}

result<std::vector<store::delivery_record>> local_queue::failed_since(std::uint64_t webhook_id,
                                                                      std::int64_t since_ms,
                                                                      std::size_t limit) const {
  return store_.failed_of_webhook(webhook_id, since_ms, limit);
}

result<expiry_report> local_queue::remove_expired(std::int64_t cutoff_ms, std::int64_t now_ms) {
  // Steps of a thousand deliveries: claim_one waits for one step at most.
  constexpr std::size_t k_step = 1'000;
  std::lock_guard pass(expiry_pass_mutex_);
  expiry_report report;
  std::set<std::pair<std::string, std::string>> kept_events;
  std::optional<store::delivery_id> after;
  do {
    std::unique_lock step(expiry_mutex_);
    auto r =
        store_.remove_finished_before(cutoff_ms, after, k_step, [&](const store::delivery_id& id) {
          std::lock_guard lock(mutex_);
          return leases_.held(id, now_ms);
        });
    if (!r) return r.error();
    report.deliveries += r->removed;
    report.kept += r->kept_events.size();
    for (auto& e : r->kept_events) kept_events.insert(std::move(e));
    after = r->next_after;
  } while (after);
  auto events =
      store_.remove_events_before(cutoff_ms, [&](std::string_view account, std::string_view id) {
        return kept_events.contains(std::pair<std::string, std::string>(account, id));
      });
  if (!events) return events.error();
  report.events = *events;
  if (auto compacted = store_.compact_before(cutoff_ms); !compacted) return compacted.error();
  return report;
}

}  // namespace hookd::engine
