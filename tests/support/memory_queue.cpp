// The in-memory queue: one mutex over every map. A claim scans the due map from its
// start each time, so it has no cursor to get wrong: it is the reference behaviour the
// contract tests hold local_queue's cursors to.
#include "tests/support/memory_queue.hpp"

#include <algorithm>
#include <memory>
#include <set>

namespace hookd::test {
namespace {

using store::delivery_status;
using store::due_key;

bool is_pending(delivery_status s) {
  return s == delivery_status::pending || s == delivery_status::in_flight;
}

std::shared_ptr<const engine::event_data> to_event_data(const store::event_record& e) {
  auto data = std::make_shared<engine::event_data>();
  data->account = e.account;
  data->id = e.id;
  data->type = e.type;
  data->payload = e.payload;
  return data;
}

}  // namespace

void memory_queue::changed() const {
  std::function<void()> fn;
  {
    std::lock_guard lock(mutex_);
    fn = on_change_;
  }
  if (fn) fn();
}

void memory_queue::on_change(std::function<void()> fn) {
  std::lock_guard lock(mutex_);
  on_change_ = std::move(fn);
}

void memory_queue::fail_next_settle(std::size_t n) {
  std::lock_guard lock(mutex_);
  fail_settles_ = n;
}

std::size_t memory_queue::settle_calls() const {
  std::lock_guard lock(mutex_);
  return settle_calls_;
}

std::size_t memory_queue::refused_settles() const {
  std::lock_guard lock(mutex_);
  return refused_settles_;
}

std::size_t memory_queue::leased() const {
  std::lock_guard lock(mutex_);
  return leases_.size();
}

result<void> memory_queue::append(const store::event_record& event,
                                  std::span<const store::delivery_record> deliveries,
                                  std::int64_t now_ms, std::chrono::milliseconds lease) {
  {
    std::lock_guard lock(mutex_);
    events_[{event.account, event.id}] = event;
    for (const auto& d : deliveries) {
      deliveries_[d.id] = d;
      due_[{d.next_attempt_at_ms, d.id}] = d.webhook_id;
      leases_.take({d.next_attempt_at_ms, d.id}, d.webhook_id, now_ms + lease.count());
    }
  }
  changed();
  return {};
}

result<engine::claim_batch> memory_queue::claim(const engine::claim_request& request) {
  engine::claim_batch batch;
  auto& jobs = batch.jobs;
  {
    std::lock_guard lock(mutex_);
    leases_.expire(request.now_ms, [](const engine::lease_table::lease&) {});
    std::map<std::pair<std::string, std::string>, std::shared_ptr<const engine::event_data>> loaded;
    for (const auto& [key, webhook] : due_) {
      if (key.due_ms > request.due_by_ms) break;
      if (jobs.size() >= request.max) {
        batch.more = true;
        break;
      }
      if (!request.part.contains(webhook) || leases_.held(key.id, request.now_ms)) continue;
      if (request.admit && !request.admit(webhook, key.due_ms)) {
        if (!batch.skipped) batch.skipped_due_ms = key.due_ms;
        batch.skipped = true;
        continue;
      }
      const auto rec = deliveries_.find(key.id);
      // A due entry whose delivery is done or has moved on is stale.
      if (rec == deliveries_.end() || !is_pending(rec->second.status) ||
          rec->second.next_attempt_at_ms != key.due_ms) {
        continue;
      }
      const std::pair<std::string, std::string> event_key{rec->second.account,
                                                          rec->second.event_id};
      auto& data = loaded[event_key];
      if (!data) {
        const auto ev = events_.find(event_key);
        if (ev == events_.end()) continue;
        data = to_event_data(ev->second);
      }
      leases_.take(key, webhook, request.now_ms + request.lease.count());
      jobs.push_back(engine::delivery_job{rec->second, data});
    }
  }
  if (!jobs.empty()) changed();
  return batch;
}

result<engine::delivery_job> memory_queue::claim_one(const store::delivery_id& id,
                                                     std::int64_t now_ms,
                                                     std::chrono::milliseconds lease) {
  engine::delivery_job job;
  {
    std::lock_guard lock(mutex_);
    const auto rec = deliveries_.find(id);
    if (rec == deliveries_.end()) return errc::not_found;
    const auto ev = events_.find({rec->second.account, rec->second.event_id});
    if (ev == events_.end()) return errc::not_found;
    if (leases_.held(id, now_ms)) return errc::already_exists;
    leases_.take({rec->second.next_attempt_at_ms, id}, rec->second.webhook_id,
                 now_ms + lease.count());
    job = engine::delivery_job{rec->second, to_event_data(ev->second)};
  }
  changed();
  return job;
}

void memory_queue::extend(std::span<const store::delivery_id> ids, std::int64_t until_ms) {
  std::lock_guard lock(mutex_);
  for (const auto& id : ids) leases_.extend(id, until_ms);
}

void memory_queue::release(std::span<const store::delivery_id> ids) {
  {
    std::lock_guard lock(mutex_);
    for (const auto& id : ids) leases_.end(id);
  }
  changed();
}

result<void> memory_queue::settle(std::span<const engine::settlement> batch, std::int64_t) {
  {
    std::lock_guard lock(mutex_);
    ++settle_calls_;
    if (fail_settles_ > 0) {
      --fail_settles_;
      ++refused_settles_;
      return error(make_error_code(errc::storage_io),
                   "injected by memory_queue::fail_next_settle (" + std::to_string(batch.size()) +
                       " settlements refused)");
    }
    for (const auto& s : batch) {
      deliveries_[s.after.id] = s.after;
      if (s.previous_due_ms != 0) due_.erase({s.previous_due_ms, s.after.id});
      if (is_pending(s.after.status))
        due_[{s.after.next_attempt_at_ms, s.after.id}] = s.after.webhook_id;
      if (s.attempt) attempts_[s.after.id][s.attempt->number] = *s.attempt;
    }
    for (const auto& s : batch) {
      const due_key key{s.after.next_attempt_at_ms, s.after.id};
      if (is_pending(s.after.status) && s.hold_until_ms != 0) {
        leases_.take(key, s.after.webhook_id, std::max(s.hold_until_ms, key.due_ms));
      } else {
        leases_.end(s.after.id);
      }
    }
  }
  changed();
  return {};
}

result<std::size_t> memory_queue::cancel_webhook(std::uint64_t webhook_id, std::int64_t now_ms) {
  std::size_t n = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, rec] : deliveries_) {
      if (rec.webhook_id != webhook_id || !is_pending(rec.status)) continue;
      if (leases_.held(id, now_ms)) continue;
      due_.erase({rec.next_attempt_at_ms, id});
      rec.status = delivery_status::cancelled;
      rec.updated_at_ms = now_ms;
      rec.next_attempt_at_ms = 0;
      leases_.end(id);  // a lease that ran out but was not expired yet
      ++n;
    }
  }
  if (n > 0) changed();
  return n;
}

result<store::delivery_record> memory_queue::get(const store::delivery_id& id) const {
  std::lock_guard lock(mutex_);
  const auto it = deliveries_.find(id);
  if (it == deliveries_.end()) return errc::not_found;
  return it->second;
}

result<std::vector<store::attempt_record>> memory_queue::attempts(
    const store::delivery_id& id) const {
  std::lock_guard lock(mutex_);
  std::vector<store::attempt_record> out;
  if (const auto it = attempts_.find(id); it != attempts_.end()) {
    for (const auto& [number, a] : it->second) out.push_back(a);
  }
  return out;
}

result<store::event_record> memory_queue::find_event(std::string_view account,
                                                     std::string_view id) const {
  std::lock_guard lock(mutex_);
  const auto it = events_.find({std::string(account), std::string(id)});
  if (it == events_.end()) return errc::not_found;
  return it->second;
}

result<engine::delivery_page> memory_queue::list(std::uint64_t webhook_id,
                                                 const std::optional<store::delivery_id>& after,
                                                 std::optional<store::delivery_status> status,
                                                 std::size_t limit, store::list_order order) const {
  std::lock_guard lock(mutex_);
  engine::delivery_page page;
  if (limit == 0) return page;
  auto take = [&](const store::delivery_record& rec) {
    if (rec.webhook_id != webhook_id || (status && rec.status != *status)) return true;
    if (page.deliveries.size() == limit) {
      page.next_after = page.deliveries.back().id;
      return false;
    }
    page.deliveries.push_back(rec);
    return true;
  };
  if (order == store::list_order::newest_first) {
    auto end = after ? deliveries_.lower_bound(*after) : deliveries_.end();
    for (auto it = std::make_reverse_iterator(end); it != deliveries_.rend() && take(it->second);
         ++it) {
    }
  } else {
    auto it = after ? deliveries_.upper_bound(*after) : deliveries_.begin();
    for (; it != deliveries_.end() && take(it->second); ++it) {
    }
  }
  return page;
}

result<std::vector<store::delivery_record>> memory_queue::failed_since(std::uint64_t webhook_id,
                                                                       std::int64_t since_ms,
                                                                       std::size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<store::delivery_record> out;
  for (const auto& [id, rec] : deliveries_) {
    if (out.size() >= limit) break;
    if (rec.webhook_id == webhook_id && rec.status == delivery_status::failed &&
        rec.created_at_ms >= since_ms) {
      out.push_back(rec);
    }
  }
  return out;
}

result<engine::expiry_report> memory_queue::remove_expired(std::int64_t cutoff_ms,
                                                           std::int64_t now_ms) {
  engine::expiry_report report;
  {
    std::lock_guard lock(mutex_);
    std::set<std::pair<std::string, std::string>> kept;
    for (auto it = deliveries_.begin(); it != deliveries_.end();) {
      const auto& rec = it->second;
      if (rec.created_at_ms >= cutoff_ms) {
        ++it;
        continue;
      }
      if (is_pending(rec.status) || leases_.held(it->first, now_ms)) {
        kept.emplace(rec.account, rec.event_id);
        ++report.kept;
        ++it;
        continue;
      }
      attempts_.erase(it->first);
      it = deliveries_.erase(it);
      ++report.deliveries;
    }
    for (auto it = events_.begin(); it != events_.end();) {
      if (it->second.occurred_at_ms < cutoff_ms && !kept.contains(it->first)) {
        it = events_.erase(it);
        ++report.events;
      } else {
        ++it;
      }
    }
  }
  changed();
  return report;
}

}  // namespace hookd::test
