// hookd's public C++ API for embedding: open an engine on a data directory, start it,
// publish events from any thread; every matching webhook receives each event, signed,
// and every attempt is logged. Stop drains requests in flight up to a deadline and
// leaves everything else queued on disk for the next start.
//
//   hookd::engine::engine_options options;
//   options.data_dir = "var/hookd";
//   auto engine = hookd::engine::engine::open(std::move(options)).value();
//   engine->start();
//   auto published = engine->publish("acme", "customer_created", R"({"id": 42})");
//   engine->stop();
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/engine/failure.hpp"
#include "hookd/engine/logging.hpp"
#include "hookd/engine/metrics.hpp"
#include "hookd/engine/observer.hpp"
#include "hookd/engine/options.hpp"
#include "hookd/engine/webhook_service.hpp"
#include "hookd/export.hpp"

namespace hookd::engine {

// What engine::publish_async and async_publish (hookd/engine/async.hpp) take: the
// arguments of engine::publish, owned.
struct publish_request {
  std::string account;
  std::string type;
  std::string payload;  // the event's JSON object
  std::optional<std::string> event_id = {};
};

struct publish_result {
  std::string event_id;
  std::string type;
  std::uint64_t deliveries = 0;
  bool duplicate = false;  // the event id was seen before; nothing new was created
};

struct attempt_view {
  std::uint32_t number = 0;
  std::int64_t at_ms = 0;
  std::uint32_t duration_ms = 0;
  std::optional<unsigned> status_code;  // nullopt when no response came
  std::string error_kind;               // empty on success
  std::string error;
  std::string response_excerpt;
  bool manual = false;
};

struct delivery_view {
  std::string uuid;
  std::uint64_t webhook_id = 0;
  std::string event_id;
  std::string event_type;
  std::string status;  // pending, in_flight, succeeded, failed, cancelled
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::uint32_t attempt_count = 0;
  std::optional<std::int64_t> next_attempt_at_ms;  // while pending
  std::vector<attempt_view> attempts;              // filled by delivery(), not by lists
  // The JSON body a POST, PUT or PATCH webhook receives ({"uuid", "action", ...the
  // event's payload}), byte for byte; filled by delivery(), not by lists. Empty when
  // the event is gone (removed by retention).
  std::string payload;
};

// The order of a list of deliveries, by creation.
enum class delivery_order : std::uint8_t { oldest_first, newest_first };

struct delivery_list {
  std::vector<delivery_view> deliveries;
  std::optional<std::string> next_after;  // uuid to pass as `after`
};

// A webhook's attempts in one time bucket (engine::webhook_stats).
struct stats_bucket_view {
  std::int64_t start_ms = 0;
  std::uint64_t attempts = 0;
  std::uint64_t succeeded = 0;          // attempts answered 2xx
  std::uint64_t failed_attempts = 0;    // attempts that were not
  std::uint64_t failed_deliveries = 0;  // deliveries given up after their schedule's last attempt
  std::uint64_t duration_ms = 0;        // the attempts' durations, summed
};

struct webhook_stats_view {
  std::uint64_t webhook_id = 0;
  std::int64_t from_ms = 0;  // the first bucket's start
  std::int64_t to_ms = 0;    // the last bucket's end (after now)
  std::chrono::milliseconds bucket{0};
  std::vector<stats_bucket_view> buckets;  // every bucket of the window, oldest first
  stats_bucket_view totals;                // start_ms = from_ms
};

struct engine_stats {
  std::uint64_t published_events = 0;
  std::uint64_t deliveries_created = 0;
  std::uint64_t attempts = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed_attempts = 0;
  std::uint64_t failed_deliveries = 0;  // gave up: schedule exhausted
  std::uint64_t cancelled = 0;
  std::uint64_t backoff_events = 0;   // an origin's concurrency was halved
  std::uint64_t short_circuited = 0;  // attempts failed as origin_unavailable, not sent
  std::uint64_t spilled = 0;          // fresh deliveries left on disk: their origin held its share
  std::uint64_t auto_disabled = 0;    // webhooks deactivated after failing for disable_after
  std::uint64_t connections_opened = 0;
  std::uint64_t expired_deliveries = 0;  // removed by retention
  std::uint64_t expired_events = 0;
  // The disk watch: "ok", "low" (new work refused) or "critical" (progress waits too).
  std::string storage_state = "ok";
  std::uint64_t storage_free_bytes = 0;  // as last estimated
  // Notices a full observer queue dropped (engine_options::observer_queue).
  std::uint64_t observer_dropped = 0;
};

// Everything /metrics shows: the counters, what the workers hold now, latency
// histograms and storage. Heavier than stats(): it asks every worker.
struct engine_metrics {
  engine_stats counters;
  std::uint64_t outcome_write_failures = 0;  // outcome batches RocksDB refused (retried)
  std::uint64_t stale_retries = 0;           // requests re-sent: a pooled connection had closed
  std::uint64_t crashed_attempts = 0;        // attempts that threw (a bug); released, not lost
  dispatcher_gauges workers;
  histogram::snapshot attempt_seconds;
  histogram::snapshot delivered_seconds;  // publish to 2xx
  histogram::snapshot publish_seconds;    // engine::publish, start to durable
  std::uint64_t due_estimate = 0;         // deliveries due on disk (RocksDB's key estimate)
  std::uint64_t sst_bytes = 0;            // table files
  std::uint64_t memtable_bytes = 0;
  std::uint64_t pending_compaction_bytes = 0;
  std::uint64_t min_free_bytes = 0;  // --min-free-space
  // Webhooks by state: active, deactivated by their owner, disabled by hookd.
  std::uint64_t webhooks_active = 0;
  std::uint64_t webhooks_inactive = 0;
  std::uint64_t webhooks_disabled = 0;
};

// What one pass of retention removed.
struct retention_report {
  std::size_t deliveries = 0;  // finished deliveries, with their attempts
  std::size_t events = 0;      // events none of whose deliveries is unfinished
  std::size_t kept = 0;        // unfinished deliveries older than the retention, kept
};

class HOOKD_API engine {
 public:
  [[nodiscard]] static explained<std::unique_ptr<engine>> open(engine_options options);
  ~engine();  // stops (with a short drain) if still running
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Starts the dispatcher threads and queues what was pending at the last stop or
  // crash. Call once.
  void start();

  // Publishes an event; thread-safe. Durable when it returns: the event, its
  // deliveries and their due entries are in one RocksDB write. With an `event_id`
  // seen before for the account, returns the first answer (duplicate = true).
  // Errors: invalid_argument (unknown type, payload not an object, over 256 KiB,
  // reserved key uuid/action, bad event id, a key twice in one object), storage_full
  // (less than min_free_space free: retry once space is freed), shutting_down, storage
  // errors. The payload is kept as written, minified: numbers are never converted.
  [[nodiscard]] outcome<publish_result> publish(std::string_view account, std::string_view type,
                                                std::string_view payload_json,
                                                std::optional<std::string_view> event_id = {});

  // publish without blocking the caller: the request is queued for the engine's
  // publish threads (engine_options::publish_threads), which run publish and call
  // `done` with its answer there. `done` is called exactly once: with
  // errc::storage_busy at once when engine_options::publish_queue requests already
  // wait, and with errc::shutting_down for requests still queued when stop() begins.
  // It must not block for long (it holds a publish thread). Hosts on Asio use
  // async_publish (hookd/engine/async.hpp), which takes any completion token.
  using publish_callback = std::function<void(outcome<publish_result>)>;
  void publish_async(publish_request request, publish_callback done);

  // Stops dispatching: requests in flight may finish until `drain` has passed, then
  // they are cut; whatever did not complete stays queued on disk. Idempotent.
  void stop(std::chrono::milliseconds drain = std::chrono::seconds(10));

  // The webhook registry of this engine; changes are seen by the next publish.
  webhook_service& webhooks();
  // Unix milliseconds by the engine's clock (time_source when one was given).
  std::int64_t now_ms() const;

  // One delivery with its attempts; another account's delivery is not_found.
  [[nodiscard]] outcome<delivery_view> delivery(std::string_view account,
                                                std::string_view uuid) const;
  // A webhook's deliveries, oldest first, optionally with one status.
  [[nodiscard]] outcome<delivery_list> deliveries(std::string_view account,
                                                  std::uint64_t webhook_id,
                                                  std::optional<std::string_view> status,
                                                  std::optional<std::string_view> after,
                                                  std::size_t limit) const;
  // The same in either order of creation; `after` is the previous page's last in that
  // order.
  [[nodiscard]] outcome<delivery_list> deliveries(std::string_view account,
                                                  std::uint64_t webhook_id,
                                                  std::optional<std::string_view> status,
                                                  std::optional<std::string_view> after,
                                                  std::size_t limit, delivery_order order) const;

  // The webhook's attempts over the last `window` (whole hours from 1 h to 48 h, or
  // whole days up to 30), in buckets of an hour or a UTC day, empty ones included, the
  // current bucket last. Attempts short-circuited by an open circuit count as failed
  // attempts, as the delivery log shows them.
  // Kept as long as the deliveries (retention). Another account's webhook is
  // not_found; a window out of range is invalid_argument on "window".
  [[nodiscard]] outcome<webhook_stats_view> webhook_stats(std::string_view account,
                                                          std::uint64_t webhook_id,
                                                          std::chrono::milliseconds window) const;
  static constexpr std::chrono::milliseconds k_max_stats_window = std::chrono::hours(24 * 30);

  // Delivers one delivery again now, as a manual attempt (any status but in flight).
  [[nodiscard]] outcome<delivery_view> retry(std::string_view account, std::string_view uuid);
  // Re-queues the webhook's failed deliveries created at or after `since_ms`, at most
  // k_max_recover of them; returns how many.
  [[nodiscard]] outcome<std::size_t> recover(std::string_view account, std::uint64_t webhook_id,
                                             std::int64_t since_ms);
  static constexpr std::size_t k_max_recover = 10'000;

  // Runs retention now (it also runs on its own every retention / 24): removes what
  // finished more than options.retention ago by the engine's clock.
  [[nodiscard]] outcome<retention_report> remove_expired();

  // Re-checks retry timers against the clock and claims due work from disk now; returns
  // once every worker has done so and any attempt that started has begun (counted in
  // stats().attempts). Needed only when the injected clock jumps (tests); the engine's
  // own timers do the rest.
  void wake();

  // Blocks until `done(stats())` holds or `timeout` passes; re-checked after every
  // attempt. When it held, the outcomes counted are also written, so delivery() and
  // deliveries() show them. For tests and tools that need a quiet point.
  bool wait_until(const std::function<bool(const engine_stats&)>& done,
                  std::chrono::milliseconds timeout);

  engine_stats stats() const;
  // For /metrics: counters, worker gauges (top `top_origins` origins), histograms,
  // storage sizes. Thread-safe; takes up to 200 ms per worker.
  engine_metrics metrics(std::size_t top_origins = 10) const;

 private:
  struct impl;
  // hookd's own HTTP API publishes through it (engine/engine_internals.hpp).
  friend struct engine_internals;
  explicit engine(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace hookd::engine
