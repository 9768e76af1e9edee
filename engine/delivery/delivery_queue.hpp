// The seam between the dispatcher and durable delivery storage: append what publish
// created, claim due work under a lease, settle attempts, cancel a webhook's work,
// and read history. One node uses the RocksDB-backed local_queue; NATS JetStream maps
// onto it one to one (append = stream publish, claim = pull-consumer fetch with an
// ack wait, settle success = ack, retry = NAK with the delay, cancel = purge of the
// webhook's subject). Every call takes or returns a batch: one virtual call per batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/delivery/delivery_job.hpp"
#include "hookd/errc.hpp"
#include "store/delivery_records.hpp"

namespace hookd::engine {

// Which deliveries a claimer takes: those whose webhook id % count == index, so each
// dispatcher worker claims its own webhooks (JetStream: a consumer per subject filter).
struct partition {
  std::size_t index = 0;
  std::size_t count = 1;
  bool contains(std::uint64_t webhook_id) const noexcept { return webhook_id % count == index; }
};

struct claim_request {
  std::int64_t now_ms = 0;             // the clock's now; leases run from it
  std::int64_t due_by_ms = 0;          // take deliveries due at or before this
  std::size_t max = 0;                 // at most this many
  std::chrono::milliseconds lease{0};  // nobody else claims them until now + lease
  partition part;
  // Whether the claimer takes a delivery of this webhook due then, now (its origin has
  // room in the claimer's memory); null takes all. Skipped deliveries stay due, unleased, and
  // a later claim comes back to them.
  std::function<bool(std::uint64_t webhook_id, std::int64_t due_ms)> admit;
  // Due entries one claim reads at most, so skipping a large backlog of a full origin
  // costs a bounded step; the next claim reads on from where this one stopped.
  std::size_t max_scan = k_max_scan;
  static constexpr std::size_t k_max_scan = 16'384;
};

struct claim_batch {
  std::vector<delivery_job> jobs;
  bool more = false;     // stopped at max or at max_scan: claiming again reads on
  bool skipped = false;  // due deliveries were left for later because admit said no
  std::optional<std::int64_t> skipped_due_ms;  // the earliest due time of those
};

// A delivery's new state after an attempt (or a cancel or manual retry), written with
// the attempt's log entry. The lease ends with it unless the caller holds on.
struct settlement {
  store::delivery_record after;      // status, attempts, next_attempt_at_ms as they are now
  std::int64_t previous_due_ms = 0;  // the due entry it leaves (0: none)
  std::optional<store::attempt_record> attempt;
  // The caller keeps this pending delivery in memory and attempts it itself at its
  // due time: its lease runs on until this time (at least the due time). 0 gives it back.
  std::int64_t hold_until_ms = 0;
  // The status it leaves (its status index entry moves from there).
  store::delivery_status previous_status = store::delivery_status::pending;
};

using store::delivery_page;

// What one pass of retention removed.
struct expiry_report {
  std::size_t deliveries = 0;  // finished deliveries, with their attempts
  std::size_t events = 0;      // events none of whose deliveries is unfinished
  std::size_t kept = 0;        // unfinished deliveries past the retention, kept
};

class delivery_queue {
 public:
  virtual ~delivery_queue() = default;

  // Durably appends an event with its deliveries (each due at its next_attempt_at_ms)
  // and leases them to the caller for `lease` from `now_ms`, so it may dispatch them at
  // once without a round trip. Durable when it returns.
  [[nodiscard]] virtual result<void> append(const store::event_record& event,
                                            std::span<const store::delivery_record> deliveries,
                                            std::int64_t now_ms,
                                            std::chrono::milliseconds lease) = 0;

  // Leases up to `max` deliveries of the partition that are due by `due_by_ms`, not
  // leased and admitted, oldest due first, each with its event. A lease that ended without a
  // settlement (the holder crashed or gave it back) makes its delivery claimable again.
  [[nodiscard]] virtual result<claim_batch> claim(const claim_request& request) = 0;

  // Takes one delivery by id, whatever its status or due time, unless it is leased
  // (errc::already_exists). For an operator's "retry now".
  [[nodiscard]] virtual result<delivery_job> claim_one(const store::delivery_id& id,
                                                       std::int64_t now_ms,
                                                       std::chrono::milliseconds lease) = 0;

  // Renews the leases of deliveries the caller still holds, until `until_ms`.
  virtual void extend(std::span<const store::delivery_id> ids, std::int64_t until_ms) = 0;
  // Gives leases back without a settlement: the deliveries are claimable again at once.
  virtual void release(std::span<const store::delivery_id> ids) = 0;

  // Writes the settlements atomically, all or none; leases end or run on as each says.
  [[nodiscard]] virtual result<void> settle(std::span<const settlement> batch,
                                            std::int64_t now_ms) = 0;

  // Cancels the webhook's unfinished deliveries that nobody holds a lease on; returns
  // how many. (Leased ones are the holder's to cancel when it settles them.)
  [[nodiscard]] virtual result<std::size_t> cancel_webhook(std::uint64_t webhook_id,
                                                           std::int64_t now_ms) = 0;

  // History.
  [[nodiscard]] virtual result<store::delivery_record> get(const store::delivery_id& id) const = 0;
  [[nodiscard]] virtual result<std::vector<store::attempt_record>> attempts(
      const store::delivery_id& id) const = 0;
  [[nodiscard]] virtual result<store::event_record> find_event(std::string_view account,
                                                               std::string_view id) const = 0;
  // The webhook's deliveries in `order` of creation, after `after` (exclusive, in that
  // order), optionally only those with `status`, at most `limit`.
  [[nodiscard]] virtual result<delivery_page> list(std::uint64_t webhook_id,
                                                   const std::optional<store::delivery_id>& after,
                                                   std::optional<store::delivery_status> status,
                                                   std::size_t limit,
                                                   store::list_order order) const = 0;
  // The webhook's failed deliveries created at or after `since_ms`, at most `limit`.
  [[nodiscard]] virtual result<std::vector<store::delivery_record>> failed_since(
      std::uint64_t webhook_id, std::int64_t since_ms, std::size_t limit) const = 0;

  // Retention: removes finished deliveries created before `cutoff_ms` with their
  // attempts, and events from before it none of whose deliveries is unfinished
  // (events that matched nothing included). Pending work is never removed; neither is
  // a delivery leased right now. Reads of what was removed are not_found.
  [[nodiscard]] virtual result<expiry_report> remove_expired(std::int64_t cutoff_ms,
                                                             std::int64_t now_ms) = 0;
};

}  // namespace hookd::engine
