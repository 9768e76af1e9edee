// The in-memory subscription index the hot path matches against: an immutable
// snapshot of every webhook, rebuilt when the registry changes and swapped in
// atomically, so publish never takes a lock shared with registry writes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/delivery/retry_policy.hpp"
#include "engine/registry/webhook_url.hpp"
#include "store/webhook_record.hpp"

namespace hookd::engine {

// What the dispatcher needs of a webhook, prepared once per snapshot.
struct webhook_target {
  std::uint64_t id = 0;
  std::string account;
  std::string url;          // as stored; the dispatcher compares it to see a changed webhook
  webhook_url endpoint;     // `url` parsed: where requests go, and the origin (endpoint.origin)
  std::string http_method;  // upper case
  bool body_method = true;  // POST, PUT, PATCH carry a JSON body; GET, DELETE a query
  bool active = false;
  std::string signing_key;                     // raw HMAC key decoded from the whsec_ secret
  std::shared_ptr<const retry_policy> policy;  // the webhook's own schedule; null: the engine's
};

class subscription_snapshot {
 public:
  // `jitter` applies to webhooks with their own retry schedule.
  static std::shared_ptr<const subscription_snapshot> build(
      const std::vector<store::webhook_record>& webhooks, double jitter = 0.1);

  // Active webhooks of `account` subscribed to `type`, in id order.
  std::span<const std::shared_ptr<const webhook_target>> match(std::string_view account,
                                                               std::string_view type) const;
  // Any stored webhook by id (active or not); nullptr when deleted.
  std::shared_ptr<const webhook_target> find(std::uint64_t id) const;
  std::size_t size() const noexcept { return by_id_.size(); }

 private:
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // Keyed by account "\0" type.
  std::unordered_map<std::string, std::vector<std::shared_ptr<const webhook_target>>, key_hash,
                     std::equal_to<>>
      by_subscription_;
  std::unordered_map<std::uint64_t, std::shared_ptr<const webhook_target>> by_id_;
};

}  // namespace hookd::engine
