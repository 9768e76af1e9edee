// publish_async's queue and threads.
#include "engine/publish_pool.hpp"

#include <pthread.h>

#include <exception>

#include "engine/log.hpp"

namespace hookd::engine {

publish_pool::publish_pool(unsigned threads, std::size_t capacity, run_fn run)
    : threads_(threads == 0 ? 2 : threads),
      capacity_(std::max<std::size_t>(1, capacity)),
      run_(std::move(run)) {}

publish_pool::~publish_pool() { stop(); }

void publish_pool::submit(publish_request request, engine::publish_callback done) {
  std::unique_lock lock(mutex_);
  if (stopping_) {
    lock.unlock();
    answer(done, failure::from(errc::shutting_down, "the engine is stopping"));
    return;
  }
  if (queue_.size() >= capacity_) {
    const auto waiting = queue_.size();
    lock.unlock();
    answer(done,
           failure::from(errc::storage_busy, std::to_string(waiting) +
                                                 " asynchronous publishes are waiting already "
                                                 "(publish_queue); retry after a short delay"));
    return;
  }
  queue_.push_back({std::move(request), std::move(done)});
  if (workers_.empty()) {
    for (unsigned i = 0; i < threads_; ++i) {
      workers_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "hookd-publish");
        run();
      });
    }
  }
  lock.unlock();
  wake_.notify_one();
}

void publish_pool::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;  // stop() answers what is still queued
    job next = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    answer(next.done, run_(next.request));
    lock.lock();
  }
}

void publish_pool::answer(const engine::publish_callback& done, outcome<publish_result> r) {
  try {
    done(std::move(r));
  } catch (const std::exception& e) {
    log::error("a publish_async callback threw", {{"error", e.what()}});
  } catch (...) {
    log::error("a publish_async callback threw", {});
  }
}

void publish_pool::stop() {
  std::deque<job> left;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(queue_);
  }
  wake_.notify_all();
  for (auto& w : workers_) {
    if (w.get_id() != std::this_thread::get_id()) w.join();
  }
  for (auto& j : left) {
    answer(j.done, failure::from(errc::shutting_down, "the engine stopped before this publish"));
  }
}

}  // namespace hookd::engine
