// Preparing a webhook for delivery once, and the sharded cache that keeps prepared
// webhooks for the dispatcher's workers.
#include "engine/registry/webhook_targets.hpp"

#include <algorithm>

#include "engine/delivery/signer.hpp"
#include "engine/registry/subscription_snapshot.hpp"

namespace hookd::engine {

std::shared_ptr<const webhook_target> make_target(const webhook_record& w, double jitter) {
  auto t = std::make_shared<webhook_target>();
  t->id = w.id;
  t->account = w.account;
  t->url = w.url;
  t->http_method = w.http_method;
  t->body_method = subscription_snapshot::is_body_method(w.http_method);
  t->active = w.active;
  t->signing_key = secret_key(w.secret).value_or(std::string());
  if (!w.previous_secret.empty()) {
    t->previous_signing_key = secret_key(w.previous_secret).value_or(std::string());
    t->previous_key_until_ms = w.previous_secret_until_ms;
  }
  // Leniently: a record stored under older URL rules still builds (its attempts fail
  // with the reason when it cannot be delivered at all).
  t->endpoint = parse_stored_webhook_url(w.url);
  if (!w.retry_schedule.empty()) {
    if (auto schedule = parse_retry_schedule(w.retry_schedule)) {
      t->policy = std::make_shared<const retry_policy>(std::move(*schedule), jitter);
    }
  }
  return t;
}

webhook_targets::webhook_targets(const registry& source, double jitter, std::size_t capacity)
    : source_(source), jitter_(jitter), per_shard_(std::max<std::size_t>(1, capacity / k_shards)) {}

result<std::shared_ptr<const webhook_target>> webhook_targets::find(std::uint64_t id) const {
  shard& s = shard_of(id);
  std::shared_ptr<const webhook_target> target;
  // A change landing while the record is read may make this copy the old one: read
  // again until no change came in between (changes of one shard are rare).
  for (;;) {
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(s.mutex);
      if (auto it = s.entries.find(id); it != s.entries.end()) return it->second;
      generation = s.generation;
    }
    auto record = source_.get(id);
    if (!record) {
      if (record.error() == errc::not_found) return std::shared_ptr<const webhook_target>();
      return record.error();
    }
    target = make_target(*record, jitter_);
    std::lock_guard lock(s.mutex);
    if (s.generation != generation) continue;
    if (s.entries.size() >= per_shard_) s.entries.erase(s.entries.begin());
    s.entries.emplace(id, target);
    return target;
  }
}

void webhook_targets::forget(std::uint64_t id) {
  shard& s = shard_of(id);
  std::lock_guard lock(s.mutex);
  s.entries.erase(id);
  ++s.generation;
}

std::size_t webhook_targets::cached() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.entries.size();
  }
  return n;
}

}  // namespace hookd::engine
