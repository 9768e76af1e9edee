// Internal to engine/: the threads behind engine::publish_async. Requests wait in a
// bounded queue; a few threads run the blocking publish (a RocksDB write; concurrent
// writes share one commit) and call each request's callback with its answer. The
// threads start with the first request, so a host that never publishes
// asynchronously has none. The threads share the queue's state with the pool, so a
// callback may stop, or even destroy, the engine: its thread then ends by itself.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "hookd/engine/engine.hpp"

namespace hookd::engine {

class publish_pool {
 public:
  using run_fn = std::function<outcome<publish_result>(const publish_request&)>;

  // `threads` 0 means 2.
  publish_pool(unsigned threads, std::size_t capacity, run_fn run);
  ~publish_pool();  // stop()
  publish_pool(const publish_pool&) = delete;
  publish_pool& operator=(const publish_pool&) = delete;

  // Queues the request; `done` gets storage_busy at once when the queue is full and
  // shutting_down once stop() has begun (on the caller's thread, then).
  void submit(publish_request request, engine::publish_callback done);

  // Answers every queued request with shutting_down (on this thread), lets running
  // ones finish and joins the threads; from a callback, its own thread is left to end
  // by itself. Idempotent.
  void stop();

  // Whether the calling thread is one of the pool's (a callback is running on it).
  static bool on_pool_thread() noexcept;

 private:
  struct job {
    publish_request request;
    engine::publish_callback done;
  };
  struct state {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<job> queue;
    bool stopping = false;
    run_fn run;
  };
  static void run(const std::shared_ptr<state>& s);
  static void answer(const engine::publish_callback& done, outcome<publish_result> r);

  const unsigned threads_;
  const std::size_t capacity_;
  std::shared_ptr<state> state_;
  std::mutex join_mutex_;             // one stop() joins at a time
  std::vector<std::thread> workers_;  // created under state_->mutex, before stopping
};

}  // namespace hookd::engine
