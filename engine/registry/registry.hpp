// The seam between the engine and webhook storage: records by id, an account's list,
// the subscription index, and a change feed that reports every durable change. One
// node uses the RocksDB-backed local_registry; on NATS JetStream it is a replicated
// key-value bucket whose watch is the change feed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/engine/webhook_service.hpp"
#include "hookd/errc.hpp"
#include "hookd/webhook_record.hpp"

namespace hookd::engine {

// One durable change: the webhook as it was (nullopt when it was created) and as it
// is now (nullopt when it was deleted).
struct registry_change {
  std::uint64_t id = 0;
  std::optional<webhook_record> now;
  std::optional<webhook_record> before;
};

// One entry of the subscription index: an active webhook subscribed to a type.
struct subscription {
  std::string_view account;
  std::string_view type;
  std::uint64_t id = 0;
  bool body_method = true;  // its HTTP method carries a JSON body (not GET or DELETE)
};

class registry {
 public:
  using change_fn = std::function<boost::system::error_code(webhook_record&)>;
  using watcher = std::function<void(const registry_change&)>;

  virtual ~registry() = default;

  // Stores a new webhook under the next id and returns it with that id.
  [[nodiscard]] virtual result<webhook_record> create(webhook_record record) = 0;
  [[nodiscard]] virtual result<webhook_record> get(std::uint64_t id) const = 0;
  // Read-modify-write of one webhook: `change` edits it (an error aborts without
  // writing); id, account and created_at_ms cannot change.
  [[nodiscard]] virtual result<webhook_record> update(std::uint64_t id,
                                                      const change_fn& change) = 0;
  // not_found when absent.
  [[nodiscard]] virtual result<void> remove(std::uint64_t id) = 0;
  // The account's webhooks with id > after, in id order, at most `limit`.
  [[nodiscard]] virtual result<webhook_page> list(std::string_view account, std::uint64_t after,
                                                  std::size_t limit) const = 0;
  // Ids of the account's active webhooks subscribed to `type`, in id order.
  [[nodiscard]] virtual result<std::vector<std::uint64_t>> subscribers(
      std::string_view account, std::string_view type) const = 0;
  // Every stored webhook, in id order.
  [[nodiscard]] virtual result<void> for_each(
      const std::function<void(const webhook_record&)>& fn) const = 0;
  // Every entry of the subscription index, grouped by (account, type), in id order
  // within a group (start-up: no full record is read).
  [[nodiscard]] virtual result<void> for_each_subscription(
      const std::function<void(const subscription&)>& fn) const = 0;

  // Auto-disable's clock: when the webhook's current run of failed attempts began;
  // nullopt clears it. Not a change of the webhook (no change feed); removed with it.
  [[nodiscard]] virtual result<void> set_failing_since(std::uint64_t id,
                                                       std::optional<std::int64_t> since_ms) = 0;
  // Every webhook with a run of failures under way: (id, since ms).
  [[nodiscard]] virtual result<std::vector<std::pair<std::uint64_t, std::int64_t>>> failing()
      const = 0;

  // Adds a watcher of the change feed: called after every durable change, in the
  // order the changes were made (one at a time), watchers in the order of
  // registration, on the thread that made the change (or the feed's own thread for
  // changes made elsewhere). A watcher must not change the registry. Add watchers
  // before concurrent use.
  virtual void watch(watcher fn) = 0;
};

}  // namespace hookd::engine
