// The retry rules of DESIGN.md's delivery contract, applied to one attempt's outcome.
#include "engine/delivery/next_state.hpp"

#include <algorithm>

#include "engine/encoding.hpp"

namespace hookd::engine {

using store::delivery_status;

bool signals_overload(const http_outcome& o) noexcept {
  return o.error == error_kind::timeout || o.error == error_kind::connect || o.status == 429 ||
         o.status == 502 || o.status == 503 || o.status == 504;
}

transition next_state(store::delivery_record before, const http_outcome& outcome,
                      const retry_policy& policy, const attempt_context& context,
                      random_source& random) {
  const std::uint32_t number = before.attempts + 1;
  transition t{std::move(before), {}, std::nullopt};
  store::attempt_record& a = t.attempt;
  a.number = number;
  a.at_ms = context.started_ms;
  a.duration_ms = static_cast<std::uint32_t>(outcome.duration.count());
  a.status_code = outcome.status;
  a.manual = context.manual;
  a.response_excerpt = outcome.body_excerpt;

  store::delivery_record& after = t.after;
  after.attempts = a.number;
  after.updated_at_ms = context.finished_ms;
  after.next_attempt_at_ms = 0;
  if (outcome.error == error_kind::none) {
    after.status = delivery_status::succeeded;
    return t;
  }
  a.error_kind = std::string(to_string(outcome.error));
  a.error = outcome.message;
  if (outcome.status == 410 && context.same_url) {
    // Gone: the receiver asks us to stop. The webhook is disabled and its other
    // pending deliveries are cancelled with it.
    after.status = delivery_status::cancelled;
    t.disable_reason = "the receiver answered 410 Gone at " + format_rfc3339(context.finished_ms);
    return t;
  }
  std::optional<retry_policy::duration> delay;
  if (!context.last_chance) delay = policy.next_delay(a.number, random);
  if (delay && (outcome.status == 429 || outcome.status == 503) && !outcome.retry_after.empty()) {
    if (auto asked = parse_retry_after(outcome.retry_after, context.finished_ms)) {
      delay = std::max(*delay, std::min(*asked, context.max_retry_after));
    }
  }
  if (!delay) {
    after.status = delivery_status::failed;
    return t;
  }
  after.status = delivery_status::pending;
  after.next_attempt_at_ms = context.finished_ms + delay->count();
  return t;
}

}  // namespace hookd::engine
