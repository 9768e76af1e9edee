// An in-memory webhook registry for tests: engine::registry over a map, with the
// change feed called after every change on the thread that made it, as
// local_registry does.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>
#include <vector>

#include "engine/registry/registry.hpp"

namespace hookd::test {

class memory_registry final : public engine::registry {
 public:
  result<engine::webhook_record> create(engine::webhook_record record) override;
  result<engine::webhook_record> get(std::uint64_t id) const override;
  result<engine::webhook_record> update(std::uint64_t id, const change_fn& change) override;
  result<void> remove(std::uint64_t id) override;
  result<engine::webhook_page> list(std::string_view account, std::uint64_t after,
                                    std::size_t limit) const override;
  result<std::vector<std::uint64_t>> subscribers(std::string_view account,
                                                 std::string_view type) const override;
  result<void> for_each(
      const std::function<void(const engine::webhook_record&)>& fn) const override;
  result<void> for_each_subscription(
      const std::function<void(const engine::subscription&)>& fn) const override;
  result<void> set_failing_since(std::uint64_t id, std::optional<std::int64_t> since_ms) override;
  result<std::vector<std::pair<std::uint64_t, std::int64_t>>> failing() const override;
  void watch(watcher fn) override;

  // Every record, in id order (to build a subscription snapshot).
  std::vector<engine::webhook_record> all() const;

 private:
  // Runs the watchers without the records' lock held: they may read the registry back.
  void changed(const engine::registry_change& change) const;

  mutable std::mutex mutex_;
  std::mutex feed_mutex_;  // held from a change until its watchers return: changes in order
  std::map<std::uint64_t, engine::webhook_record> records_;
  std::map<std::uint64_t, std::int64_t> failing_;
  std::uint64_t next_id_ = 1;
  std::vector<watcher> watchers_;  // added before concurrent use
};

}  // namespace hookd::test
