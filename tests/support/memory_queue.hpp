// An in-memory delivery queue for tests: the semantics of engine::local_queue (leases
// with expiry, due-ordered claims per partition, settlements that apply states and
// holds, cancellation that skips leased deliveries, history reads) over plain maps,
// plus fault injection: settle can be told to refuse its next batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/delivery/delivery_queue.hpp"
#include "engine/delivery/lease_table.hpp"

namespace hookd::test {

class memory_queue final : public engine::delivery_queue {
 public:
  result<void> append(const store::event_record& event,
                      std::span<const store::delivery_record> deliveries, std::int64_t now_ms,
                      std::chrono::milliseconds lease) override;
  result<engine::claim_batch> claim(const engine::claim_request& request) override;
  result<engine::delivery_job> claim_one(const store::delivery_id& id, std::int64_t now_ms,
                                         std::chrono::milliseconds lease) override;
  void extend(std::span<const store::delivery_id> ids, std::int64_t until_ms) override;
  void release(std::span<const store::delivery_id> ids) override;
  result<void> settle(std::span<const engine::settlement> batch, std::int64_t now_ms) override;
  result<std::size_t> cancel_webhook(std::uint64_t webhook_id, std::int64_t now_ms) override;

  result<store::delivery_record> get(const store::delivery_id& id) const override;
  result<std::vector<store::attempt_record>> attempts(const store::delivery_id& id) const override;
  result<store::event_record> find_event(std::string_view account,
                                         std::string_view id) const override;
  result<engine::delivery_page> list(std::uint64_t webhook_id,
                                     const std::optional<store::delivery_id>& after,
                                     std::optional<store::delivery_status> status,
                                     std::size_t limit, store::list_order order) const override;
  result<std::vector<store::delivery_record>> failed_since(std::uint64_t webhook_id,
                                                           std::int64_t since_ms,
                                                           std::size_t limit) const override;
  result<engine::expiry_report> remove_expired(std::int64_t cutoff_ms,
                                               std::int64_t now_ms) override;

  // The next `n` settle calls return errc::storage_io and change nothing.
  void fail_next_settle(std::size_t n);
  // Settle calls so far, and how many of them were refused by fail_next_settle.
  std::size_t settle_calls() const;
  std::size_t refused_settles() const;
  // Leases held in the table right now (ended or expired ones are gone once a claim
  // has seen them expire, as in local_queue).
  std::size_t leased() const;
  // Called after every call that changed something, outside the queue's lock, on the
  // caller's thread: tests wait on it instead of sleeping.
  void on_change(std::function<void()> fn);

 private:
  void changed() const;

  mutable std::mutex mutex_;
  engine::lease_table leases_;
  std::map<std::pair<std::string, std::string>, store::event_record> events_;
  // By id: UUIDv7 ids sort oldest first, as the per-webhook index in RocksDB does.
  std::map<store::delivery_id, store::delivery_record> deliveries_;
  // By delivery, then attempt number: a rewrite of the same number replaces it.
  std::map<store::delivery_id, std::map<std::uint32_t, store::attempt_record>> attempts_;
  // The due queue: (due time, id) -> webhook id, as the `due` column family.
  std::map<store::due_key, std::uint64_t> due_;
  std::size_t fail_settles_ = 0;
  std::size_t settle_calls_ = 0;
  std::size_t refused_settles_ = 0;
  std::function<void()> on_change_;
};

}  // namespace hookd::test
