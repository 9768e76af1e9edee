// The in-memory registry: records under one mutex, the change feed outside it.
#include "tests/support/memory_registry.hpp"

#include <algorithm>
#include <string>
#include <tuple>
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
  std::lock_guard feed(feed_mutex_);
  normalise_events(record);
  {
    std::lock_guard lock(mutex_);
    record.id = next_id_++;
    records_[record.id] = record;
  }
  changed({record.id, record, std::nullopt});
  return record;
}

result<engine::webhook_record> memory_registry::get(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  const auto it = records_.find(id);
  if (it == records_.end()) return errc::not_found;
  return it->second;
}

result<engine::webhook_record> memory_registry::update(std::uint64_t id, const change_fn& change) {
  std::lock_guard feed(feed_mutex_);
  engine::webhook_record before;
  engine::webhook_record after;
  {
    std::lock_guard lock(mutex_);
    const auto it = records_.find(id);
    if (it == records_.end()) return errc::not_found;
    before = it->second;
    after = it->second;
    if (auto ec = change(after)) return ec;
    after.id = it->second.id;
    after.account = it->second.account;
    after.created_at_ms = it->second.created_at_ms;
    normalise_events(after);
    it->second = after;
  }
  changed({id, after, std::move(before)});
  return after;
}

result<void> memory_registry::remove(std::uint64_t id) {
  std::lock_guard feed(feed_mutex_);
  engine::webhook_record before;
  {
    std::lock_guard lock(mutex_);
    const auto it = records_.find(id);
    if (it == records_.end()) return errc::not_found;
    before = std::move(it->second);
    records_.erase(it);
    failing_.erase(id);
  }
  changed({id, std::nullopt, std::move(before)});
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

result<void> memory_registry::for_each_subscription(
    const std::function<void(const engine::subscription&)>& fn) const {
  struct row {
    std::string account;
    std::string type;
    std::uint64_t id;
    bool body;
  };
  std::vector<row> rows;
  for (const auto& r : all()) {
    if (!r.active) continue;
    for (const auto& type : r.events) {
      rows.push_back({r.account, type, r.id, r.http_method != "GET" && r.http_method != "DELETE"});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
    return std::tie(a.account, a.type, a.id) < std::tie(b.account, b.type, b.id);
  });
  for (const auto& r : rows) fn(engine::subscription{r.account, r.type, r.id, r.body});
  return {};
}

result<void> memory_registry::set_failing_since(std::uint64_t id,
                                                std::optional<std::int64_t> since_ms) {
  std::lock_guard lock(mutex_);
  if (!records_.contains(id)) return {};
  if (since_ms) {
    failing_[id] = *since_ms;
  } else {
    failing_.erase(id);
  }
  return {};
}

result<std::vector<std::pair<std::uint64_t, std::int64_t>>> memory_registry::failing() const {
  std::lock_guard lock(mutex_);
  return std::vector<std::pair<std::uint64_t, std::int64_t>>(failing_.begin(), failing_.end());
}

}  // namespace hookd::test
