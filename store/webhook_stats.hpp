// Per-webhook delivery statistics in hourly buckets (the portal's charts and
// GET /api/v1/webhooks/{id}/stats): how many attempts were made, succeeded and failed,
// how many deliveries were given up, and their total duration. Outcome batches add to
// them in the same write as the outcomes (RocksDB merges, so a batch costs one merge per
// webhook and hour, not a read); buckets older than the retention are dropped by
// compaction.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/errc.hpp"

namespace hookd::store {

class database;

inline constexpr std::int64_t k_stats_bucket_ms = 3'600'000;  // one hour

// The start of the bucket of `step` ms holding `ms` (floor, also before 1970).
constexpr std::int64_t stats_bucket_of(std::int64_t ms, std::int64_t step = k_stats_bucket_ms) {
  const std::int64_t r = ms % step;
  return r < 0 ? ms - r - step : ms - r;
}

struct stats_counts {
  std::uint64_t attempts = 0;
  std::uint64_t succeeded = 0;        // attempts answered 2xx (each ends its delivery)
  std::uint64_t failed_attempts = 0;  // attempts that did not
  // Deliveries given up after the last attempt of their schedule (a manual retry that
  // fails again is not counted twice).
  std::uint64_t failed_deliveries = 0;
  std::uint64_t duration_ms = 0;  // summed over the attempts

  stats_counts& operator+=(const stats_counts& o) noexcept {
    attempts += o.attempts;
    succeeded += o.succeeded;
    failed_attempts += o.failed_attempts;
    failed_deliveries += o.failed_deliveries;
    duration_ms += o.duration_ms;
    return *this;
  }
  friend bool operator==(const stats_counts&, const stats_counts&) = default;
};

struct stats_bucket {
  std::int64_t start_ms = 0;  // a multiple of k_stats_bucket_ms
  stats_counts counts;
};

// The stored form: five little-endian u64 in the order above. Merging adds them field
// by field; a value with more fields (a later version) keeps its extra ones.
std::string encode_stats(const stats_counts& c);
stats_counts decode_stats(std::string_view bytes);
// be64(webhook) be64(bucket start ms)
std::string stats_key(std::uint64_t webhook_id, std::int64_t bucket_start_ms);

// The webhook's buckets with start in [from_ms, to_ms), oldest first; empty hours are
// absent.
[[nodiscard]] result<std::vector<stats_bucket>> read_webhook_stats(const database& db,
                                                                   std::uint64_t webhook_id,
                                                                   std::int64_t from_ms,
                                                                   std::int64_t to_ms);

}  // namespace hookd::store
