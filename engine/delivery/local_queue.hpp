// The delivery queue of a single node: the records live in RocksDB (store/), the
// leases and claim cursors in this process. A lease that ends without a settlement
// (a crashed attempt, a holder that gave it back) moves the claim cursor back to it,
// so no pending delivery is ever stranded behind the cursor.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>

#include "engine/delivery/delivery_queue.hpp"
#include "engine/delivery/lease_table.hpp"
#include "store/delivery_queue.hpp"

namespace hookd::engine {

class local_queue final : public delivery_queue {
 public:
  // The store must outlive the queue.
  explicit local_queue(store::delivery_queue& store);

  result<void> append(const store::event_record& event,
                      std::span<const store::delivery_record> deliveries, std::int64_t now_ms,
                      std::chrono::milliseconds lease) override;
  result<claim_batch> claim(const claim_request& request) override;
  result<delivery_job> claim_one(const store::delivery_id& id, std::int64_t now_ms,
                                 std::chrono::milliseconds lease) override;
  void extend(std::span<const store::delivery_id> ids, std::int64_t until_ms) override;
  void release(std::span<const store::delivery_id> ids) override;
  result<void> settle(std::span<const settlement> batch, std::int64_t now_ms) override;
  result<std::size_t> cancel_webhook(std::uint64_t webhook_id, std::int64_t now_ms) override;

  result<store::delivery_record> get(const store::delivery_id& id) const override;
  result<std::vector<store::attempt_record>> attempts(const store::delivery_id& id) const override;
  result<store::event_record> find_event(std::string_view account,
                                         std::string_view id) const override;
  result<delivery_page> list(std::uint64_t webhook_id,
                             const std::optional<store::delivery_id>& after,
                             std::optional<store::delivery_status> status, std::size_t limit,
                             store::list_order order) const override;
  result<std::vector<store::delivery_record>> failed_since(std::uint64_t webhook_id,
                                                           std::int64_t since_ms,
                                                           std::size_t limit) const override;
  result<expiry_report> remove_expired(std::int64_t cutoff_ms, std::int64_t now_ms) override;

  // Leases held right now (tests, metrics).
  std::size_t leased() const;

 private:
  // Due entries before `at` are claimed, leased or done; a claim reads on from there.
  struct cursor {
    store::due_key at;
    bool scanning = false;
    std::optional<store::due_key> low;  // rewinds that arrived while a claim was scanning
    // The first entry a claim skipped (not admitted) since the scan last reached the
    // end of what is due: claims read on past it, and come back to it from there.
    std::optional<store::due_key> skipped;
  };

  cursor& cursor_for(const partition& p);
  // A pending delivery at `key` is claimable again: claims must look there once more.
  void rewind(const store::due_key& key, std::uint64_t webhook_id);
  void expire(std::int64_t now_ms);
  // Reads the records and events of due entries into jobs (two batched reads); keys
  // whose record or event could not be read go to `unreadable`.
  std::vector<delivery_job> load(std::span<const store::due_key> keys,
                                 std::vector<store::due_key>& unreadable);

  store::delivery_writes take_writes();
  void give_back(store::delivery_writes writes);

  store::delivery_queue& store_;
  std::mutex writes_mutex_;
  std::vector<store::delivery_writes> spare_writes_;  // one per concurrent settler at most
  mutable std::mutex mutex_;  // guards leases_ and cursors_; never held across a write
  // A step of retention and a claim_one exclude each other: a delivery is either
  // leased before retention looks at it, or gone before claim_one reads it.
  std::shared_mutex expiry_mutex_;
  std::mutex expiry_pass_mutex_;  // one retention pass at a time
  lease_table leases_;
  std::map<std::pair<std::size_t, std::size_t>, cursor> cursors_;
};

}  // namespace hookd::engine
