// Webhook records and their index keys in RocksDB, always changed together in one
// WriteBatch, with the id counter in the same batch.
#include "store/webhook_registry.hpp"

#include <algorithm>
#include <cstring>

#include <rocksdb/write_batch.h>

#include "store/database_impl.hpp"
#include "store/key_codec.hpp"
#include "store/record_codec.hpp"
#include "store/webhook_stats.hpp"

namespace hookd::store {
namespace {

constexpr std::string_view k_next_webhook_id = "next_webhook_id";
// "failing_since/" be64(id) -> be64(since ms), in the meta family.
constexpr std::string_view k_failing_prefix = "failing_since/";

std::string failing_key(std::uint64_t id) {
  std::string k(k_failing_prefix);
  append_be64(k, id);
  return k;
}
// Version 2 added retry_schedule at the end, version 3 the previous secret and its end;
// older records read as "default" and "none".
constexpr std::uint8_t k_record_version = 3;

std::string account_key(std::string_view account, std::uint64_t id) {
  std::string k;
  k.reserve(account.size() + 9);
  append_part(k, account);
  append_be64(k, id);
  return k;
}

std::string subscription_prefix(std::string_view account, std::string_view type) {
  std::string k;
  k.reserve(account.size() + type.size() + 10);
  append_part(k, account);
  append_part(k, type);
  return k;
}

std::string subscription_key(std::string_view account, std::string_view type, std::uint64_t id) {
  std::string k = subscription_prefix(account, type);
  append_be64(k, id);
  return k;
}

// A subscription's value: 'b' when the webhook's method carries a JSON body, 'q' when
// the payload goes in the query (GET, DELETE). Empty in databases written before.
constexpr std::string_view k_body_method = "b";
constexpr std::string_view k_query_method = "q";

bool is_body_method(std::string_view method) { return method != "GET" && method != "DELETE"; }

// Index keys of a record: subscriptions exist only while the webhook is active.
void put_index(rocksdb::WriteBatch& batch, database::impl& d, const webhook_record& r) {
  batch.Put(d.account_webhooks, account_key(r.account, r.id), {});
  if (!r.active) return;
  const std::string_view method = is_body_method(r.http_method) ? k_body_method : k_query_method;
  for (const auto& type : r.events) {
    batch.Put(d.subscriptions, subscription_key(r.account, type, r.id), method);
  }
}

void delete_index(rocksdb::WriteBatch& batch, database::impl& d, const webhook_record& r) {
  batch.Delete(d.account_webhooks, account_key(r.account, r.id));
  for (const auto& type : r.events) {
    batch.Delete(d.subscriptions, subscription_key(r.account, type, r.id));
  }
}

}  // namespace

bool webhook_record::subscribes_to(std::string_view type) const {
  return std::binary_search(events.begin(), events.end(), type);
}

std::string encode_webhook(const webhook_record& r) {
  record_writer w;
  w.u8(k_record_version);
  w.u64(r.id);
  w.str(r.account);
  w.str(r.name);
  w.u8(r.active ? 1 : 0);
  w.u64(r.events.size());
  for (const auto& e : r.events) w.str(e);
  w.str(r.url);
  w.str(r.http_method);
  w.str(r.secret);
  w.u64(static_cast<std::uint64_t>(r.created_at_ms));
  w.u64(static_cast<std::uint64_t>(r.updated_at_ms));
  w.str(r.disabled_reason);
  w.str(r.retry_schedule);
  w.str(r.previous_secret);
  w.u64(static_cast<std::uint64_t>(r.previous_secret_until_ms));
  return w.take();
}

result<webhook_record> decode_webhook(std::string_view bytes) {
  record_reader in(bytes);
  webhook_record r;
  std::uint8_t version = 0;
  std::uint8_t active = 0;
  std::uint64_t n_events = 0;
  std::uint64_t created = 0;
  std::uint64_t updated = 0;
  std::uint64_t previous_until = 0;
  bool ok = in.u8(version) && version >= 1 && version <= k_record_version && in.u64(r.id) &&
            in.str(r.account) && in.str(r.name) && in.u8(active) && in.u64(n_events) &&
            n_events <= bytes.size();
  for (std::uint64_t i = 0; ok && i < n_events; ++i) {
    ok = in.str(r.events.emplace_back());
  }
  ok = ok && in.str(r.url) && in.str(r.http_method) && in.str(r.secret) && in.u64(created) &&
       in.u64(updated) && in.str(r.disabled_reason) && (version < 2 || in.str(r.retry_schedule)) &&
       (version < 3 || (in.str(r.previous_secret) && in.u64(previous_until))) && in.done();
  if (!ok) return boost::system::error_code(errc::storage_corruption);
  r.active = active != 0;
  r.created_at_ms = static_cast<std::int64_t>(created);
  r.updated_at_ms = static_cast<std::int64_t>(updated);
  r.previous_secret_until_ms = static_cast<std::int64_t>(previous_until);
  return r;
}

webhook_registry::webhook_registry(database& db, std::uint64_t next_id)
    : db_(db), next_id_(next_id) {}

namespace {

constexpr std::string_view k_webhook_counts = "webhooks.counts";

std::uint64_t& count_of(webhook_counts& c, const webhook_record& r) {
  if (r.active) return c.active;
  return r.disabled_reason.empty() ? c.inactive : c.disabled;
}

std::string encode_counts(const webhook_counts& c) {
  return be64_key(c.active) + be64_key(c.inactive) + be64_key(c.disabled);
}

}  // namespace

result<std::unique_ptr<webhook_registry>> webhook_registry::open(database& db) {
  auto& d = db.internals();
  std::string value;
  rocksdb::Status s = d.db->Get(rocksdb::ReadOptions(), d.meta, k_next_webhook_id, &value);
  std::uint64_t next = 1;
  if (s.ok()) {
    auto v = read_be64(value);
    if (!v) return boost::system::error_code(errc::storage_corruption);
    next = *v;
  } else if (!s.IsNotFound()) {
    return to_error(s);
  }
  std::unique_ptr<webhook_registry> registry(new webhook_registry(db, next));
  // The counts by state; a database from before they were kept is counted once.
  value.clear();
  s = d.db->Get(rocksdb::ReadOptions(), d.meta, k_webhook_counts, &value);
  if (s.ok() && value.size() == 24) {
    auto& c = registry->counts_;
    c.active = *read_be64(std::string_view(value).substr(0, 8));
    c.inactive = *read_be64(std::string_view(value).substr(8, 8));
    c.disabled = *read_be64(std::string_view(value).substr(16, 8));
  } else if (s.ok() || s.IsNotFound()) {
    webhook_counts c;
    auto counted = registry->for_each([&](const webhook_record& r) { ++count_of(c, r); });
    if (!counted) return counted.error();
    rocksdb::WriteBatch batch;
    batch.Put(d.meta, k_webhook_counts, encode_counts(c));
    if (auto ec = d.write(write_kind::progress, batch)) return ec;
    registry->counts_ = c;
  } else {
    return to_error(s);
  }
  return registry;
}

webhook_counts webhook_registry::counts() const {
  std::lock_guard lock(write_mutex_);
  return counts_;
}

std::uint64_t webhook_registry::next_id() const {
  std::lock_guard lock(write_mutex_);
  return next_id_;
}

result<webhook_record> webhook_registry::create(webhook_record record) {
  auto& d = db_.internals();
  std::sort(record.events.begin(), record.events.end());
  record.events.erase(std::unique(record.events.begin(), record.events.end()), record.events.end());

  std::lock_guard lock(write_mutex_);
  record.id = next_id_;
  rocksdb::WriteBatch batch;
  // The counter moves in the same batch as the record, so an id is never handed out
  // twice, even when the process dies right after the write.
  batch.Put(d.meta, k_next_webhook_id, be64_key(next_id_ + 1));
  batch.Put(d.webhooks, be64_key(record.id), encode_webhook(record));
  put_index(batch, d, record);
  webhook_counts counts = counts_;
  ++count_of(counts, record);
  batch.Put(d.meta, k_webhook_counts, encode_counts(counts));
  if (auto ec = d.write(write_kind::intake, batch)) return ec;
  counts_ = counts;
  ++next_id_;
  return record;
}

namespace {

result<webhook_record> read_webhook(database::impl& d, const rocksdb::ReadOptions& options,
                                    std::uint64_t id) {
  std::string value;
  rocksdb::Status s = d.db->Get(options, d.webhooks, be64_key(id), &value);
  if (!s.ok()) return to_error(s);
  return decode_webhook(value);
}

// Reads of several keys that must agree with each other use one snapshot.
class snapshot_reads {
 public:
  explicit snapshot_reads(rocksdb::DB& db) : db_(db), snapshot_(db.GetSnapshot()) {
    options.snapshot = snapshot_;
  }
  ~snapshot_reads() { db_.ReleaseSnapshot(snapshot_); }
  snapshot_reads(const snapshot_reads&) = delete;
  snapshot_reads& operator=(const snapshot_reads&) = delete;

  rocksdb::ReadOptions options;

 private:
  rocksdb::DB& db_;
  const rocksdb::Snapshot* snapshot_;
};

}  // namespace

result<webhook_record> webhook_registry::get(std::uint64_t id) const {
  return read_webhook(db_.internals(), rocksdb::ReadOptions(), id);
}

result<webhook_record> webhook_registry::update(std::uint64_t id, const change_fn& change,
                                                webhook_record* previous) {
  auto& d = db_.internals();
  std::lock_guard lock(write_mutex_);
  auto before = get(id);
  if (!before) return before.error();
  if (previous) *previous = *before;
  webhook_record after = *before;
  if (auto ec = change(after)) return ec;
  after.id = before->id;
  after.account = before->account;
  after.created_at_ms = before->created_at_ms;
  std::sort(after.events.begin(), after.events.end());
  after.events.erase(std::unique(after.events.begin(), after.events.end()), after.events.end());

  rocksdb::WriteBatch batch;
  delete_index(batch, d, *before);
  put_index(batch, d, after);
  batch.Put(d.webhooks, be64_key(id), encode_webhook(after));
  webhook_counts counts = counts_;
  --count_of(counts, *before);
  ++count_of(counts, after);
  batch.Put(d.meta, k_webhook_counts, encode_counts(counts));
  if (auto ec = d.write(write_kind::intake, batch)) return ec;
  counts_ = counts;
  return after;
}

result<webhook_record> webhook_registry::remove(std::uint64_t id) {
  auto& d = db_.internals();
  std::lock_guard lock(write_mutex_);
  auto before = get(id);
  if (!before) return before.error();
  rocksdb::WriteBatch batch;
  delete_index(batch, d, *before);
  batch.Delete(d.webhooks, be64_key(id));
  batch.Delete(d.meta, failing_key(id));
  // Its statistics go with it (one range: the family is keyed by webhook first).
  batch.DeleteRange(d.webhook_stats, stats_key(id, 0), stats_key(id + 1, 0));
  webhook_counts counts = counts_;
  --count_of(counts, *before);
  batch.Put(d.meta, k_webhook_counts, encode_counts(counts));
  // A removal lets the disk fill no further: allowed while new work is refused.
  if (auto ec = d.write(write_kind::progress, batch)) return ec;
  counts_ = counts;
  return std::move(*before);
}

result<webhook_page> webhook_registry::list(std::string_view account, std::uint64_t after,
                                            std::size_t limit) const {
  auto& d = db_.internals();
  webhook_page page;
  if (limit == 0 || after == UINT64_MAX) return page;
  std::string prefix;
  append_part(prefix, account);
  snapshot_reads reads(*d.db);
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(reads.options, d.account_webhooks));
  // Seek just past `after`; ids are big-endian so key order is id order.
  it->Seek(account_key(account, after + 1));
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (page.webhooks.size() == limit) {
      page.next_after = page.webhooks.back().id;
      break;
    }
    auto id = read_be64(std::string_view(it->key().data(), it->key().size()).substr(prefix.size()));
    if (!id) return boost::system::error_code(errc::storage_corruption);
    auto record = read_webhook(d, reads.options, *id);
    if (!record) return record.error();
    page.webhooks.push_back(std::move(*record));
  }
  if (auto ec = to_error(it->status())) return ec;
  return page;
}

result<std::vector<std::uint64_t>> webhook_registry::subscribers(std::string_view account,
                                                                 std::string_view type) const {
  auto& d = db_.internals();
  const std::string prefix = subscription_prefix(account, type);
  std::vector<std::uint64_t> ids;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.subscriptions));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto id = read_be64(std::string_view(it->key().data(), it->key().size()).substr(prefix.size()));
    if (!id) return boost::system::error_code(errc::storage_corruption);
    ids.push_back(*id);
  }
  if (auto ec = to_error(it->status())) return ec;
  return ids;
}

result<void> webhook_registry::for_each(
    const std::function<void(const webhook_record&)>& fn) const {
  auto& d = db_.internals();
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.webhooks));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto record = decode_webhook(std::string_view(it->value().data(), it->value().size()));
    if (!record) return record.error();
    fn(*record);
  }
  if (auto ec = to_error(it->status())) return ec;
  return {};
}

result<void> webhook_registry::for_each_subscription(const subscription_fn& fn) const {
  auto& d = db_.internals();
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.subscriptions));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    const std::size_t account_end = key.find('\0');
    const std::size_t type_end =
        account_end == std::string_view::npos ? account_end : key.find('\0', account_end + 1);
    if (type_end == std::string_view::npos)
      return boost::system::error_code(errc::storage_corruption);
    auto id = read_be64(key.substr(type_end + 1));
    if (!id) return boost::system::error_code(errc::storage_corruption);
    const std::string_view value(it->value().data(), it->value().size());
    bool body = value == k_body_method;
    if (value.empty()) {
      // Written before the index carried the method: read it from the record.
      auto record = get(*id);
      if (!record) return record.error();
      body = is_body_method(record->http_method);
    } else if (value != k_query_method && !body) {
      return boost::system::error_code(errc::storage_corruption);
    }
    fn(key.substr(0, account_end), key.substr(account_end + 1, type_end - account_end - 1), *id,
       body);
  }
  if (auto ec = to_error(it->status())) return ec;
  return {};
}

result<void> webhook_registry::set_failing_since(std::uint64_t id,
                                                 std::optional<std::int64_t> since_ms) {
  auto& d = db_.internals();
  std::lock_guard lock(write_mutex_);
  // Only for a webhook that still exists: a late write must not outlive its removal.
  std::string ignored;
  auto exists = d.db->Get(rocksdb::ReadOptions(), d.webhooks, be64_key(id), &ignored);
  if (exists.IsNotFound()) return {};
  if (auto ec = to_error(exists)) return ec;
  rocksdb::WriteBatch batch;
  if (since_ms) {
    batch.Put(d.meta, failing_key(id), be64_key(static_cast<std::uint64_t>(*since_ms)));
  } else {
    batch.Delete(d.meta, failing_key(id));
  }
  if (auto ec = d.write(write_kind::progress, batch)) return ec;
  return {};
}

result<std::vector<std::pair<std::uint64_t, std::int64_t>>> webhook_registry::failing() const {
  auto& d = db_.internals();
  std::vector<std::pair<std::uint64_t, std::int64_t>> out;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.meta));
  for (it->Seek(k_failing_prefix);
       it->Valid() &&
       std::string_view(it->key().data(), it->key().size()).starts_with(k_failing_prefix);
       it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    auto id = read_be64(key.substr(k_failing_prefix.size()));
    auto since = read_be64(std::string_view(it->value().data(), it->value().size()));
    if (!id || !since) return boost::system::error_code(errc::storage_corruption);
    out.emplace_back(*id, static_cast<std::int64_t>(*since));
  }
  if (auto ec = to_error(it->status())) return ec;
  return out;
}

}  // namespace hookd::store
