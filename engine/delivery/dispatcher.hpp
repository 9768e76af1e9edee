// The dispatcher orchestrates delivery: worker threads, each running one io_context
// with its own sender, so a webhook's deliveries (sharded by webhook id) stay on one
// thread and per-webhook state needs no locks. A worker feeds deliveries from the
// scheduler (claims and near retries) and from publish into per-origin queues, builds
// and sends each attempt, turns its outcome into the next state (next_state) and
// settles it through the outcome batch. It depends only on the delivery queue and
// registry interfaces, a sender factory, a clock and a random source.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/delivery/delivery_job.hpp"
#include "engine/delivery/delivery_queue.hpp"
#include "engine/delivery/origin_queue.hpp"
#include "engine/delivery/retry_policy.hpp"
#include "engine/delivery/sender.hpp"
#include "engine/registry/registry.hpp"
#include "engine/registry/webhook_targets.hpp"
#include "hookd/engine/clock.hpp"
#include "hookd/engine/failure.hpp"
#include "hookd/engine/metrics.hpp"
#include "hookd/engine/random.hpp"

namespace hookd::engine {

struct dispatcher_stats {
  std::atomic<std::uint64_t> attempts{0};
  std::atomic<std::uint64_t> succeeded{0};
  std::atomic<std::uint64_t> failed_attempts{0};
  std::atomic<std::uint64_t> failed_deliveries{0};
  std::atomic<std::uint64_t> cancelled{0};
  std::atomic<std::uint64_t> backoff_events{0};    // times an origin's concurrency was halved
  std::atomic<std::uint64_t> crashed_attempts{0};  // attempts that threw (a bug): released
  // Attempts failed as origin_unavailable without a request (the origin's circuit was
  // open); also counted in failed_attempts.
  std::atomic<std::uint64_t> short_circuited{0};
  // Fresh deliveries left on disk instead of memory: their origin held its share (or
  // the worker its cap). A claim brings each in when there is room.
  std::atomic<std::uint64_t> spilled{0};
  std::atomic<std::uint64_t> auto_disabled{0};  // webhooks deactivated after failing too long
  histogram attempt_seconds;    // requests sent, from start to outcome (short circuits not)
  histogram delivered_seconds;  // from publish to the 2xx, per succeeded delivery
};

struct dispatcher_options {
  unsigned threads = 0;
  std::size_t max_in_flight = 4096;
  // Upper bound of each origin's adaptive concurrency, per worker.
  std::size_t connections_per_origin = 32;
  // When an unreachable origin's circuit opens, and how it is probed.
  circuit_options circuit;
  retry_policy policy;
  // Retries due within this window are kept on in-memory timers; later ones stay on
  // disk until a refill brings them in. Refills run every window / 4.
  std::chrono::milliseconds window{std::chrono::minutes(5)};
  // Leases on deliveries held in memory; renewed at every refill.
  std::chrono::milliseconds lease{std::chrono::minutes(5)};
  // Deliveries held in memory at most, payloads included, whatever the backlog (split
  // evenly among the workers); each origin holds at most origin_queue::share() of its
  // worker's. The rest waits on disk.
  std::size_t max_held = 65'536;
  // A webhook whose attempts have all failed for this long (since the first failure
  // after its last success) is deactivated through disable_webhook; 0 never.
  std::chrono::milliseconds disable_after{std::chrono::hours(24 * 5)};
  // Cap on a receiver's Retry-After.
  std::chrono::milliseconds max_retry_after{std::chrono::hours(1)};
};

struct dispatcher_maintenance;

class dispatcher {
 public:
  struct dependencies {
    delivery_queue* queue = nullptr;
    // Its change feed tells the dispatcher which webhooks were deleted or deactivated.
    registry* webhooks = nullptr;
    const clock* time_source = nullptr;
    random_source* random = nullptr;
    sender_factory senders;
    // The webhook as it is now: nullptr when deleted, an error when it cannot be
    // read; called on worker threads.
    std::function<result<std::shared_ptr<const webhook_target>>(std::uint64_t)> target;
    // Deactivates a webhook whose receiver answered 410 Gone (worker threads).
    std::function<void(std::uint64_t webhook_id, std::string reason)> disable_webhook;
    // Called after each batch of outcomes is written, for engine::wait_until.
    std::function<void()> progressed;
    // Called with each batch of outcomes once it is written (worker threads), for the
    // delivery observer; empty when there is none.
    std::function<void(std::span<const settlement>)> settled;
  };

  dispatcher(dependencies deps, dispatcher_options options);
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  // Starts the workers; each claims what is due from the queue (recovery after a
  // restart).
  void start();
  // Hands freshly appended deliveries (leased to this process) to their workers;
  // thread-safe.
  void submit(std::vector<delivery_job> jobs);
  // Re-checks timers against the clock and claims from the queue now (after a clock
  // jump, or in tests driving a manual clock). Returns once every worker did, and any
  // attempt that started has begun.
  void wake();
  // Returns once every worker has written the outcomes it handled so far, and the
  // background work queued before (cancellations) is done.
  void sync();
  // Cancels the webhook's pending deliveries (deleted or deactivated webhook).
  void cancel_webhook(std::uint64_t webhook_id);
  // Queues one delivery for an attempt now; `manual` marks an operator's retry.
  // Completes asynchronously; already_exists when it is in flight right now.
  [[nodiscard]] outcome<void> retry_now(const store::delivery_record& record, bool manual);
  // Stops: requests in flight may finish until `drain` has passed, then they are cut;
  // whatever did not complete stays queued on disk. Idempotent.
  void stop(std::chrono::milliseconds drain);

  // Whether an attempt of this delivery is under way right now.
  bool in_flight(std::uint64_t webhook_id, const store::delivery_id& id) const;

  const dispatcher_stats& stats() const noexcept { return stats_; }
  std::uint64_t connections_opened() const;
  std::uint64_t write_failures() const;  // outcome batches the queue refused (retried)
  std::uint64_t stale_retries() const;   // requests re-sent: a pooled connection was closed
  // Asks every worker (on its thread, waiting at most 200 ms each); `top` origins by
  // deliveries held.
  dispatcher_gauges gauges(std::size_t top) const;

 private:
  friend struct dispatcher_impl;
  struct shard;
  shard& shard_of(std::uint64_t webhook_id) const;
  // Runs `fn` on every worker and waits for it (and, with `second_hop`, for what `fn`
  // queued on the worker right away).
  void on_every_worker(const std::function<void(shard&)>& fn, bool second_hop);

  dependencies deps_;
  dispatcher_options options_;
  std::vector<std::unique_ptr<shard>> shards_;
  // Work that reads or writes many records at once (cancelling a webhook's backlog)
  // runs here, off the workers' loops.
  std::unique_ptr<dispatcher_maintenance> maintenance_;
  dispatcher_stats stats_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace hookd::engine
