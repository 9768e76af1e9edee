// One receiver origin's waiting deliveries, its adaptive concurrency limit and its
// circuit. The limit is halved when the receiver signals overload or is unreachable
// and grows by one per success (AIMD), so a struggling receiver is not hammered. After
// repeated timeouts or refused connections the circuit opens: due deliveries are then
// failed at once as origin_unavailable (they keep their schedule instead of waiting
// 15 s each for a dead peer) until a probe attempt, one at a time after a cool-down,
// gets any answer from the origin and closes it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

#include "engine/delivery/delivery_job.hpp"
#include "hookd/engine/options.hpp"

namespace hookd::engine {

struct http_outcome;

class origin_queue {
 public:
  explicit origin_queue(std::size_t max_limit, circuit_options circuit = {})
      : max_limit_(max_limit),
        limit_(max_limit),
        circuit_(circuit),
        cool_down_(circuit.cool_down) {}

  std::deque<delivery_job> waiting;
  std::size_t in_flight = 0;
  bool listed = false;  // on the worker's list of origins waiting for a free slot
  // Deliveries of this origin the worker holds in memory (waiting, running, timeline).
  std::size_t held = 0;

  // How many it may hold: what it can use in the next seconds, by its answer rate
  // (k_horizon_s of answers) or its concurrency limit (k_held_per_slot per allowed
  // connection), at least k_min_held. A receiver that slows down or dies sees its
  // limit halved and its rate fall, and with them its share of memory; the rest of its
  // backlog waits on disk.
  static constexpr std::size_t k_held_per_slot = 256;
  static constexpr std::size_t k_min_held = 64;
  static constexpr double k_horizon_s = 2.0;
  std::size_t share() const noexcept;

  std::size_t limit() const noexcept { return limit_; }
  bool has_room() const noexcept { return in_flight < limit_; }

  // Whether a due delivery may be sent now. False while the circuit is open; once the
  // cool-down has passed it admits one delivery as the probe, then none until the
  // probe's outcome is known.
  bool admits(std::int64_t now_ms, const store::delivery_id& id);
  // The admitted probe will not be sent after all (cancelled, or its attempt crashed):
  // the next due delivery may probe instead.
  void abandon_probe(const store::delivery_id& id);
  bool circuit_open() const noexcept { return open_; }
  bool probing() const noexcept { return probing_; }
  std::int64_t next_probe_ms() const noexcept { return open_until_ms_; }
  std::size_t consecutive_failures() const noexcept { return failures_; }

  struct effect {
    bool backed_off = false;  // the limit was halved
    bool opened = false;      // the circuit opened (waiting deliveries are no longer sent)
  };
  // Adjusts the limit and the circuit after an attempt that ended at `now_ms`.
  effect on_outcome(const http_outcome& outcome, std::int64_t now_ms);

 private:
  void open(std::int64_t now_ms);
  void count_answer(std::int64_t now_ms);

  std::size_t max_limit_;
  std::size_t limit_;
  circuit_options circuit_;
  std::chrono::milliseconds cool_down_;
  std::size_t failures_ = 0;  // consecutive attempts that could not reach the origin
  bool open_ = false;
  bool probing_ = false;  // a probe was admitted and has not answered yet
  store::delivery_id probe_{};
  std::int64_t open_until_ms_ = 0;
  // Answers (any response, success or not) per second, smoothed.
  double rate_ = 0;
  std::size_t answers_ = 0;
  std::int64_t window_start_ms_ = 0;
};

}  // namespace hookd::engine
