// Leases kept in memory: a hash map by delivery id for the hot checks, and an expiry
// order cleaned lazily so renewing a lease costs one insertion.
#include "engine/delivery/lease_table.hpp"

namespace hookd::engine {

bool lease_table::held(const store::delivery_id& id, std::int64_t now_ms) const {
  const auto it = by_id_.find(id);
  return it != by_id_.end() && it->second.until_ms > now_ms;
}

void lease_table::take(const store::due_key& key, std::uint64_t webhook_id, std::int64_t until_ms) {
  by_id_.insert_or_assign(key.id, lease{until_ms, key, webhook_id});
  by_expiry_.emplace(until_ms, key.id);
}

void lease_table::extend(const store::delivery_id& id, std::int64_t until_ms) {
  const auto it = by_id_.find(id);
  if (it == by_id_.end() || it->second.until_ms >= until_ms) return;
  it->second.until_ms = until_ms;
  by_expiry_.emplace(until_ms, id);
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
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now_ms) {
    const auto [until, id] = *by_expiry_.begin();
    by_expiry_.erase(by_expiry_.begin());
    const auto it = by_id_.find(id);
    // Renewed (a later expiry entry exists) or already ended: not this entry's turn.
    if (it == by_id_.end() || it->second.until_ms != until) continue;
    const lease ended = it->second;
    by_id_.erase(it);
    fn(ended);
  }
  // Ended leases leave their expiry entries behind; drop them when they dominate.
  if (by_expiry_.size() > 4 * by_id_.size() + 1024) {
    std::multimap<std::int64_t, store::delivery_id> kept;
    for (const auto& [id, l] : by_id_) kept.emplace(l.until_ms, id);
    by_expiry_.swap(kept);
  }
}

}  // namespace hookd::engine
