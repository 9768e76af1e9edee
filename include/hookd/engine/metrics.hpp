// What /metrics reads besides counters: a Prometheus-style histogram of durations
// (fixed bucket bounds in seconds, relaxed atomic counts so any thread observes without
// a lock, a snapshot for rendering) and the gauges of what the workers hold.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace hookd::engine {

class histogram {
 public:
  // Upper bounds, seconds: 1 ms to 5 min, roughly ×2.5 apart.
  static constexpr std::array<double, 16> k_bounds = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

  void observe(double seconds) noexcept {
    std::size_t i = 0;
    while (i < k_bounds.size() && seconds > k_bounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);  // the last one is +Inf
    const double micros = seconds > 0 ? seconds * 1e6 : 0;
    sum_micros_.fetch_add(static_cast<std::uint64_t>(micros), std::memory_order_relaxed);
  }

  struct snapshot {
    std::array<std::uint64_t, k_bounds.size() + 1> cumulative{};  // last: +Inf = count
    double sum_seconds = 0;
    std::uint64_t count() const noexcept { return cumulative.back(); }
  };

  snapshot read() const noexcept {
    snapshot s;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      running += buckets_[i].load(std::memory_order_relaxed);
      s.cumulative[i] = running;
    }
    s.sum_seconds = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
    return s;
  }

 private:
  std::array<std::atomic<std::uint64_t>, k_bounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_micros_{0};
};

// What the workers hold right now, read on their own threads.
struct origin_gauge {
  std::string origin;
  std::size_t limit = 0;  // adaptive concurrency, summed over workers
  std::size_t in_flight = 0;
  std::size_t held = 0;
  bool circuit_open = false;  // on any worker
};

struct dispatcher_gauges {
  std::size_t in_flight = 0;  // attempts under way
  std::size_t held = 0;       // deliveries held in memory (timers, origin queues, running)
  std::size_t origins = 0;    // receiver origins known to the workers
  std::size_t open_circuits = 0;
  std::vector<origin_gauge> top_origins;  // the most held first
  bool complete = true;  // false when a worker did not answer in time (stopped or busy)
};

}  // namespace hookd::engine
