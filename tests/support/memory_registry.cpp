// The in-memory registry: records under one mutex, the change feed outside it.
#include "tests/support/memory_registry.hpp"

#include <algorithm>
#include <utility>

namespace hookd::test {
namespace {

void normalise_events(engine::webhook_record& r) {
  std::sort(r.events.begin(), r.events.end());
  r.events.erase(std::unique(r.events.begin(), r.events.end()), r.events.end());
}

}  // namespace

void memory_registry::watch(watcher fn) {
  std::lock_guard lock(mutex_);
  watchers_.push_back(std::move(fn));
}

void memory_registry::changed(const engine::registry_change& change) const {
  for (const auto& w : watchers_) w(change);
}

result<engine::webhook_record> memory_registry::create(engine::webhook_record record) {
  normalise_events(record);
  {
    std::lock_guard lock(mutex_);
    record.id = next_id_++;
    records_[record.id] = record;
  }
  changed({record.id, record});
  return record;
}

result<engine::webhook_record> memory_registry::get(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  const auto it = records_.find(id);
  if (it == records_.end()) return errc::not_found;
  return it->second;
}

result<engine::webhook_record> memory_registry::update(std::uint64_t id, const change_fn& change) {
  engine::webhook_record after;
  {
    std::lock_guard lock(mutex_);
    const auto it = records_.find(id);
    if (it == records_.end()) return errc::not_found;
    after = it->second;
    if (auto ec = change(after)) return ec;
    after.id = it->second.id;
    after.account = it->second.account;
    after.created_at_ms = it->second.created_at_ms;
    normalise_events(after);
    it->second = after;
  }
  changed({id, after});
  return after;
}

result<void> memory_registry::remove(std::uint64_t id) {
  {
    std::lock_guard lock(mutex_);
    if (records_.erase(id) == 0) return errc::not_found;
  }
  changed({id, std::nullopt});
  return {};
}

result<engine::webhook_page> memory_registry::list(std::string_view account, std::uint64_t after,
                                                   std::size_t limit) const {
  std::lock_guard lock(mutex_);
  engine::webhook_page page;
  if (limit == 0 || after == UINT64_MAX) return page;
  for (auto it = records_.upper_bound(after); it != records_.end(); ++it) {
    if (it->second.account != account) continue;
    if (page.webhooks.size() == limit) {
      page.next_after = page.webhooks.back().id;
      break;
    }
    page.webhooks.push_back(it->second);
  }
  return page;
}

result<std::vector<std::uint64_t>> memory_registry::subscribers(std::string_view account,
                                                                std::string_view type) const {
  std::lock_guard lock(mutex_);
  std::vector<std::uint64_t> ids;
  for (const auto& [id, r] : records_) {
    if (r.active && r.account == account && r.subscribes_to(type)) ids.push_back(id);
  }
  return ids;
}

std::vector<engine::webhook_record> memory_registry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<engine::webhook_record> out;
  out.reserve(records_.size());
  for (const auto& [id, r] : records_) out.push_back(r);
  return out;
}

result<void> memory_registry::for_each(
    const std::function<void(const engine::webhook_record&)>& fn) const {
  for (const auto& r : all()) fn(r);
  return {};
}

}  // namespace hookd::test
