// Who holds which delivery until when, for queues whose leases live in this process
// (the RocksDB-backed local_queue, the tests' in-memory queue). Not thread-safe: the
// queue that owns it guards it.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>

#include <boost/unordered/unordered_flat_map.hpp>

#include "store/delivery_records.hpp"

namespace hookd::engine {

struct delivery_id_hash {
  std::size_t operator()(const store::delivery_id& id) const noexcept {
    std::uint64_t h = 0;
    // The last 8 bytes of a UUIDv7 are random.
    for (std::size_t i = 8; i < 16; ++i) h = (h << 8) | id[i];
    return static_cast<std::size_t>(h);
  }
};

class lease_table {
 public:
  struct lease {
    std::int64_t until_ms = 0;
    store::due_key key;  // the delivery's entry in the due queue while pending
    std::uint64_t webhook_id = 0;
  };

  // Whether a lease on `id` runs at `now_ms`.
  bool held(const store::delivery_id& id, std::int64_t now_ms) const;
  // Takes (or renews) the lease on the delivery at `key` until `until_ms`.
  void take(const store::due_key& key, std::uint64_t webhook_id, std::int64_t until_ms);
  // Renews a lease that is still held; no effect on others.
  void extend(const store::delivery_id& id, std::int64_t until_ms);
  // Moves a held lease's due entry (a pending retry the holder keeps).
  void move(const store::delivery_id& id, const store::due_key& key);
  // Ends a lease; returns it, or nullopt when there was none.
  std::optional<lease> end(const store::delivery_id& id);
  // Ends every lease that ran out by `now_ms`, passing each to `fn`.
  void expire(std::int64_t now_ms, const std::function<void(const lease&)>& fn);

  std::size_t size() const noexcept { return by_id_.size(); }

 private:
  // Open addressing: no allocation per lease on the hot path.
  boost::unordered_flat_map<store::delivery_id, lease, delivery_id_hash> by_id_;
  // No lease ends before this: expire() costs nothing until then, and one pass over
  // the table after. Most leases end by settlement long before they run out, so an
  // expiry index kept per lease would cost every delivery for the rare few.
  std::int64_t earliest_ = std::numeric_limits<std::int64_t>::max();
};

}  // namespace hookd::engine
