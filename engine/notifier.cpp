// The observer's thread: notices from written settlements, called in order.
#include "engine/notifier.hpp"

#include <pthread.h>

#include <exception>

#include "engine/log.hpp"
#include "engine/uuid.hpp"
#include "store/delivery_codec.hpp"

namespace hookd::engine {
namespace {

thread_local bool t_on_observer_thread = false;

}  // namespace

bool notifier::on_observer_thread() noexcept { return t_on_observer_thread; }

delivery_observer::~delivery_observer() = default;
void delivery_observer::delivered(const delivery_notice&) {}
void delivery_observer::attempt_failed(const delivery_notice&) {}
void delivery_observer::failed(const delivery_notice&) {}
void delivery_observer::webhook_disabled(const webhook_disabled_notice&) {}

notifier::notifier(delivery_observer& observer, std::size_t capacity)
    : observer_(observer), capacity_(std::max<std::size_t>(1, capacity)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "hookd-observer");
    t_on_observer_thread = true;
    run();
  });
}

notifier::~notifier() { stop(); }

void notifier::settled(std::span<const settlement> batch) {
  for (const auto& s : batch) {
    if (!s.attempt) continue;  // a cancellation or a lease handed back: no attempt ended
    const auto& d = s.after;
    const auto& a = *s.attempt;
    kind k = kind::failed;
    std::optional<std::int64_t> next;
    switch (d.status) {
      case store::delivery_status::succeeded:
        k = kind::delivered;
        break;
      case store::delivery_status::pending:
        k = kind::attempt_failed;
        next = d.next_attempt_at_ms;
        break;
      default:  // failed, or cancelled: its webhook went away meanwhile
        break;
    }
    delivery_notice n{
        .delivery_id = format_uuid(d.id),
        .webhook_id = d.webhook_id,
        .account = d.account,
        .event_id = d.event_id,
        .event_type = d.event_type,
        .status = std::string(store::to_string(d.status)),
        .attempt = a.number,
        .at_ms = a.at_ms,
        .duration_ms = a.duration_ms,
        .status_code = a.status_code == 0 ? std::nullopt : std::optional<unsigned>(a.status_code),
        .error_kind = a.error_kind,
        .error = a.error,
        .next_attempt_at_ms = next,
        .manual = a.manual,
    };
    push(delivery_item{k, std::move(n)});
  }
}

void notifier::webhook_disabled(webhook_disabled_notice notice) { push(std::move(notice)); }

bool notifier::push(item i) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) {
      // The first drop is logged; the count is in stats().observer_dropped.
      if (dropped_.fetch_add(1, std::memory_order_relaxed) == 0 || stopping_) {
        log::warn("observer notices dropped: the observer is slower than the deliveries",
                  {{"queued", std::to_string(queue_.size())}});
      }
      return false;
    }
    queue_.push_back(std::move(i));
  }
  wake_.notify_one();
  return true;
}

void notifier::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything was called
    item next = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    call(next);
    lock.lock();
  }
}

void notifier::call(const item& i) {
  try {
    if (const auto* d = std::get_if<delivery_item>(&i)) {
      switch (d->k) {
        case kind::delivered:
          observer_.delivered(d->notice);
          break;
        case kind::attempt_failed:
          observer_.attempt_failed(d->notice);
          break;
        case kind::failed:
          observer_.failed(d->notice);
          break;
      }
    } else {
      observer_.webhook_disabled(std::get<webhook_disabled_notice>(i));
    }
  } catch (const std::exception& e) {
    log::error("the delivery observer threw; the notice is skipped", {{"error", e.what()}});
  } catch (...) {
    log::error("the delivery observer threw; the notice is skipped", {});
  }
}

void notifier::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

}  // namespace hookd::engine
