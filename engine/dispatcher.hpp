// The dispatcher: worker threads, each running one io_context with its own HTTP
// client, so a webhook's deliveries (sharded by webhook id) stay on one thread and
// per-webhook state needs no locks. Outcomes are written to RocksDB in batches.
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
#include "engine/http_client.hpp"
#include "engine/random.hpp"
#include "engine/retry_policy.hpp"
#include "engine/subscription_snapshot.hpp"
#include "store/delivery_queue.hpp"

namespace hookd::engine {

// An event as the dispatcher needs it; shared by all of its deliveries.
struct event_data {
  std::string account;
  std::string id;
  std::string type;
  std::string payload;
  std::string query;  // the payload as a Rack query string, when a GET/DELETE webhook matched
};

struct delivery_job {
  store::delivery_record record;  // as stored: its due entry is at record.next_attempt_at_ms
  std::shared_ptr<const event_data> event;
  bool manual = false;  // a retry asked for by an operator
};

struct dispatcher_stats {
  std::atomic<std::uint64_t> attempts{0};
  std::atomic<std::uint64_t> succeeded{0};
  std::atomic<std::uint64_t> failed_attempts{0};
  std::atomic<std::uint64_t> write_batches{0};
};

class dispatcher {
 public:
  struct dependencies {
    store::delivery_queue* queue = nullptr;
    const clock* time_source = nullptr;
    random_source* random = nullptr;
    // The current subscription snapshot; called on worker threads.
    std::function<std::shared_ptr<const subscription_snapshot>()> snapshot;
  };

  dispatcher(dependencies deps, unsigned threads, std::size_t max_in_flight,
             http_client_options http, retry_policy policy);
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  void start();
  // Hands deliveries to their workers; thread-safe. Jobs due later wait on a timer.
  void submit(std::vector<delivery_job> jobs);
  // See engine::stop.
  void stop(std::chrono::milliseconds drain);

  // Whether an attempt of this delivery is under way right now.
  bool in_flight(std::uint64_t webhook_id, const store::delivery_id& id) const;

  const dispatcher_stats& stats() const noexcept { return stats_; }
  std::uint64_t connections_opened() const;

 private:
  friend struct dispatcher_impl;
  struct shard;
  shard& shard_of(std::uint64_t webhook_id) const;

  dependencies deps_;
  retry_policy policy_;
  std::vector<std::unique_ptr<shard>> shards_;
  dispatcher_stats stats_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace hookd::engine
