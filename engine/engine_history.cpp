// The engine's delivery log and repairs: one delivery with its attempts, a webhook's
// deliveries by status, an operator's retry of one delivery and recovery of a
// webhook's failed ones.
#include <string>

#include "engine/delivery/payload.hpp"
#include "engine/engine_impl.hpp"
#include "engine/uuid.hpp"
#include "hookd/engine/engine.hpp"
#include "store/delivery_codec.hpp"
#include "store/webhook_stats.hpp"

namespace hookd::engine {
namespace {

using store::delivery_status;

attempt_view to_view(const store::attempt_record& a) {
  attempt_view v;
  v.number = a.number;
  v.at_ms = a.at_ms;
  v.duration_ms = a.duration_ms;
  if (a.status_code != 0) v.status_code = a.status_code;
  v.error_kind = a.error_kind;
  v.error = a.error;
  v.response_excerpt = a.response_excerpt;
  v.manual = a.manual;
  return v;
}

}  // namespace

outcome<delivery_view> engine::delivery(std::string_view account, std::string_view uuid) const {
  auto& i = *impl_;
  auto not_found = [&] {
    return failure::from(errc::not_found, "delivery " + std::string(uuid) + " not found");
  };
  auto id = parse_uuid(uuid);
  if (!id) return not_found();
  auto rec = i.queue->get(*id);
  if (!rec) {
    if (rec.error() == errc::not_found) return not_found();
    return failure::from(rec.error(), "reading delivery " + std::string(uuid));
  }
  if (rec->account != account) return not_found();
  auto attempts = i.queue->attempts(*id);
  if (!attempts) {
    return failure::from(attempts.error(), "reading attempts of delivery " + std::string(uuid));
  }
  delivery_view v;
  v.uuid = format_uuid(rec->id);
  v.webhook_id = rec->webhook_id;
  v.event_id = rec->event_id;
  v.event_type = rec->event_type;
  v.status = std::string(store::to_string(rec->status));
  if (rec->status == delivery_status::pending && i.workers->in_flight(rec->webhook_id, rec->id)) {
    v.status = "in_flight";
  }
  v.created_at_ms = rec->created_at_ms;
  v.updated_at_ms = rec->updated_at_ms;
  v.attempt_count = rec->attempts;
  if (rec->status == delivery_status::pending) v.next_attempt_at_ms = rec->next_attempt_at_ms;
  for (const auto& a : *attempts) v.attempts.push_back(to_view(a));
  if (auto ev = i.queue->find_event(account, rec->event_id)) {
    v.payload = delivery_body(ev->payload, v.uuid, ev->type);
  } else if (ev.error() != errc::not_found) {
    return failure::from(ev.error(), "reading the event of delivery " + std::string(uuid));
  }
  return v;
}

outcome<delivery_list> engine::deliveries(std::string_view account, std::uint64_t webhook_id,
                                          std::optional<std::string_view> status,
                                          std::optional<std::string_view> after,
                                          std::size_t limit) const {
  return deliveries(account, webhook_id, status, after, limit, delivery_order::oldest_first);
}

outcome<delivery_list> engine::deliveries(std::string_view account, std::uint64_t webhook_id,
                                          std::optional<std::string_view> status,
                                          std::optional<std::string_view> after, std::size_t limit,
                                          delivery_order order) const {
  auto& i = *impl_;
  auto owner = i.webhooks->get(account, webhook_id);
  if (!owner) return owner.error();
  std::vector<field_error> problems;
  std::optional<delivery_status> wanted;
  if (status) {
    wanted = store::parse_delivery_status(*status);
    if (!wanted || *wanted == delivery_status::in_flight) {
      problems.push_back({"status", "must be one of pending, succeeded, failed, cancelled"});
    }
  }
  std::optional<store::delivery_id> after_id;
  if (after) {
    after_id = parse_uuid(*after);
    if (!after_id) problems.push_back({"after", "must be a delivery uuid"});
  }
  if (!problems.empty()) {
    failure f = failure::from(errc::invalid_argument, "invalid query parameters");
    f.details = std::move(problems);
    return f;
  }
  auto page =
      i.queue->list(webhook_id, after_id, wanted, limit,
                    order == delivery_order::newest_first ? store::list_order::newest_first
                                                          : store::list_order::oldest_first);
  if (!page) {
    return failure::from(page.error(),
                         "listing deliveries of webhook " + std::to_string(webhook_id));
  }
  delivery_list out;
  for (const auto& rec : page->deliveries) {
    delivery_view v;
    v.uuid = format_uuid(rec.id);
    v.webhook_id = rec.webhook_id;
    v.event_id = rec.event_id;
    v.event_type = rec.event_type;
    v.status = std::string(store::to_string(rec.status));
    v.created_at_ms = rec.created_at_ms;
    v.updated_at_ms = rec.updated_at_ms;
    v.attempt_count = rec.attempts;
    if (rec.status == delivery_status::pending) v.next_attempt_at_ms = rec.next_attempt_at_ms;
    out.deliveries.push_back(std::move(v));
  }
  if (page->next_after) out.next_after = format_uuid(*page->next_after);
  return out;
}

outcome<webhook_stats_view> engine::webhook_stats(std::string_view account,
                                                  std::uint64_t webhook_id,
                                                  std::chrono::milliseconds window) const {
  using std::chrono::hours;
  const bool daily = window > hours(48);
  if (window < hours(1) || window > k_max_stats_window ||
      window % (daily ? hours(24) : hours(1)) != window.zero()) {
    failure f = failure::from(errc::invalid_argument, "the window is out of range");
    f.details.push_back(
        {"window", "must be whole hours from 1h to 48h or whole days up to 30d, like 24h or 7d"});
    return f;
  }
  auto& i = *impl_;
  if (auto hook = i.webhooks->get(account, webhook_id); !hook) return hook.error();
  const std::chrono::milliseconds bucket = daily ? hours(24) : hours(1);
  const std::int64_t step = bucket.count();
  const std::int64_t now = i.time->now_ms();
  webhook_stats_view out;
  out.webhook_id = webhook_id;
  out.bucket = bucket;
  // window / bucket buckets, the current one last (so its oldest part is the end of
  // the bucket `window` ago).
  out.to_ms = store::stats_bucket_of(now, step) + step;
  out.from_ms = out.to_ms - window.count();
  auto stored = store::read_webhook_stats(*i.db, webhook_id, out.from_ms, out.to_ms);
  if (!stored) return failure::from(stored.error(), "reading the webhook's statistics");
  out.buckets.resize(static_cast<std::size_t>((out.to_ms - out.from_ms) / step));
  for (std::size_t n = 0; n < out.buckets.size(); ++n) {
    out.buckets[n].start_ms = out.from_ms + static_cast<std::int64_t>(n) * step;
  }
  out.totals.start_ms = out.from_ms;
  for (const auto& s : *stored) {
    auto& b = out.buckets[static_cast<std::size_t>((s.start_ms - out.from_ms) / step)];
    for (auto* into : {&b, &out.totals}) {
      into->attempts += s.counts.attempts;
      into->succeeded += s.counts.succeeded;
      into->failed_attempts += s.counts.failed_attempts;
      into->failed_deliveries += s.counts.failed_deliveries;
      into->duration_ms += s.counts.duration_ms;
    }
  }
  return out;
}

outcome<delivery_view> engine::retry(std::string_view account, std::string_view uuid) {
  auto& i = *impl_;
  auto current = delivery(account, uuid);
  if (!current) return current.error();
  auto rec = i.queue->get(*parse_uuid(uuid));
  if (!rec) return failure::from(rec.error(), "reading delivery " + std::string(uuid));
  auto target = i.targets->find(rec->webhook_id);
  if (!target) {
    return failure::from(target.error(), "reading the webhook of delivery " + std::string(uuid));
  }
  if (!*target) {
    return failure::from(errc::not_found,
                         "the webhook of delivery " + std::string(uuid) + " was deleted");
  }
  if (auto queued = i.workers->retry_now(*rec, true); !queued) return queued.error();
  current->status = "pending";
  current->next_attempt_at_ms = i.time->now_ms();
  return current;
}

outcome<std::size_t> engine::recover(std::string_view account, std::uint64_t webhook_id,
                                     std::int64_t since_ms) {
  auto& i = *impl_;
  auto owner = i.webhooks->get(account, webhook_id);
  if (!owner) return owner.error();
  auto failed = i.queue->failed_since(webhook_id, since_ms, k_max_recover);
  if (!failed) {
    return failure::from(failed.error(),
                         "reading failed deliveries of webhook " + std::to_string(webhook_id));
  }
  for (const auto& rec : *failed) {
    if (auto r = i.workers->retry_now(rec, false); !r) return r.error();
  }
  return failed->size();
}

}  // namespace hookd::engine
