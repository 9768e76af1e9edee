// The additive-increase, multiplicative-decrease limit of one receiver origin.
#include "engine/delivery/origin_queue.hpp"

#include <algorithm>

#include "engine/delivery/next_state.hpp"

namespace hookd::engine {

bool origin_queue::on_outcome(const http_outcome& outcome) {
  if (outcome.error == error_kind::none) {
    limit_ = std::min(max_limit_, limit_ + 1);
    return false;
  }
  if (!signals_overload(outcome) || limit_ <= 1) return false;
  limit_ = std::max<std::size_t>(1, limit_ / 2);
  return true;
}

}  // namespace hookd::engine
