// publish_async's queue and threads.
#include "engine/publish_pool.hpp"

#include <pthread.h>

#include <exception>

#include "engine/log.hpp"

namespace hookd::engine {
namespace {

thread_local bool t_on_pool_thread = false;

}  // namespace

publish_pool::publish_pool(unsigned threads, std::size_t capacity, run_fn run)
    : threads_(threads == 0 ? 2 : threads),
      capacity_(std::max<std::size_t>(1, capacity)),
      state_(std::make_shared<state>()) {
  state_->run = std::move(run);
}

publish_pool::~publish_pool() { stop(); }

bool publish_pool::on_pool_thread() noexcept { return t_on_pool_thread; }

void publish_pool::submit(publish_request request, engine::publish_callback done) {
  std::unique_lock lock(state_->mutex);
  if (state_->stopping) {
    lock.unlock();
    answer(done, failure::from(errc::shutting_down, "the engine is stopping"));
    return;
  }
  if (state_->queue.size() >= capacity_) {
    const auto waiting = state_->queue.size();
    lock.unlock();
    answer(done,
           failure::from(errc::storage_busy, std::to_string(waiting) +
                                                 " asynchronous publishes are waiting already "
                                                 "(publish_queue); retry after a short delay"));
    return;
  }
  if (workers_.empty()) {
    // Before queueing: when a thread cannot be made, the caller gets the exception
    // and nothing was accepted.
    for (unsigned i = 0; i < threads_; ++i) {
      workers_.emplace_back([s = state_] {
        pthread_setname_np(pthread_self(), "hookd-publish");
        t_on_pool_thread = true;
        run(s);
      });
    }
  }
  state_->queue.push_back({std::move(request), std::move(done)});
  lock.unlock();
  state_->wake.notify_one();
}

void publish_pool::run(const std::shared_ptr<state>& s) {
  std::unique_lock lock(s->mutex);
  for (;;) {
    s->wake.wait(lock, [&] { return s->stopping || !s->queue.empty(); });
    if (s->stopping) return;  // stop() answers what is still queued
    {
      job next = std::move(s->queue.front());
      s->queue.pop_front();
      lock.unlock();
      outcome<publish_result> r = failure::from(errc::storage_io, "publish did not run");
      try {
        r = s->run(next.request);
      } catch (const std::exception& e) {
        // publish itself threw (its random source, memory): answered, not lost.
        r = failure::from(errc::storage_io, std::string("publish failed: ") + e.what());
      } catch (...) {
        r = failure::from(errc::storage_io, "publish failed with an unknown exception");
      }
      answer(next.done, std::move(r));
    }  // the job (and what its callback holds) goes before the lock is taken again
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
    std::lock_guard lock(state_->mutex);
    if (!state_->stopping) {
      state_->stopping = true;
      left.swap(state_->queue);
    }
  }
  state_->wake.notify_all();
  {
    std::lock_guard lock(join_mutex_);
    for (auto& w : workers_) {
      if (!w.joinable()) continue;
      if (w.get_id() == std::this_thread::get_id()) {
        // A callback stopping the engine: its thread holds the shared state and
        // ends by itself once the callback returns.
        w.detach();
      } else {
        w.join();
      }
    }
  }
  for (auto& j : left) {
    answer(j.done, failure::from(errc::shutting_down, "the engine stopped before this publish"));
  }
}

}  // namespace hookd::engine
