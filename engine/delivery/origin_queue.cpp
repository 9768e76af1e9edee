// The additive-increase, multiplicative-decrease limit and the circuit of one origin.
#include "engine/delivery/origin_queue.hpp"

#include <algorithm>

#include "engine/delivery/next_state.hpp"

namespace hookd::engine {
namespace {

// The origin could not be reached at all: nothing answered.
bool unreachable(const http_outcome& o) {
  return o.error == error_kind::timeout || o.error == error_kind::connect ||
         o.error == error_kind::dns;
}

}  // namespace

bool origin_queue::admits(std::int64_t now_ms, const store::delivery_id& id) {
  if (!open_) return true;
  if (probing_ || now_ms < open_until_ms_) return false;
  probing_ = true;
  probe_ = id;
  return true;
}

void origin_queue::abandon_probe(const store::delivery_id& id) {
  if (probing_ && probe_ == id) probing_ = false;
}

void origin_queue::open(std::int64_t now_ms) {
  open_ = true;
  open_until_ms_ = now_ms + cool_down_.count();
}

void origin_queue::count_answer(std::int64_t now_ms) {
  ++answers_;
  if (window_start_ms_ == 0) window_start_ms_ = now_ms;
  const std::int64_t elapsed = now_ms - window_start_ms_;
  if (elapsed < 250) return;
  // Answers per second over quarter-second windows, smoothed: a fast receiver's share
  // grows within its first second of a backlog.
  const double rate = static_cast<double>(answers_) * 1'000.0 / static_cast<double>(elapsed);
  rate_ = rate_ == 0 ? rate : (rate_ + rate) / 2;
  answers_ = 0;
  window_start_ms_ = now_ms;
}

std::size_t origin_queue::share() const noexcept {
  if (open_) return k_min_held;
  const auto by_rate = static_cast<std::size_t>(rate_ * k_horizon_s);
  return std::max({k_min_held, limit_ * k_held_per_slot, by_rate});
}

origin_queue::effect origin_queue::on_outcome(const http_outcome& outcome, std::int64_t now_ms) {
  effect e;
  if (!unreachable(outcome)) count_answer(now_ms);
  if (outcome.error == error_kind::none) {
    limit_ = std::min(max_limit_, limit_ + 1);
  } else if (signals_overload(outcome) && limit_ > 1) {
    limit_ = std::max<std::size_t>(1, limit_ / 2);
    e.backed_off = true;
  }
  if (!unreachable(outcome)) {
    // Any answer, even an error status, shows the origin is there.
    failures_ = 0;
    open_ = false;
    probing_ = false;
    cool_down_ = circuit_.cool_down;
    return e;
  }
  ++failures_;
  if (probing_) {
    // The probe found it still dead: wait longer before the next one.
    probing_ = false;
    cool_down_ = std::min(cool_down_ * 2, circuit_.max_cool_down);
    open(now_ms);
    return e;
  }
  if (!open_ && circuit_.failures_to_open != 0 && failures_ >= circuit_.failures_to_open) {
    open(now_ms);
    e.opened = true;
  }
  return e;
}

}  // namespace hookd::engine
