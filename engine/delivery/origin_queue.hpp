// One receiver origin's waiting deliveries and its adaptive concurrency limit: halved
// when the receiver signals overload or is unreachable, grown by one per success,
// between 1 and the configured maximum (AIMD), so a struggling receiver is not
// hammered and never holds up another origin.
#pragma once

#include <cstddef>
#include <deque>

#include "engine/delivery/delivery_job.hpp"

namespace hookd::engine {

struct http_outcome;

class origin_queue {
 public:
  explicit origin_queue(std::size_t max_limit) : max_limit_(max_limit), limit_(max_limit) {}

  std::deque<delivery_job> waiting;
  std::size_t in_flight = 0;
  bool listed = false;  // on the worker's list of origins waiting for a free slot

  std::size_t limit() const noexcept { return limit_; }
  bool has_room() const noexcept { return in_flight < limit_; }

  // Adjusts the limit after an attempt; returns true when it backed off (halved).
  bool on_outcome(const http_outcome& outcome);

 private:
  std::size_t max_limit_;
  std::size_t limit_;
};

}  // namespace hookd::engine
