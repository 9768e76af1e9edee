// The ranges of engine_options that engine::open checks (hookd serve checks its flags
// first, in its own words).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/engine_impl.hpp"

namespace hookd::engine {

// The first option out of its range, named as the field a host sets; hookd serve
// checks its flags with their own words before.
std::optional<std::string> options_problem(const engine_options& o) {
  using std::chrono::milliseconds;
  const auto positive = [](milliseconds d) { return d.count() > 0; };
  if (o.data_dir.empty()) return "data_dir is empty";
  if (!positive(o.http.connect_timeout)) return "http.connect_timeout must be above 0";
  if (!positive(o.http.attempt_timeout)) return "http.attempt_timeout must be above 0";
  if (o.http.connections_per_origin == 0) return "http.connections_per_origin must be at least 1";
  if (!positive(o.http.idle_timeout)) return "http.idle_timeout must be above 0";
  if (o.http.dns_ttl.count() < 0) return "http.dns_ttl must not be negative";
  if (o.http.max_response_body == 0) return "http.max_response_body must be at least 1";
  if (!positive(o.origin_circuit.cool_down) ||
      o.origin_circuit.max_cool_down < o.origin_circuit.cool_down) {
    return "origin_circuit.cool_down must be above 0 and at most max_cool_down";
  }
  if (o.threads > 256) return "threads must be at most 256 (0: one per core)";
  if (o.publish_threads > 64) return "publish_threads must be at most 64 (0: 2)";
  if (o.max_in_flight == 0) return "max_in_flight must be at least 1";
  if (o.max_held == 0) return "max_held must be at least 1";
  for (const auto d : o.retry_schedule) {
    if (!positive(d)) return "retry_schedule has a delay that is not above 0";
  }
  if (!(o.retry_jitter >= 0 && o.retry_jitter <= 1)) return "retry_jitter must be from 0 to 1";
  if (o.max_retry_after.count() < 0 || o.max_retry_after > std::chrono::hours(24 * 7)) {
    return "max_retry_after must be from 0 to 7 days";
  }
  if (!positive(o.scheduler_window)) return "scheduler_window must be above 0";
  if (o.disable_after.count() < 0) return "disable_after must not be negative (0 never disables)";
  if (!positive(o.retention)) return "retention must be above 0";
  // RocksDB takes log space in blocks of about 18 MiB at once: a smaller margin could
  // be crossed between two checks.
  if (o.min_free_space != 0 && o.min_free_space < (std::uint64_t{32} << 20)) {
    return "min_free_space must be 0 (no watch) or at least 32 MiB";
  }
  if (o.observer_queue == 0) return "observer_queue must be at least 1";
  if (o.publish_queue == 0) return "publish_queue must be at least 1";
  return std::nullopt;
}

}  // namespace hookd::engine
