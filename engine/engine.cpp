// The engine's life and its hot path: open (wiring the registry, the queue and the
// dispatcher), start, publish (blocking or through the publish threads), stop.
#include "hookd/engine/engine.hpp"

#include <pthread.h>

#include <algorithm>
#include <functional>
#include <mutex>

#include "engine/delivery/dispatcher.hpp"
#include "engine/delivery/local_queue.hpp"
#include "engine/delivery/payload.hpp"
#include "engine/engine_impl.hpp"
#include "engine/engine_internals.hpp"
#include "engine/log.hpp"
#include "engine/registry/local_registry.hpp"
#include "engine/registry/subscription_snapshot.hpp"
#include "engine/uuid.hpp"
#include "hookd/version.hpp"
#include "store/database.hpp"
#include "store/delivery_queue.hpp"
#include "store/webhook_registry.hpp"

namespace hookd::engine {
namespace {

using store::delivery_record;
using store::delivery_status;

constexpr std::size_t k_max_event_id_bytes = 255;

std::optional<std::string> event_id_problem(std::string_view id) {
  if (id.empty()) return "must not be empty";
  if (id.size() > k_max_event_id_bytes) {
    return "must be at most " + std::to_string(k_max_event_id_bytes) + " bytes";
  }
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return "must be printable ASCII without spaces";
  }
  return std::nullopt;
}

// Leases on deliveries held in memory outlive a refill period (window / 4) and the
// longest attempt with room to spare; they are renewed at every refill.
std::chrono::milliseconds lease_for(const engine_options& o) {
  return std::max(
      {o.scheduler_window, 4 * o.http.attempt_timeout, std::chrono::milliseconds(60'000)});
}

}  // namespace

engine::engine(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

engine::~engine() {
  if (impl_) stop(std::chrono::seconds(1));
}

explained<std::unique_ptr<engine>> engine::open(engine_options options) {
  if (auto problem = options_problem(options)) return "engine options: " + *problem;
  auto i = std::make_unique<impl>();
  i->options = std::move(options);
  i->time = i->options.time_source ? i->options.time_source : &i->default_clock;
  i->random = i->options.random ? i->options.random : &i->default_random;

  auto db = store::database::open({
      .path = i->options.data_dir,
      .fsync = i->options.fsync,
      .space = {.min_free = i->options.min_free_space, .probe = i->options.free_space_probe},
  });
  if (!db) return db.error();
  i->db = std::move(*db);
  auto registry = store::webhook_registry::open(*i->db);
  if (!registry) {
    return "cannot load the webhook registry from " + i->options.data_dir.string();
  }
  i->registry = std::make_unique<local_registry>(std::move(*registry));
  i->records = std::make_unique<store::delivery_queue>(*i->db);
  if (auto built = i->records->build_indexes(); !built) {
    return "cannot index the deliveries in " + i->options.data_dir.string() + ": " +
           built.error().message();
  } else if (*built > 0) {
    log::info("indexed deliveries and events by status and time",
              {{"entries", std::to_string(*built)}});
  }
  i->queue = std::make_unique<local_queue>(*i->records);
  i->webhooks =
      std::make_unique<webhook_service>(*i->registry, i->options.catalog, *i->time, *i->random);
  if (auto ec = i->load_snapshot()) {
    return "cannot read the webhooks in " + i->options.data_dir.string() + ": " + ec.message();
  }
  i->targets = std::make_unique<webhook_targets>(*i->registry, i->options.retry_jitter);
  impl* raw = i.get();
  // The index and the targets follow the registry's change feed; the dispatcher,
  // registered after them, cancels the work of webhooks deleted or deactivated.
  i->registry->watch([raw](const registry_change& change) {
    raw->snapshot.store(raw->snapshot.load()->apply(change.before ? &*change.before : nullptr,
                                                    change.now ? &*change.now : nullptr));
    raw->targets->forget(change.id);
  });
  i->options.http.user_agent = k_user_agent;
  if (i->options.observer) {
    i->notices = std::make_unique<notifier>(*i->options.observer, i->options.observer_queue);
  }
  i->workers = std::make_unique<dispatcher>(
      dispatcher::dependencies{
          .queue = i->queue.get(),
          .webhooks = i->registry.get(),
          .time_source = i->time,
          .random = i->random,
          .senders = http_senders(i->options.http),
          .target = [raw](std::uint64_t id) { return raw->targets->find(id); },
          .disable_webhook =
              [raw](std::uint64_t id, std::string reason) {
                auto r = raw->webhooks->disable(id, reason);
                if (!r) {
                  log::error("disabling a webhook failed",
                             {{"webhook", std::to_string(id)}, {"error", r.error().message}});
                  return;
                }
                log::warn("webhook disabled",
                          {{"webhook", std::to_string(id)}, {"reason", reason}});
                if (raw->notices) {
                  raw->notices->webhook_disabled({.webhook_id = id,
                                                  .account = r->account,
                                                  .reason = std::move(reason),
                                                  .at_ms = raw->time->now_ms()});
                }
              },
          .progressed =
              [raw] {
                if (raw->waiters.load(std::memory_order_acquire) == 0) return;
                std::lock_guard lock(raw->progress_mutex);
                raw->progress.notify_all();
              },
          .settled =
              raw->notices
                  ? [raw](std::span<const settlement> batch) { raw->notices->settled(batch); }
                  : std::function<void(std::span<const settlement>)>{},
      },
      dispatcher_options{
          .threads = i->options.threads,
          .max_in_flight = i->options.max_in_flight,
          .connections_per_origin = i->options.http.connections_per_origin,
          .circuit = i->options.origin_circuit,
          .policy = retry_policy(i->options.retry_schedule, i->options.retry_jitter),
          .window = i->options.scheduler_window,
          .lease = lease_for(i->options),
          .max_held = i->options.max_held,
          .disable_after = i->options.disable_after,
          .max_retry_after = i->options.max_retry_after,
      });
  auto opened = std::unique_ptr<engine>(new engine(std::move(i)));
  engine* self = opened.get();
  raw->publishers = std::make_unique<publish_pool>(
      raw->options.publish_threads, raw->options.publish_queue, [self](const publish_request& r) {
        return self->publish(
            r.account, r.type, r.payload,
            r.event_id ? std::optional<std::string_view>(*r.event_id) : std::nullopt);
      });
  return opened;
}

void engine::start() {
  if (impl_->started.exchange(true)) return;
  impl_->workers->start();
  impl* raw = impl_.get();
  const auto period = std::clamp<std::chrono::milliseconds>(
      raw->options.retention / 24, std::chrono::minutes(1), std::chrono::hours(1));
  if (raw->db->space().state() != store::space_state::ok) {
    log::warn(
        "disk space low at start: publish and webhook writes are refused (507) until "
        "space is freed; accepted deliveries go on",
        {{"state", raw->db->space().describe()}});
  }
  raw->space_thread = std::thread([raw] {
    pthread_setname_np(pthread_self(), "hookd-space");
    std::unique_lock lock(raw->retention_mutex);
    while (!raw->retention_wake.wait_for(lock, std::chrono::milliseconds(250),
                                         [raw] { return raw->retention_stop; })) {
      lock.unlock();
      raw->watch_space();
      lock.lock();
    }
  });
  raw->retention_thread = std::thread([this, raw, period] {
    pthread_setname_np(pthread_self(), "hookd-retention");
    std::unique_lock lock(raw->retention_mutex);
    while (!raw->retention_wake.wait_for(lock, period, [raw] { return raw->retention_stop; })) {
      lock.unlock();
      auto r = remove_expired();
      if (!r) {
        log::error("retention failed; it runs again later", {{"error", r.error().message}});
      } else if (r->deliveries + r->events > 0) {
        log::info("retention removed expired records",
                  {{"deliveries", std::to_string(r->deliveries)},
                   {"events", std::to_string(r->events)},
                   {"kept_unfinished", std::to_string(r->kept)}});
      }
      lock.lock();
    }
  });
}

outcome<retention_report> engine::remove_expired() {
  auto& i = *impl_;
  const std::int64_t now = i.time->now_ms();
  const std::int64_t cutoff = now - i.options.retention.count();
  i.db->expire_stats_before(cutoff);
  auto r = i.queue->remove_expired(cutoff, now);
  if (!r) return failure::from(r.error(), "removing expired deliveries");
  i.expired_deliveries.fetch_add(r->deliveries, std::memory_order_relaxed);
  i.expired_events.fetch_add(r->events, std::memory_order_relaxed);
  return retention_report{r->deliveries, r->events, r->kept};
}

void engine::stop(std::chrono::milliseconds drain) {
  if (impl_->stopped.exchange(true)) {
    // Another thread is stopping: wait until it is done, so that whoever returns from
    // stop() may destroy the engine. Not on the threads that stop() itself joins (a
    // publish callback or the observer calling stop while it runs): they return at
    // once and their thread ends by itself.
    if (publish_pool::on_pool_thread() || notifier::on_observer_thread()) return;
    std::unique_lock lock(impl_->stop_mutex);
    impl_->stop_done_cv.wait(lock, [this] { return impl_->stop_done; });
    return;
  }
  // Queued asynchronous publishes are answered shutting_down; running ones finish.
  if (impl_->publishers) impl_->publishers->stop();
  {
    std::lock_guard lock(impl_->retention_mutex);
    impl_->retention_stop = true;
  }
  impl_->retention_wake.notify_all();
  if (impl_->retention_thread.joinable()) impl_->retention_thread.join();
  if (impl_->space_thread.joinable()) impl_->space_thread.join();
  impl_->workers->stop(drain);
  // Every outcome written is told before stop returns.
  if (impl_->notices) impl_->notices->stop();
  {
    std::lock_guard lock(impl_->stop_mutex);
    impl_->stop_done = true;
  }
  impl_->stop_done_cv.notify_all();
}

void engine::publish_async(publish_request request, publish_callback done) {
  impl_->publishers->submit(std::move(request), std::move(done));
}

webhook_service& engine::webhooks() { return *impl_->webhooks; }

std::int64_t engine::now_ms() const { return impl_->time->now_ms(); }

outcome<publish_result> engine::publish(std::string_view account, std::string_view type,
                                        std::string_view payload_json,
                                        std::optional<std::string_view> event_id) {
  return engine_internals::publish(*this, account, type, event_id, [&](bool with_query) {
    return check_payload(payload_json, with_query);
  });
}

outcome<publish_result> engine_internals::publish_parsed(engine& e, std::string_view account,
                                                         event_request&& request) {
  std::optional<std::string_view> id;
  if (request.id) id = *request.id;
  return publish(e, account, request.type, id, [&](bool with_query) {
    return check_minified_payload(std::move(request.payload), with_query);
  });
}

outcome<publish_result> engine_internals::publish(engine& e, std::string_view account,
                                                  std::string_view type,
                                                  std::optional<std::string_view> event_id,
                                                  const payload_check& check) {
  auto& i = *e.impl_;
  if (i.stopped) return failure::from(errc::shutting_down, "the engine is stopping");
  const auto started = std::chrono::steady_clock::now();
  std::vector<field_error> problems;
  if (!i.options.catalog.contains(type)) {
    problems.push_back({"event.type", "\"" + std::string(type) +
                                          "\" is not a known event type; accepted: " +
                                          i.options.catalog.joined()});
  }
  if (event_id) {
    if (auto p = event_id_problem(*event_id)) problems.push_back({"event.id", *p});
  }
  const auto snap = i.snapshot.load();
  const auto targets = snap->match(account, type);
  bool needs_query = false;
  for (const auto& t : targets) needs_query = needs_query || !t.body_method;
  auto checked = check(needs_query);
  if (!checked) {
    for (auto& d : checked.error().details) problems.push_back(std::move(d));
  }
  if (!problems.empty()) {
    failure f =
        failure::from(errc::invalid_argument,
                      problems.size() == 1
                          ? "the event has 1 invalid field"
                          : "the event has " + std::to_string(problems.size()) + " invalid fields");
    f.details = std::move(problems);
    return f;
  }

  const std::int64_t now = i.time->now_ms();
  std::string id =
      event_id ? std::string(*event_id) : "evt_" + format_uuid(make_uuid_v7(now, *i.random));

  std::unique_lock<std::mutex> id_lock;
  if (event_id) {
    id_lock = std::unique_lock(i.id_stripes[std::hash<std::string_view>{}(id) % k_id_stripes]);
    auto seen = i.queue->find_event(account, id);
    if (seen) {
      return publish_result{seen->id, seen->type, seen->deliveries, true};
    }
    if (seen.error() != errc::not_found) {
      return failure::from(seen.error(), "publish: reading event " + id);
    }
  }

  auto data = std::make_shared<event_data>();
  data->account = std::string(account);
  data->id = id;
  data->type = std::string(type);
  data->payload = std::move(checked->text);
  data->query = std::move(checked->query);

  store::event_record event{data->account, id, data->type, now, data->payload, targets.size()};
  std::vector<delivery_record> records;
  records.reserve(targets.size());
  for (const auto& t : targets) {
    delivery_record d;
    d.id = make_uuid_v7(now, *i.random);
    d.webhook_id = t.id;
    d.account = data->account;
    d.event_id = id;
    d.event_type = data->type;
    d.status = delivery_status::pending;
    d.created_at_ms = d.updated_at_ms = now;
    d.next_attempt_at_ms = now;
    records.push_back(std::move(d));
  }
  if (auto w = i.queue->append(event, records, now, lease_for(i.options)); !w) {
    return failure::from(w.error(), "publish: storing event " + id);
  }
  if (id_lock.owns_lock()) id_lock.unlock();
  i.published.fetch_add(1, std::memory_order_relaxed);
  i.publish_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  i.created.fetch_add(records.size(), std::memory_order_relaxed);

  std::vector<delivery_job> jobs;
  jobs.reserve(records.size());
  std::shared_ptr<const event_data> shared = std::move(data);
  for (auto& r : records) jobs.push_back({std::move(r), shared, false});
  if (!jobs.empty()) i.workers->submit(std::move(jobs));
  return publish_result{std::move(id), std::string(type), event.deliveries, false};
}

}  // namespace hookd::engine
