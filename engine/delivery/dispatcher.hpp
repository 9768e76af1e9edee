// The dispatcher: worker threads, each running one io_context with its own HTTP
// client, so a webhook's deliveries (sharded by webhook id) stay on one thread and
// per-webhook state needs no locks. Each worker keeps
//   - per-origin queues with an adaptive concurrency limit (back-pressure: failures
//     and 429/502/503/504 halve it, successes grow it back), so a struggling
//     receiver is not hammered and never holds up another origin;
//   - a near window of timed retries in memory, refilled from the durable `due`
//     queue in RocksDB, so a million pending retries cost disk, not memory;
//   - a batch of outcomes written to RocksDB once per burst.
// Internal to engine/.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/clock.hpp"
#include "engine/failure.hpp"
#include "engine/http/client.hpp"
#include "engine/random.hpp"
#include "engine/delivery/retry_policy.hpp"
#include "engine/registry/subscription_snapshot.hpp"
#include "store/delivery_queue.hpp"

namespace hookd::engine {

// An event as the dispatcher needs it; shared by all of its deliveries.
struct event_data {
  std::string account;
  std::string id;
  std::string type;
  std::string payload;
  std::string query;  // the payload as a Rack query string (for GET/DELETE webhooks)
};

struct delivery_job {
  store::delivery_record record;  // as stored: its due entry is at record.next_attempt_at_ms
  std::shared_ptr<const event_data> event;
  bool manual = false;       // an attempt asked for by an operator
  bool last_chance = false;  // one attempt only: a failure ends as `failed` (repair of a
                             // delivery that had already failed or been cancelled)
};

struct dispatcher_stats {
  std::atomic<std::uint64_t> attempts{0};
  std::atomic<std::uint64_t> succeeded{0};
  std::atomic<std::uint64_t> failed_attempts{0};
  std::atomic<std::uint64_t> failed_deliveries{0};
  std::atomic<std::uint64_t> cancelled{0};
  std::atomic<std::uint64_t> write_batches{0};
  std::atomic<std::uint64_t> backoff_events{0};  // times an origin's concurrency was halved
  std::atomic<std::uint64_t> write_failures{0};  // outcome batches RocksDB refused (retried)
};

struct dispatcher_options {
  unsigned threads = 0;
  std::size_t max_in_flight = 4096;
  http_client_options http;
  retry_policy policy;
  // Retries due within this window are kept on in-memory timers; later ones stay on
  // disk until a refill brings them in. Refills run every window / 4.
  std::chrono::milliseconds window{std::chrono::minutes(5)};
  // Cap on a receiver's Retry-After.
  std::chrono::milliseconds max_retry_after{std::chrono::hours(1)};
};

class dispatcher {
 public:
  struct dependencies {
    store::delivery_queue* queue = nullptr;
    const clock* time_source = nullptr;
    random_source* random = nullptr;
    // The current subscription snapshot; called on worker threads.
    std::function<std::shared_ptr<const subscription_snapshot>()> snapshot;
    // Deactivates a webhook whose receiver answered 410 Gone (worker threads).
    std::function<void(std::uint64_t webhook_id, std::string reason)> disable_webhook;
    // Called after each batch of outcomes is written, for engine::wait_until.
    std::function<void()> progressed;
  };

  dispatcher(dependencies deps, dispatcher_options options);
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  // Starts the workers; each loads what is due from disk (recovery after a restart).
  void start();
  // Hands freshly published deliveries to their workers; thread-safe.
  void submit(std::vector<delivery_job> jobs);
  // Re-checks timers against the clock and refills from disk now (after a clock jump,
  // or in tests driving a manual clock).
  void wake();
  // Returns once every worker has written the outcomes it handled so far.
  void sync();
  // Cancels the webhook's pending deliveries (deleted or deactivated webhook).
  void cancel_webhook(std::uint64_t webhook_id);
  // Queues one delivery for an attempt now; `manual` marks an operator's retry.
  // Completes asynchronously; returns false when the delivery is already in flight.
  [[nodiscard]] outcome<void> retry_now(const store::delivery_record& record, bool manual);
  // See engine::stop.
  void stop(std::chrono::milliseconds drain);

  // Whether an attempt of this delivery is under way right now.
  bool in_flight(std::uint64_t webhook_id, const store::delivery_id& id) const;

  // This process's boot id: publish stamps it on due entries of deliveries it hands
  // over with submit(), so refills never load those a second time.
  std::uint64_t boot_id() const noexcept { return boot_id_; }

  const dispatcher_stats& stats() const noexcept { return stats_; }
  std::uint64_t connections_opened() const;

 private:
  friend struct dispatcher_impl;
  struct shard;
  shard& shard_of(std::uint64_t webhook_id) const;

  dependencies deps_;
  dispatcher_options options_;
  std::vector<std::unique_ptr<shard>> shards_;
  dispatcher_stats stats_;
  std::uint64_t boot_id_ = 0;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace hookd::engine
