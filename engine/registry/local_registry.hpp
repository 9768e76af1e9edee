// The registry of a single node: webhook records and their indexes in RocksDB
// (store::webhook_registry), with the change feed delivered in this process.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "engine/registry/registry.hpp"
#include "store/webhook_registry.hpp"

namespace hookd::engine {

class local_registry final : public registry {
 public:
  explicit local_registry(std::unique_ptr<store::webhook_registry> store);

  result<webhook_record> create(webhook_record record) override;
  result<webhook_record> get(std::uint64_t id) const override;
  result<webhook_record> update(std::uint64_t id, const change_fn& change) override;
  result<void> remove(std::uint64_t id) override;
  result<webhook_page> list(std::string_view account, std::uint64_t after,
                            std::size_t limit) const override;
  result<std::vector<std::uint64_t>> subscribers(std::string_view account,
                                                 std::string_view type) const override;
  result<void> for_each(const std::function<void(const webhook_record&)>& fn) const override;
  result<void> for_each_subscription(
      const std::function<void(const subscription&)>& fn) const override;
  result<void> set_failing_since(std::uint64_t id, std::optional<std::int64_t> since_ms) override;
  result<std::vector<std::pair<std::uint64_t, std::int64_t>>> failing() const override;
  void watch(watcher fn) override;

  const store::webhook_registry& storage() const noexcept { return *store_; }

 private:
  void changed(const registry_change& change) const;

  std::unique_ptr<store::webhook_registry> store_;
  std::vector<watcher> watchers_;
  // Held from a write until its watchers return: the feed reports changes in the
  // order they were made.
  std::mutex feed_mutex_;
};

}  // namespace hookd::engine
