// When a failed delivery is tried again: a schedule of delays after each failure
// (Sonar's 10 s, 30 s, 3 min, 30 min by default), with jitter, then give up.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/engine/options.hpp"
#include "hookd/engine/random.hpp"
#include "hookd/errc.hpp"

namespace hookd::engine {

class retry_policy {
 public:
  using duration = std::chrono::milliseconds;

  // `jitter` is the relative spread: 0.1 moves each delay by up to ±10%.
  explicit retry_policy(std::vector<duration> schedule = sonar_retry_schedule(),
                        double jitter = 0.1);

  // The delay before the next attempt after `attempts_made` attempts (1 after the
  // first) all failed; nullopt when the schedule is exhausted.
  std::optional<duration> next_delay(std::uint32_t attempts_made, random_source& random) const;

  const std::vector<duration>& schedule() const noexcept { return schedule_; }
  double jitter() const noexcept { return jitter_; }

 private:
  std::vector<duration> schedule_;
  double jitter_;
};

// A duration as flags and settings write it: a positive integer with a unit, ms, s,
// m, h or d ("500ms", "30d"); at most 3650 days.
[[nodiscard]] explained<std::chrono::milliseconds> parse_duration(std::string_view text);

// Parses "10s,30s,3m,30m" (units as parse_duration; at least one entry, each > 0 and
// at most a year).
[[nodiscard]] explained<std::vector<retry_policy::duration>> parse_retry_schedule(
    std::string_view text);
std::string format_retry_schedule(const std::vector<retry_policy::duration>& schedule);

// A Retry-After header: delta seconds ("120") or an HTTP date ("Wed, 21 Oct 2015
// 07:28:00 GMT"), as the wait from `now_ms`; nullopt when unreadable. Dates in the
// past give zero.
std::optional<retry_policy::duration> parse_retry_after(std::string_view value,
                                                        std::int64_t now_ms);

}  // namespace hookd::engine
