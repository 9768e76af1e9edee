// RocksDB-backed registry with an in-process change feed.
#include "engine/registry/local_registry.hpp"

namespace hookd::engine {

local_registry::local_registry(std::unique_ptr<store::webhook_registry> store)
    : store_(std::move(store)) {}

void local_registry::watch(watcher fn) { watchers_.push_back(std::move(fn)); }

void local_registry::changed(const registry_change& change) const {
  for (const auto& w : watchers_) w(change);
}

result<webhook_record> local_registry::create(webhook_record record) {
  std::lock_guard lock(feed_mutex_);
  auto stored = store_->create(std::move(record));
  if (stored) changed({stored->id, *stored, std::nullopt});
  return stored;
}

result<webhook_record> local_registry::get(std::uint64_t id) const { return store_->get(id); }

result<webhook_record> local_registry::update(std::uint64_t id, const change_fn& change) {
  std::lock_guard lock(feed_mutex_);
  webhook_record before;
  auto updated = store_->update(id, change, &before);
  if (updated) changed({id, *updated, std::move(before)});
  return updated;
}

result<void> local_registry::remove(std::uint64_t id) {
  std::lock_guard lock(feed_mutex_);
  auto removed = store_->remove(id);
  if (!removed) return removed.error();
  changed({id, std::nullopt, std::move(*removed)});
  return {};
}

result<webhook_page> local_registry::list(std::string_view account, std::uint64_t after,
                                          std::size_t limit) const {
  auto page = store_->list(account, after, limit);
  if (!page) return page.error();
  return webhook_page{std::move(page->webhooks), page->next_after};
}

result<std::vector<std::uint64_t>> local_registry::subscribers(std::string_view account,
                                                               std::string_view type) const {
  return store_->subscribers(account, type);
}

result<void> local_registry::for_each(const std::function<void(const webhook_record&)>& fn) const {
  return store_->for_each(fn);
}

result<void> local_registry::for_each_subscription(
    const std::function<void(const subscription&)>& fn) const {
  return store_->for_each_subscription(
      [&](std::string_view account, std::string_view type, std::uint64_t id, bool body) {
        fn(subscription{account, type, id, body});
      });
}

result<void> local_registry::set_failing_since(std::uint64_t id,
                                               std::optional<std::int64_t> since_ms) {
  return store_->set_failing_since(id, since_ms);
}

result<std::vector<std::pair<std::uint64_t, std::int64_t>>> local_registry::failing() const {
  return store_->failing();
}

}  // namespace hookd::engine
