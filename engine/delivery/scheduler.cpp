// The timeline of near retries and the refills that claim due work from the queue.
#include "engine/delivery/scheduler.hpp"

#include <malloc.h>

#include <algorithm>

#include <boost/asio/post.hpp>

#include "engine/log.hpp"

namespace hookd::engine {
namespace {

// Deliveries claimed per refill step; a worker yields between steps.
constexpr std::size_t k_refill_step = 1000;

}  // namespace

scheduler::scheduler(boost::asio::io_context& ioc, delivery_queue& queue, const clock& time,
                     scheduler_options options, hooks h)
    : ioc_(ioc),
      queue_(queue),
      time_(time),
      options_(options),
      hooks_(std::move(h)),
      wake_timer_(ioc),
      refill_timer_(ioc),
      room_timer_(ioc),
      disk_timer_(ioc) {}

void scheduler::start() {
  refill();
  loop();
}

void scheduler::wake() {
  refill();
  release_due();
}

void scheduler::stop() {
  stopped_ = true;
  timeline_.clear();  // still due on disk
  wake_timer_.cancel();
  refill_timer_.cancel();
  room_timer_.cancel();
  disk_timer_.cancel();
}

void scheduler::due_on_disk(std::int64_t due_ms) {
  if (stopped_ || (disk_due_ms_ && *disk_due_ms_ <= due_ms)) return;
  disk_due_ms_ = due_ms;
  disk_timer_.expires_after(
      std::chrono::milliseconds(std::max<std::int64_t>(0, due_ms - time_.now_ms())));
  disk_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    disk_due_ms_.reset();
    refill();
  });
}

bool scheduler::keeps(std::int64_t due_ms) const {
  return due_ms < time_.now_ms() + options_.window.count();
}

std::int64_t scheduler::lease_until(std::int64_t due_ms) const {
  return std::max(due_ms, time_.now_ms()) + options_.lease.count();
}

void scheduler::hold(delivery_job job) {
  if (stopped_) return;
  const std::int64_t due = job.record.next_attempt_at_ms;
  if (due <= time_.now_ms()) {
    hooks_.due(std::move(job));
    return;
  }
  const bool earliest = timeline_.empty() || due < timeline_.begin()->first;
  timeline_.emplace(due, std::move(job));
  if (earliest) arm();
}

std::optional<delivery_job> scheduler::take(const store::delivery_id& id) {
  for (auto it = timeline_.begin(); it != timeline_.end(); ++it) {
    if (it->second.record.id == id) {
      delivery_job job = std::move(it->second);
      timeline_.erase(it);
      arm();
      return job;
    }
  }
  return std::nullopt;
}

std::vector<delivery_job> scheduler::drop_webhook(std::uint64_t webhook_id) {
  std::vector<delivery_job> dropped;
  for (auto it = timeline_.begin(); it != timeline_.end();) {
    if (it->second.record.webhook_id == webhook_id) {
      dropped.push_back(std::move(it->second));
      it = timeline_.erase(it);
    } else {
      ++it;
    }
  }
  arm();
  return dropped;
}

void scheduler::room_freed(std::size_t held_now) {
  if (stopped_) return;
  ++freed_since_refill_;
  if (paused_ && held_now <= options_.max_held / 2) {
    paused_ = false;
    boost::asio::post(ioc_, [this] { refill(); });
    return;
  }
  if (!skipped_ || paused_ || room_refill_armed_) return;
  // Not on every finished attempt: at most one refill per room_delay_.
  room_refill_armed_ = true;
  room_timer_.expires_after(room_delay_);
  room_timer_.async_wait([this](boost::system::error_code ec) {
    room_refill_armed_ = false;
    if (!ec && !chain_running_) refill(false, true);
  });
}

void scheduler::arm() {
  if (timeline_.empty()) {
    wake_timer_.cancel();
    return;
  }
  const std::int64_t wait = std::max<std::int64_t>(0, timeline_.begin()->first - time_.now_ms());
  wake_timer_.expires_after(std::chrono::milliseconds(wait));
  wake_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) release_due();
  });
}

// Moves every timeline entry that is due by the clock to the worker's queues.
void scheduler::release_due() {
  if (stopped_) return;
  const std::int64_t now = time_.now_ms();
  while (!timeline_.empty() && timeline_.begin()->first <= now) {
    delivery_job job = std::move(timeline_.begin()->second);
    timeline_.erase(timeline_.begin());
    hooks_.due(std::move(job));
  }
  arm();
}

void scheduler::refill(bool continuation, bool for_room) {
  if (stopped_) return;
  chain_running_ = false;  // set again below when this claim posts a continuation
  // Disk must reflect every outcome this worker has seen before it is read back.
  if (!hooks_.flush()) return;
  const std::int64_t now = time_.now_ms();
  // Renewed at a quarter of their length: often enough that none runs out while held,
  // rarely enough that a backlog's refill steps do not pay for it each time.
  if (!renewed_ms_ || now - *renewed_ms_ >= options_.lease.count() / 4 || now < *renewed_ms_) {
    queue_.extend(hooks_.held(), now + options_.lease.count());
    renewed_ms_ = now;
  }
  const std::size_t held = hooks_.held_count();
  if (held >= options_.max_held) {
    // A large backlog (a long outage, a restart): hold at most max_held in memory and
    // read on as attempts finish; the rest waits on disk.
    paused_ = true;
    return;
  }
  // Room freed by finishing attempts is refilled often, so each such claim reads only a
  // few entries per slot freed since the last refill (at most k_room_scan): past that,
  // the entries are those of origins that are full again, read for nothing. With one
  // busy origin ahead of the cursor, reading thousands each time made every due entry
  // be read about a dozen times (docs/PERFORMANCE.md, profile 2). While room claims
  // take nothing, each reads twice as far as the one before (up to k_room_scan), so
  // the deliveries of other origins behind a slow origin's backlog are reached as
  // quickly as before, not only by the periodic refill.
  constexpr std::size_t k_room_scan = 4'096;
  constexpr std::size_t k_room_reach = 64;
  if (!continuation) {
    chain_skipped_ = false;
    chain_for_room_ = for_room;
    room_scan_ =
        std::clamp<std::size_t>(4 * freed_since_refill_ + room_reach_, k_room_reach, k_room_scan);
    freed_since_refill_ = 0;
  }
  const std::size_t room = std::min(k_refill_step, options_.max_held - held);
  auto claimed = queue_.claim(claim_request{
      .now_ms = now,
      .due_by_ms = now + options_.window.count(),
      .max = room,
      .lease = options_.lease,
      .part = options_.part,
      .admit = hooks_.admitter ? hooks_.admitter() : nullptr,
      .max_scan = chain_for_room_ ? room_scan_ : claim_request::k_max_scan,
  });
  if (!claimed) {
    log::error("claiming due deliveries failed", {{"error", claimed.error().message()}});
    return;
  }
  const bool took = !claimed->jobs.empty();
  chain_skipped_ = chain_skipped_ || claimed->skipped;
  if (chain_for_room_) room_reach_ = took ? k_room_reach : std::min(2 * room_reach_, k_room_scan);
  // Left behind because their origin is full and they are not due yet (an open
  // circuit's retries): a refill at that time brings them in, as for any retry.
  if (claimed->skipped_due_ms && *claimed->skipped_due_ms > now) {
    due_on_disk(*claimed->skipped_due_ms);
  }
  for (auto& job : claimed->jobs) {
    // The claim renewed the lease of one this worker still holds: one copy is enough,
    // or it would be attempted twice.
    if (hooks_.holds(job.record.id)) continue;
    if (hooks_.claimed) {
      hooks_.claimed(std::move(job));
    } else {
      hold(std::move(job));
    }
  }
  // Read on after a yield while claims take something; a claim that only skipped
  // deliveries of full origins stops here, and freed room brings the next one, later
  // each time nothing is found.
  if (claimed->more && (took || !claimed->skipped)) {
    chain_running_ = true;
    boost::asio::post(ioc_, [this] { refill(true); });
    return;
  }
  skipped_ = chain_skipped_;
  room_delay_ = took
                    ? std::chrono::milliseconds(20)
                    : std::min<std::chrono::milliseconds>(2 * room_delay_, std::chrono::seconds(1));
}

void scheduler::loop() {
  const auto period =
      std::max<std::chrono::milliseconds>(options_.window / 4, std::chrono::milliseconds(10));
  refill_timer_.expires_after(period);
  refill_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    refill();
    release_due();
    // Memory freed by finished or cancelled work goes back to the system, so RSS
    // falls after a backlog drains.
    malloc_trim(0);
    loop();
  });
}

}  // namespace hookd::engine
