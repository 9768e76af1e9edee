// What the dispatcher needs of a webhook to attempt a delivery (its URL parsed, the
// signing key decoded, its retry schedule), read from the registry when first needed
// and kept in a bounded cache, so memory follows the webhooks receiving deliveries,
// not all the webhooks there are. The registry's change feed evicts changed entries.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <boost/unordered/unordered_flat_map.hpp>

#include "engine/delivery/retry_policy.hpp"
#include "engine/registry/registry.hpp"
#include "engine/registry/webhook_url.hpp"

namespace hookd::engine {

struct webhook_target {
  std::uint64_t id = 0;
  std::string account;
  std::string url;          // as stored; the dispatcher compares it to see a changed webhook
  webhook_url endpoint;     // `url` parsed: where requests go, and the origin (endpoint.origin)
  std::string http_method;  // upper case
  bool body_method = true;  // POST, PUT, PATCH carry a JSON body; GET, DELETE a query
  bool active = false;
  std::string signing_key;  // raw HMAC key decoded from the whsec_ secret
  // The key of the secret before the last rotation, signing too until
  // previous_key_until_ms; empty when none.
  std::string previous_signing_key;
  std::int64_t previous_key_until_ms = 0;
  std::shared_ptr<const retry_policy> policy;  // the webhook's own schedule; null: the engine's
};

// `jitter` applies to a webhook's own retry schedule.
std::shared_ptr<const webhook_target> make_target(const webhook_record& w, double jitter);

class webhook_targets {
 public:
  // `capacity`: webhooks kept at most (an arbitrary one is dropped to make room).
  webhook_targets(const registry& source, double jitter, std::size_t capacity = 65'536);

  // The webhook as it is now (active or not); nullptr when it was deleted; an error
  // when the registry cannot be read. Thread-safe.
  [[nodiscard]] result<std::shared_ptr<const webhook_target>> find(std::uint64_t id) const;
  // Drops a changed webhook; call from the change feed, before anyone acts on it.
  void forget(std::uint64_t id);

  std::size_t cached() const;

 private:
  static constexpr std::size_t k_shards = 64;
  struct shard {
    mutable std::mutex mutex;
    boost::unordered_flat_map<std::uint64_t, std::shared_ptr<const webhook_target>> entries;
    std::uint64_t generation = 0;  // moves on every forget: a read racing a change is not kept
  };

  shard& shard_of(std::uint64_t id) const { return shards_[id % k_shards]; }

  const registry& source_;
  double jitter_;
  std::size_t per_shard_;
  mutable std::array<shard, k_shards> shards_;
};

}  // namespace hookd::engine
