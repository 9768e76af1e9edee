// Internal to engine/: the delivery_observer's thread and queue. Workers hand it the
// settlements of each batch right after the batch is written; it turns them into
// notices on its own thread and calls the observer there, one notice at a time, so
// an observer never runs on (or slows) a dispatcher thread. A full queue drops new
// notices and counts them instead of blocking a worker.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <thread>
#include <variant>

#include "engine/delivery/delivery_queue.hpp"
#include "hookd/engine/observer.hpp"

namespace hookd::engine {

class notifier {
 public:
  // `observer` must outlive the notifier; `capacity` notices wait at most.
  notifier(delivery_observer& observer, std::size_t capacity);
  ~notifier();  // stop()
  notifier(const notifier&) = delete;
  notifier& operator=(const notifier&) = delete;

  // The settlements of one written batch (worker threads): those with an attempt
  // become notices.
  void settled(std::span<const settlement> batch);
  void webhook_disabled(webhook_disabled_notice notice);

  // Calls the observer for every notice queued so far, then ends the thread.
  // Idempotent.
  void stop();

  // Whether the calling thread is the observer's (an observer's function is running).
  static bool on_observer_thread() noexcept;

  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  enum class kind : std::uint8_t { delivered, attempt_failed, failed };
  struct delivery_item {
    kind k;
    delivery_notice notice;
  };
  using item = std::variant<delivery_item, webhook_disabled_notice>;

  bool push(item i);  // false when full (counted)
  void run();
  void call(const item& i);

  delivery_observer& observer_;
  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<item> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace hookd::engine
