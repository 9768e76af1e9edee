// Batching of settlements per burst, with backoff when the queue refuses a write.
#include "engine/delivery/outcome_batch.hpp"

#include <boost/asio/post.hpp>

#include "engine/log.hpp"

namespace hookd::engine {
namespace {

// Outcomes are written when the worker has nothing else queued, or at this many.
constexpr std::size_t k_max_batch = 512;

}  // namespace

outcome_batch::outcome_batch(boost::asio::io_context& ioc, delivery_queue& queue, const clock& time,
                             written_fn written)
    : ioc_(ioc), queue_(queue), time_(time), written_(std::move(written)), retry_timer_(ioc) {
  pending_.reserve(k_max_batch);
}

void outcome_batch::add(settlement s) {
  pending_.push_back(std::move(s));
  if (pending_.size() >= k_max_batch) {
    flush();
  } else if (!flush_posted_) {
    // Runs after the handlers already queued: outcomes completing together share one
    // write.
    flush_posted_ = true;
    boost::asio::post(ioc_, [this] {
      if (flush_posted_) flush();
    });
  }
}

bool outcome_batch::flush() {
  flush_posted_ = false;
  if (pending_.empty()) return true;
  if (retry_armed_) return false;  // a retry is scheduled; keep gathering
  if (auto r = queue_.settle(pending_, time_.now_ms()); !r) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    backoff_ = std::min(std::max(backoff_ * 2, std::chrono::milliseconds(50)),
                        std::chrono::milliseconds(5000));
    log::error("writing delivery outcomes failed; retrying",
               {{"count", std::to_string(pending_.size())},
                {"error", r.error().message()},
                {"retry_in_ms", std::to_string(backoff_.count())}});
    retry_armed_ = true;
    retry_timer_.expires_after(backoff_);
    retry_timer_.async_wait([this](boost::system::error_code ec) {
      retry_armed_ = false;
      if (!ec) flush();  // cancelled only by stop(), which writes itself
    });
    return false;
  }
  // Once per batch, not per attempt: waking a waiter costs a context switch. The
  // batch is written: whatever the hook does, it is cleared, never written twice.
  if (written_) {
    try {
      written_(pending_);
    } catch (const std::exception& e) {
      log::error("after writing outcomes: a notice failed", {{"error", e.what()}});
    }
  }
  pending_.clear();
  backoff_ = std::chrono::milliseconds(0);
  batches_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void outcome_batch::stop() {
  retry_timer_.cancel();
  retry_armed_ = false;
  if (!flush()) {
    // Last try failed: these outcomes are lost, not the deliveries; their due entries
    // stay, so they go out again after the restart.
    retry_timer_.cancel();
    log::error("stopping with unwritten delivery outcomes",
               {{"count", std::to_string(pending_.size())}});
  }
}

}  // namespace hookd::engine
