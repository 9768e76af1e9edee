// Time as an injected dependency (STYLE.md rule 7): production code asks a clock,
// tests hand in a manual one and move it by hand.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "hookd/export.hpp"

namespace hookd::engine {

class HOOKD_API clock {
 public:
  using duration = std::chrono::milliseconds;
  using time_point = std::chrono::time_point<std::chrono::system_clock, duration>;

  virtual ~clock() = default;
  // Wall-clock time, UTC, millisecond resolution.
  virtual time_point now() const = 0;

  std::int64_t now_ms() const { return now().time_since_epoch().count(); }
};

class HOOKD_API system_clock final : public clock {
 public:
  time_point now() const override {
    return std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
  }
};

// A clock that moves only when told to; thread-safe.
class HOOKD_API manual_clock final : public clock {
 public:
  explicit manual_clock(std::int64_t start_ms = 1'700'000'000'000) : ms_(start_ms) {}
  time_point now() const override { return time_point(duration(ms_.load())); }
  void advance(duration d) { ms_ += d.count(); }
  void set_ms(std::int64_t ms) { ms_ = ms; }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace hookd::engine
