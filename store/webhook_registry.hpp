// The webhook registry in RocksDB: records by id, a per-account index for listing,
// and the subscription index (account, event type, id) of active webhooks only.
// A record and its index keys always change in one atomic WriteBatch. A subscription
// key's value says whether the webhook's method carries a body, so start-up builds
// the in-memory index from the index alone.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/errc.hpp"
#include "hookd/webhook_record.hpp"
#include "store/database.hpp"

namespace hookd::store {

struct webhook_page {
  std::vector<webhook_record> webhooks;
  std::optional<std::uint64_t> next_after;  // pass as `after` to read the next page
};

// Webhooks by state, kept in the same batch as every change (so /metrics never counts
// a million records).
struct webhook_counts {
  std::uint64_t active = 0;
  std::uint64_t inactive = 0;  // deactivated by their owner
  std::uint64_t disabled = 0;  // deactivated by hookd (disabled_reason set)
};

class webhook_registry {
 public:
  // Loads the id counter; the database must outlive the registry.
  [[nodiscard]] static result<std::unique_ptr<webhook_registry>> open(database& db);

  // Stores a new webhook under the next id (written into `record.id`) and returns it.
  [[nodiscard]] result<webhook_record> create(webhook_record record);

  [[nodiscard]] result<webhook_record> get(std::uint64_t id) const;

  // Read-modify-write of one webhook under the registry's write lock: `change` edits
  // the record (returning an error aborts without writing). id, account and
  // created_at_ms cannot change. Index keys follow the new state in the same batch.
  // `before`, when given, receives the record as it was.
  using change_fn = std::function<boost::system::error_code(webhook_record&)>;
  [[nodiscard]] result<webhook_record> update(std::uint64_t id, const change_fn& change,
                                              webhook_record* before = nullptr);

  // Removes the webhook and all its index keys, returning what it was. not_found
  // when absent.
  [[nodiscard]] result<webhook_record> remove(std::uint64_t id);

  // The account's webhooks with id > after, in id order, at most `limit`.
  [[nodiscard]] result<webhook_page> list(std::string_view account, std::uint64_t after,
                                          std::size_t limit) const;

  // Ids of the account's active webhooks subscribed to `type`, in id order: one
  // prefix scan of the subscription index.
  [[nodiscard]] result<std::vector<std::uint64_t>> subscribers(std::string_view account,
                                                               std::string_view type) const;

  // Visits every stored webhook in id order (tests, tools).
  [[nodiscard]] result<void> for_each(const std::function<void(const webhook_record&)>& fn) const;

  // Visits the subscription index in key order: (account, type, id) of every active
  // webhook's subscriptions, with whether its method carries a body. Reads no record
  // (except once for entries written before the index carried the method).
  using subscription_fn = std::function<void(std::string_view account, std::string_view type,
                                             std::uint64_t id, bool body_method)>;
  [[nodiscard]] result<void> for_each_subscription(const subscription_fn& fn) const;

  // When the webhook's current run of failed attempts began (auto-disable's clock);
  // nullopt clears it. Kept apart from the record: it changes without the webhook
  // changing, and goes with the webhook when it is removed.
  [[nodiscard]] result<void> set_failing_since(std::uint64_t id,
                                               std::optional<std::int64_t> since_ms);
  // Every webhook with a run of failures under way: (id, since ms), in id order.
  [[nodiscard]] result<std::vector<std::pair<std::uint64_t, std::int64_t>>> failing() const;

  webhook_counts counts() const;

  // The id the next create will use.
  std::uint64_t next_id() const;

 private:
  webhook_registry(database& db, std::uint64_t next_id);

  database& db_;
  mutable std::mutex write_mutex_;  // serialises creates and read-modify-writes
  std::uint64_t next_id_;           // guarded by write_mutex_
  webhook_counts counts_;           // guarded by write_mutex_
};

// Encoding of a record as a RocksDB value; exposed for tests.
std::string encode_webhook(const webhook_record& r);
[[nodiscard]] result<webhook_record> decode_webhook(std::string_view bytes);

}  // namespace hookd::store
