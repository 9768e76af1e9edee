// A worker's intake by time: deliveries due later, within the window, wait in memory
// on one timer in due order (the timeline); refills claim from the delivery queue what
// is due by now + window, up to the worker's memory cap, and renew the leases of what
// the worker holds. Everything due later stays on disk until the window reaches it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/delivery/delivery_job.hpp"
#include "engine/delivery/delivery_queue.hpp"
#include "hookd/engine/clock.hpp"

namespace hookd::engine {

struct scheduler_options {
  // Retries due within this window wait in memory; later ones on disk. Refills run
  // every window / 4.
  std::chrono::milliseconds window{std::chrono::minutes(5)};
  // Leases on claimed deliveries; renewed at every refill while held.
  std::chrono::milliseconds lease{std::chrono::minutes(5)};
  // Deliveries a worker holds in memory at most (timeline, queues and running).
  std::size_t max_held = 16'384;
  partition part;
};

class scheduler {
 public:
  struct hooks {
    std::function<void(delivery_job)> due;  // a delivery whose time has come
    // A delivery a refill claimed: the worker takes it in (and holds it, due now or
    // later, through hold()).
    std::function<void(delivery_job)> claimed;
    // A fresh admission test for one claim: whether a delivery of this webhook may be
    // taken into memory now (its origin has room).
    std::function<std::function<bool(std::uint64_t, std::int64_t)>()> admitter;
    // How many deliveries the worker holds (the memory cap), and their ids (renewal).
    std::function<std::size_t()> held_count;
    std::function<const std::vector<store::delivery_id>&()> held;
    // Whether the worker holds this delivery already (a claim hands one back when its
    // lease ran out while held: another worker's claim expired it after a clock jump).
    std::function<bool(const store::delivery_id&)> holds;
    std::function<bool()> flush;  // writes pending outcomes; false when it could not
  };

  scheduler(boost::asio::io_context& ioc, delivery_queue& queue, const clock& time,
            scheduler_options options, hooks h);

  // First refill now (recovery after a restart), then every window / 4.
  void start();
  // Refills and releases what is due now (after a clock jump; tests' manual clocks).
  void wake();
  // Clears the timeline (its deliveries stay due on disk) and cancels the timers.
  void stop();

  // Takes a claimed delivery: due now goes to `due`, later waits on the timeline.
  void hold(delivery_job job);
  // Whether a retry due at `due_ms` is kept in memory rather than left on disk.
  bool keeps(std::int64_t due_ms) const;
  std::int64_t lease_until(std::int64_t due_ms) const;
  // Removes a delivery from the timeline (an operator's retry brings it forward).
  std::optional<delivery_job> take(const store::delivery_id& id);
  // Removes every delivery of the webhook from the timeline.
  std::vector<delivery_job> drop_webhook(std::uint64_t webhook_id);
  // A refill stopped at the memory cap reads on once the worker holds half as much;
  // one that skipped deliveries of a full origin comes back to them soon after.
  void room_freed(std::size_t held_now);
  // The worker left a due delivery on disk (its origin was full): freed room brings a
  // refill to read it back.
  void left_on_disk() { skipped_ = true; }
  // The worker left a retry due at `due_ms` (within the window) on disk: a refill runs
  // at that time to bring it back.
  void due_on_disk(std::int64_t due_ms);

  std::size_t size() const noexcept { return timeline_.size(); }

 private:
  // `for_room`: after attempts freed room; it reads fewer due entries past full
  // origins (they are many and frequent), the periodic refill reads the full budget.
  void refill(bool continuation = false, bool for_room = false);
  void release_due();
  void arm();
  void loop();

  boost::asio::io_context& ioc_;
  delivery_queue& queue_;
  const clock& time_;
  scheduler_options options_;
  hooks hooks_;
  std::multimap<std::int64_t, delivery_job> timeline_;
  boost::asio::steady_timer wake_timer_;
  boost::asio::steady_timer refill_timer_;
  boost::asio::steady_timer room_timer_;
  boost::asio::steady_timer disk_timer_;
  std::optional<std::int64_t> disk_due_ms_;  // the earliest retry left on disk, armed
  bool paused_ = false;                      // a refill stopped at max_held
  // The last refill left due deliveries behind (their origins were full): a freed
  // slot brings a refill after room_delay_, which grows while refills find nothing.
  bool skipped_ = false;
  bool chain_skipped_ = false;
  bool chain_for_room_ = false;
  bool room_refill_armed_ = false;
  std::chrono::milliseconds room_delay_{20};
  // Attempts finished since the last refill began, and what a refill for room may
  // scan: a few entries per freed slot, not thousands, plus a reach that doubles after
  // each room claim that found nothing to take (see refill()).
  std::size_t freed_since_refill_ = 0;
  std::size_t room_scan_ = 0;
  std::size_t room_reach_ = 64;
  // A chain of claims is on its way (a continuation is posted): a refill for room then
  // waits for its end instead of cutting the chain's later claims short.
  bool chain_running_ = false;
  std::optional<std::int64_t> renewed_ms_;  // when held leases were last renewed
  bool stopped_ = false;
};

}  // namespace hookd::engine
