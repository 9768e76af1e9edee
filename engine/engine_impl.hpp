// Internal to engine/: what an engine owns, shared by engine.cpp (life and publish)
// and engine_history.cpp (the delivery log and repairs).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/delivery/dispatcher.hpp"
#include "engine/delivery/local_queue.hpp"
#include "engine/log.hpp"
#include "engine/notifier.hpp"
#include "engine/publish_pool.hpp"
#include "engine/registry/local_registry.hpp"
#include "engine/registry/subscription_snapshot.hpp"
#include "engine/registry/webhook_targets.hpp"
#include "hookd/engine/engine.hpp"
#include "store/database.hpp"
#include "store/delivery_queue.hpp"

namespace hookd::engine {

inline constexpr std::size_t k_id_stripes = 64;

// The first option of `o` out of its range, in words naming its field
// (engine/engine_options.cpp); nullopt when all are fine.
std::optional<std::string> options_problem(const engine_options& o);

// Hidden although engine is exported: nothing of it is API.
struct __attribute__((visibility("hidden"))) engine::impl {
  engine_options options;
  system_clock default_clock;
  crypto_random default_random;
  const clock* time = nullptr;
  random_source* random = nullptr;

  std::unique_ptr<store::database> db;
  std::unique_ptr<local_registry> registry;
  std::unique_ptr<store::delivery_queue> records;
  std::unique_ptr<local_queue> queue;
  std::unique_ptr<webhook_service> webhooks;
  std::unique_ptr<dispatcher> workers;
  // The observer's thread, when options.observer is set; publish_async's threads.
  std::unique_ptr<notifier> notices;
  std::unique_ptr<publish_pool> publishers;

  // The subscription index publish matches against; the registry's change feed moves
  // it to its next version, one change at a time.
  std::atomic<std::shared_ptr<const subscription_snapshot>> snapshot;
  // What attempts need of their webhooks, read on first use.
  std::unique_ptr<webhook_targets> targets;
  // Serialises check-then-write of the same (account, event id) pair.
  std::array<std::mutex, k_id_stripes> id_stripes;
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  // Set when the first stop() has finished; later callers wait for it.
  std::mutex stop_mutex;
  std::condition_variable stop_done_cv;
  bool stop_done = false;
  std::atomic<std::uint64_t> published{0};
  histogram publish_seconds;  // publish calls that stored something, start to durable
  std::atomic<std::uint64_t> created{0};

  // The first version of the index, from the registry's subscription index alone.
  error load_snapshot() {
    subscription_snapshot::builder b;
    auto r = registry->for_each_subscription([&](const subscription& s) {
      b.add(s.account, s.type, {s.id, s.body_method});
    });
    if (!r) return r.error();
    snapshot.store(b.finish());
    return {};
  }

  // Retention runs on its own thread, every `retention / 24` (1 min to 1 h).
  std::thread retention_thread;
  std::mutex retention_mutex;  // guards retention_stop
  std::condition_variable retention_wake;
  bool retention_stop = false;
  std::atomic<std::uint64_t> expired_deliveries{0};
  std::atomic<std::uint64_t> expired_events{0};

  // The free-space watch runs on its own thread, four times a second, stopped with
  // the retention thread; state changes are logged.
  std::thread space_thread;
  void watch_space() {
    const auto before = db->space().state();
    const auto now = db->check_space();
    if (now == before) return;
    const std::string where = db->space().describe();
    switch (now) {
      case store::space_state::ok:
        log::info("free disk space is back: new work is accepted again",
                  {{"free", store::format_bytes(db->space().free_estimate())}});
        break;
      case store::space_state::low:
        log::warn(
            "disk space low: publish and webhook writes are refused (507) until "
            "space is freed; accepted deliveries go on",
            {{"state", where}});
        break;
      case store::space_state::critical:
        log::error(
            "disk almost full: the space reserve is released and even delivery "
            "outcomes wait until space is freed",
            {{"state", where}});
        break;
    }
  }

  // wait_until: woken after every attempt.
  std::mutex progress_mutex;
  std::condition_variable progress;
  std::atomic<int> waiters{0};
};

}  // namespace hookd::engine
