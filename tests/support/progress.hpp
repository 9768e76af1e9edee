// Waiting in tests without sleeping: whatever changes state (the fake sender, the
// memory queue, the dispatcher's "outcomes written" callback) calls notify(), and a
// test waits for the condition it cares about to become true.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace hookd::test {

class progress {
 public:
  void notify() {
    {
      std::lock_guard lock(mutex_);
      ++generation_;
    }
    changed_.notify_all();
  }

  // Returns once `done` holds; it is evaluated without any lock held, after every
  // notify(), and again every `recheck` for state that changed without one (a
  // counter bumped after the last notification). `guard` only turns a hang into a
  // failed test; no test measures time with it.
  bool wait(const std::function<bool()>& done,
            std::chrono::milliseconds guard = std::chrono::seconds(60),
            std::chrono::milliseconds recheck = std::chrono::milliseconds(100)) {
    const auto give_up = std::chrono::steady_clock::now() + guard;
    std::unique_lock lock(mutex_);
    while (true) {
      const std::uint64_t seen = generation_;
      lock.unlock();
      if (done()) return true;
      lock.lock();
      const auto now = std::chrono::steady_clock::now();
      if (now >= give_up) return false;
      changed_.wait_until(lock, std::min(give_up, now + recheck),
                          [&] { return generation_ != seen; });
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t generation_ = 0;
};

}  // namespace hookd::test
