// Internal to the dispatcher: one worker (shard) of it and the logic that runs on the
// worker's thread: admission into origin queues, attempts, operator actions, stop.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include "engine/delivery/dispatcher.hpp"
#include "engine/delivery/lease_table.hpp"
#include "engine/delivery/origin_queue.hpp"
#include "engine/delivery/outcome_batch.hpp"
#include "engine/delivery/scheduler.hpp"

namespace hookd::engine {

struct dispatcher::shard {
  shard(std::size_t index, std::size_t limit)
      : guard(boost::asio::make_work_guard(ioc)), index(index), limit(limit) {}

  boost::asio::io_context ioc{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::thread thread;
  std::size_t index;
  std::unique_ptr<sender> client;
  std::unique_ptr<outcome_batch> outcomes;
  std::unique_ptr<scheduler> timeline;

  std::size_t running = 0;            // attempts under way on this worker
  std::size_t limit;                  // its share of max_in_flight
  std::size_t origins_in_flight = 0;  // origins with at least one attempt under way
  std::unordered_map<std::string, std::unique_ptr<origin_queue>> origins;
  std::deque<origin_queue*> ready;  // origins with work held back by `limit`
  // Every delivery this worker holds (timeline, origin queues, running), all leased,
  // with the origin it counts against (origin_queue::held).
  boost::unordered_flat_map<store::delivery_id, origin_queue*, delivery_id_hash> known;
  std::size_t max_held = 0;              // its share of the dispatcher's max_held
  std::atomic<std::size_t> incoming{0};  // handed over by submit, not taken in yet
  // Webhooks of this worker whose attempts fail without a success since: when the run
  // began, and whether that is stored (after a minute, so a restart keeps the clock).
  struct failing_run {
    std::int64_t since_ms = 0;
    bool stored = false;
  };
  boost::unordered_flat_map<std::uint64_t, failing_run> failing;
  std::vector<store::delivery_id> held_scratch;  // `known` as a list, for lease renewal

  bool stopping = false;
  bool cut = false;  // the drain deadline passed: connections were closed
  std::unique_ptr<boost::asio::steady_timer> drain_timer;

  // Read by the API from other threads.
  mutable std::mutex in_flight_mutex;
  boost::unordered_flat_set<store::delivery_id, delivery_id_hash> in_flight_ids;
};

// The dispatcher's background thread for work on many records at once.
struct dispatcher_maintenance {
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard =
      boost::asio::make_work_guard(ioc);
  std::thread thread;
};

// The workers' logic: static functions over a shard, so coroutines take plain
// pointers by value (CP.53) and every handler runs on the shard's own thread.
struct dispatcher_impl {
  using shard = dispatcher::shard;
  using self = dispatcher*;

  static std::int64_t now_ms(self d) { return d->deps_.time_source->now_ms(); }

  static void settle(self d, shard* s, store::delivery_record after, std::int64_t previous_due,
                     std::optional<store::attempt_record> attempt, std::int64_t hold_until = 0,
                     store::delivery_status previous_status = store::delivery_status::pending);

  static void cancel(self d, shard* s, delivery_job job);

  // Memory: a delivery counts against its origin from when the worker takes it in
  // until it leaves (settled, cancelled, given back).
  static origin_queue* origin_of(self d, shard* s, const webhook_target& target);
  static void remember(shard* s, const store::delivery_id& id, origin_queue* o);
  static void forget(shard* s, const store::delivery_id& id);
  // Whether one more delivery of `o` fits: the worker's cap, and the origin's share.
  static bool has_room(const shard* s, const origin_queue* o, std::size_t extra = 0);
  // Gives a delivery back to the queue without attempting it: still due on disk, a
  // later claim brings it in when there is room (its payload leaves memory now).
  static void spill(self d, shard* s, delivery_job job);
  // A refill's claimed delivery: counted, then held until due.
  static void take_claimed(self d, shard* s, delivery_job job);
  // The admission test of one claim (origin room, counting what the claim took).
  static std::function<bool(std::uint64_t, std::int64_t)> admitter(self d, shard* s);
  // The job's webhook as it is now (nullptr: deleted). When the registry cannot be
  // read, the job is handed back to the queue (its lease released, still due on
  // disk) and this returns nullopt.
  static std::optional<std::shared_ptr<const webhook_target>> target_of(self d, shard* s,
                                                                        const delivery_job& job);
  // The job's webhook when it is active; otherwise the job is settled here (cancelled,
  // or handed back when unreadable) and this returns null.
  static std::shared_ptr<const webhook_target> active_target(self d, shard* s, delivery_job& job);

  // ---- admission: origin queues and in-flight limits ------------------------------

  static void enqueue(self d, shard* s, delivery_job job);

  static bool can_start(const shard* s, const origin_queue* o);

  static void start(self d, shard* s, origin_queue* o, delivery_job job);

  // A slot freed up: start what the origin, then other waiting origins, can take.
  static void pump(self d, shard* s, origin_queue* o);

  // ---- one attempt -----------------------------------------------------------------

  static boost::asio::awaitable<void> attempt(self d, shard* s, origin_queue* o, delivery_job job);

  // The outcome of an attempt (or of one not sent) applied: next state, log, settle,
  // and a retry due within the window kept on the timeline.
  static void conclude(self d, shard* s, delivery_job job, const webhook_target& target,
                       const http_outcome& outcome, std::int64_t started_ms,
                       const std::string& uuid);
  // Fails a due delivery of an origin whose circuit is open, without a request.
  static void short_circuit(self d, shard* s, origin_queue* o, delivery_job job);

  static void count(self d, store::delivery_status after, const http_outcome& outcome);
  // Auto-disable's clock: a success ends a webhook's run of failures; a run older than
  // disable_after deactivates the webhook.
  static void track_health(self d, shard* s, std::uint64_t webhook_id, bool ok, std::int64_t now);
  static void forget_health(self d, shard* s, std::uint64_t webhook_id);

  // ---- operator actions ------------------------------------------------------------

  static void cancel_webhook(self d, shard* s, std::uint64_t webhook_id);
  // The part of a cancel that reads and writes the webhook's backlog on disk; runs on
  // the maintenance thread.
  static void cancel_backlog(self d, std::uint64_t webhook_id);

  static void retry_now(self d, shard* s, store::delivery_id id, bool manual);

  // ---- stopping ----------------------------------------------------------------------

  static void finish(self d, shard* s);

  static void begin_stop(self d, shard* s, std::chrono::milliseconds drain);
};

}  // namespace hookd::engine
