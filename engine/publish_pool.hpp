// Internal to engine/: the threads behind engine::publish_async. Requests wait in a
// bounded queue; a few threads run the blocking publish (a RocksDB write; concurrent
// writes share one commit) and call each request's callback with its answer. The
// threads start with the first request, so a host that never publishes
// asynchronously has none.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
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
  // shutting_down once stop() has begun.
  void submit(publish_request request, engine::publish_callback done);

  // Answers every queued request with shutting_down, lets running ones finish, joins.
  // Idempotent.
  void stop();

 private:
  struct job {
    publish_request request;
    engine::publish_callback done;
  };
  void run();
  static void answer(const engine::publish_callback& done, outcome<publish_result> r);

  const unsigned threads_;
  const std::size_t capacity_;
  run_fn run_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace hookd::engine
