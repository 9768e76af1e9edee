// Every rule of what an attempt's outcome does to its delivery, as one pure function:
// 2xx succeeds; 410 cancels and disables the webhook; anything else fails the attempt
// and schedules the next one from the retry policy (429/503 wait at least their
// Retry-After, capped), or ends the delivery as `failed` when the schedule is spent.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/delivery/retry_policy.hpp"
#include "engine/http/client.hpp"
#include "hookd/engine/random.hpp"
#include "store/delivery_records.hpp"

namespace hookd::engine {

// What else is known about the attempt besides its HTTP outcome.
struct attempt_context {
  std::int64_t started_ms = 0;
  std::int64_t finished_ms = 0;
  bool manual = false;       // asked for by an operator (logged as such)
  bool last_chance = false;  // a repair attempt: a failure ends the delivery as failed
  // The webhook still has the URL the request went to; a 410 from an address it has
  // since left says nothing about the webhook.
  bool same_url = true;
  std::chrono::milliseconds max_retry_after{std::chrono::hours(1)};
};

struct transition {
  store::delivery_record after;               // the delivery's new state
  store::attempt_record attempt;              // the log entry of this attempt
  std::optional<std::string> disable_reason;  // set when the webhook must be disabled (410)
};

// `before` is the delivery as it was when the attempt started (taken by value: the
// hot path moves it in and gets it back as `after`); `policy` the webhook's schedule
// (or the engine's). Draws jitter from `random`; touches nothing else.
[[nodiscard]] transition next_state(store::delivery_record before, const http_outcome& outcome,
                                    const retry_policy& policy, const attempt_context& context,
                                    random_source& random);

// Receivers that are overloaded or unreachable: the origin's concurrency shrinks.
bool signals_overload(const http_outcome& outcome) noexcept;

}  // namespace hookd::engine
