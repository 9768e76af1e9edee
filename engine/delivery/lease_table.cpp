// Leases kept in memory: a hash map by delivery id, and a lower bound of their ends so
// that looking for expired leases is free until one can have run out.
#include "engine/delivery/lease_table.hpp"

#include <algorithm>
#include <vector>

namespace hookd::engine {

bool lease_table::held(const store::delivery_id& id, std::int64_t now_ms) const {
  const auto it = by_id_.find(id);
  return it != by_id_.end() && it->second.until_ms > now_ms;
}

void lease_table::take(const store::due_key& key, std::uint64_t webhook_id, std::int64_t until_ms) {
  by_id_.insert_or_assign(key.id, lease{until_ms, key, webhook_id});
  earliest_ = std::min(earliest_, until_ms);
}

void lease_table::extend(const store::delivery_id& id, std::int64_t until_ms) {
  // A later end never lowers the bound, so earliest_ stays a lower bound.
  const auto it = by_id_.find(id);
  if (it != by_id_.end() && it->second.until_ms < until_ms) it->second.until_ms = until_ms;
}

void lease_table::move(const store::delivery_id& id, const store::due_key& key) {
  const auto it = by_id_.find(id);
  if (it != by_id_.end()) it->second.key = key;
}

std::optional<lease_table::lease> lease_table::end(const store::delivery_id& id) {
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  lease out = it->second;
  by_id_.erase(it);
  return out;
}

void lease_table::expire(std::int64_t now_ms, const std::function<void(const lease&)>& fn) {
  if (now_ms < earliest_) return;
  std::vector<lease> ended;
  std::int64_t earliest = std::numeric_limits<std::int64_t>::max();
  boost::unordered::erase_if(by_id_, [&](const auto& entry) {
    if (entry.second.until_ms <= now_ms) {
      ended.push_back(entry.second);
      return true;
    }
    earliest = std::min(earliest, entry.second.until_ms);
    return false;
  });
  earliest_ = earliest;
  for (const auto& l : ended) fn(l);
}

}  // namespace hookd::engine
