// The durable delivery records in RocksDB: events, deliveries, the `due` retry queue
// in time order, the attempt log, and reads of a webhook's history. Publish writes an event with
// all its deliveries and due entries in one batch; outcomes are written in batches too.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/errc.hpp"
#include "store/database.hpp"
#include "store/delivery_codec.hpp"
#include "store/delivery_records.hpp"

namespace hookd::store {

// Outcomes gathered for one write: each call adds to the batch; nothing is durable
// until delivery_queue::commit.
class delivery_writes {
 public:
  // Made by delivery_queue::writes().
  ~delivery_writes();
  delivery_writes(delivery_writes&&) noexcept;
  delivery_writes& operator=(delivery_writes&&) noexcept;

  // Stores the delivery's new state, moving its `due` entry from `previous_due_ms`
  // (0: none) to after.next_attempt_at_ms when after is pending (else removing it),
  // its status index entry from `previous_status` to after.status, and appends
  // `attempt` to its log when given.
  void update(const delivery_record& after, std::int64_t previous_due_ms,
              delivery_status previous_status, const attempt_record* attempt);

  // Drops what was gathered, keeping the memory for the next batch.
  void clear();

  std::size_t count() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

 private:
  friend class delivery_queue;
  struct batch;
  explicit delivery_writes(database& db);
  std::unique_ptr<batch> batch_;
  std::size_t count_ = 0;
};

// One step of removing finished deliveries past the retention.
struct expired_deliveries {
  std::size_t removed = 0;  // finished deliveries removed, with their attempts and index entries
  // Unfinished (or in use) deliveries older than the cutoff are kept, and so are their
  // events: (account, event id) of each.
  std::vector<std::pair<std::string, std::string>> kept_events;
  std::optional<delivery_id> next_after;  // where the next step starts; none: done
};

class delivery_queue {
 public:
  explicit delivery_queue(database& db);

  // One atomic write: the event with its time index entry, its deliveries, the
  // per-webhook and per-webhook-status indexes and the due entries. Durable when it returns (WAL;
  // fsync when the database was opened so).
  [[nodiscard]] result<void> publish(const event_record& event,
                                     std::span<const delivery_record> deliveries);

  // An empty batch of outcomes for this queue; reuse it after commit.
  delivery_writes writes() const;
  // Writes the batch atomically and empties it; on failure it keeps the batch whole.
  [[nodiscard]] result<void> commit(delivery_writes& writes);

  // not_found when absent.
  [[nodiscard]] result<event_record> find_event(std::string_view account,
                                                std::string_view id) const;
  [[nodiscard]] result<delivery_record> get(const delivery_id& id) const;
  // Several deliveries in one batched read (RocksDB MultiGet), in the order given.
  [[nodiscard]] std::vector<result<delivery_record>> get_many(
      std::span<const delivery_id> ids) const;
  // Several events by (account, id), in one batched read, in the order given.
  [[nodiscard]] std::vector<result<event_record>> find_events(
      std::span<const std::pair<std::string, std::string>> keys) const;
  [[nodiscard]] result<std::vector<attempt_record>> attempts(const delivery_id& id) const;

  // The webhook's deliveries in `order` of creation, after `after` (exclusive, in that
  // order), optionally only those with `status` (read from the status index), at most
  // `limit`.
  [[nodiscard]] result<delivery_page> list(std::uint64_t webhook_id,
                                           const std::optional<delivery_id>& after,
                                           std::optional<delivery_status> status, std::size_t limit,
                                           list_order order = list_order::oldest_first) const;

  // Visits due entries in (time, id) order from `from` (inclusive) with due time
  // < `before_ms`, at most `limit`; `fn` gets the entry and its webhook id. Returns
  // how many were visited.
  [[nodiscard]] result<std::size_t> scan_due(
      const due_key& from, std::int64_t before_ms, std::size_t limit,
      const std::function<void(const due_key&, std::uint64_t webhook_id)>& fn) const;

  // The webhook's failed deliveries created at or after `since_ms`, oldest first, at
  // most `limit` (from the status index: the cost is what it returns).
  [[nodiscard]] result<std::vector<delivery_record>> failed_of_webhook(std::uint64_t webhook_id,
                                                                       std::int64_t since_ms,
                                                                       std::size_t limit) const;

  // The webhook's unfinished deliveries after `after` (exclusive), oldest first, at
  // most `limit`: one page of its pending index.
  [[nodiscard]] result<std::vector<delivery_record>> pending_of_webhook(
      std::uint64_t webhook_id, const std::optional<delivery_id>& after, std::size_t limit) const;

  // Retention, in steps: removes up to `limit` of the finished (succeeded, failed,
  // cancelled) deliveries created before `cutoff_ms` after `after`, with their
  // attempts and index entries. Ids are time-ordered, so a run of removed deliveries
  // is one range delete. Unfinished ones are never removed, however old, nor those
  // `in_use` says someone holds (an operator's retry about to start).
  [[nodiscard]] result<expired_deliveries> remove_finished_before(
      std::int64_t cutoff_ms, const std::optional<delivery_id>& after, std::size_t limit,
      const std::function<bool(const delivery_id&)>& in_use);
  // Removes the events that occurred before `cutoff_ms` unless `keep(account, id)`.
  // Returns how many were removed.
  [[nodiscard]] result<std::size_t> remove_events_before(
      std::int64_t cutoff_ms,
      const std::function<bool(std::string_view account, std::string_view id)>& keep);
  // Compacts what the removals before `cutoff_ms` left, so the space returns to the
  // file system now rather than at RocksDB's next compaction of those files.
  [[nodiscard]] result<void> compact_before(std::int64_t cutoff_ms);

  // Builds the status and event-time indexes when the database was written by a
  // version without them (once; later calls return 0). Returns the entries written.
  [[nodiscard]] result<std::size_t> build_indexes();

 private:
  database& db_;
};

}  // namespace hookd::store
