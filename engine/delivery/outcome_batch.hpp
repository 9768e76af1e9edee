// A worker's settlements, gathered and written in one batch per burst: outcomes that
// complete together share one write. A batch the queue refused is kept whole and
// written again with backoff, since memory has already moved on (dropping it would
// strand deliveries or deliver them twice).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/delivery/delivery_queue.hpp"
#include "hookd/engine/clock.hpp"

namespace hookd::engine {

class outcome_batch {
 public:
  // `written` runs after each batch is written, with its settlements (the observer's
  // notices and engine::wait_until's wake-up).
  using written_fn = std::function<void(std::span<const settlement>)>;
  outcome_batch(boost::asio::io_context& ioc, delivery_queue& queue, const clock& time,
                written_fn written);

  // Adds one settlement; it is written after the handlers already queued have run,
  // or at once when the batch is full.
  void add(settlement s);
  // Writes what was gathered; false when the queue refused it (a retry is armed).
  bool flush();
  // The final write before the worker stops; logs what could not be written.
  void stop();

  bool empty() const noexcept { return pending_.empty(); }
  std::uint64_t batches() const noexcept { return batches_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

 private:
  boost::asio::io_context& ioc_;
  delivery_queue& queue_;
  const clock& time_;
  written_fn written_;
  std::vector<settlement> pending_;
  bool flush_posted_ = false;
  boost::asio::steady_timer retry_timer_;
  bool retry_armed_ = false;
  std::chrono::milliseconds backoff_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace hookd::engine
