// Delivery records in RocksDB: the publish batch, outcome batches, batched reads, the
// due queue's scan and a webhook's history.
#include "store/delivery_queue.hpp"

#include <map>
#include <utility>

#include <rocksdb/write_batch.h>

#include "store/database_impl.hpp"
#include "store/delivery_keys.hpp"
#include "store/key_codec.hpp"
#include "store/webhook_stats.hpp"

namespace hookd::store {

struct delivery_writes::batch {
  rocksdb::WriteBatch wb;
  database::impl* db = nullptr;  // set at first use
  // The batch's attempts by (webhook, hour), added to webhook_stats as one merge each
  // when it is committed (once: a batch written again after a failure already has them).
  std::map<std::pair<std::uint64_t, std::int64_t>, stats_counts> stats;
};

delivery_writes::delivery_writes(database& db) : batch_(std::make_unique<batch>()) {
  batch_->db = &db.internals();
}
delivery_writes::~delivery_writes() = default;
delivery_writes::delivery_writes(delivery_writes&&) noexcept = default;
delivery_writes& delivery_writes::operator=(delivery_writes&&) noexcept = default;

delivery_queue::delivery_queue(database& db) : db_(db) {}

delivery_writes delivery_queue::writes() const { return delivery_writes(db_); }

void delivery_writes::update(const delivery_record& after, std::int64_t previous_due_ms,
                             delivery_status previous_status, const attempt_record* attempt) {
  // The column family handles are the database's; the batch only records them.
  auto& d = *batch_->db;
  auto& wb = batch_->wb;
  wb.Put(d.deliveries, as_view(after.id), encode_delivery(after));
  if (status_byte(previous_status) != status_byte(after.status)) {
    wb.Delete(d.webhook_status, status_key(after.webhook_id, previous_status, after.id));
    wb.Put(d.webhook_status, status_key(after.webhook_id, after.status, after.id), {});
  }
  if (previous_due_ms != 0) wb.Delete(d.due, due_key_bytes(previous_due_ms, after.id));
  if (in_due_queue(after.status)) {
    wb.Put(d.due, due_key_bytes(after.next_attempt_at_ms, after.id), be64_key(after.webhook_id));
  }
  if (attempt) {
    wb.Put(d.attempts, attempt_key(after.id, attempt->number), encode_attempt(*attempt));
    const std::int64_t hour = stats_bucket_of(attempt->at_ms);
    auto& c = batch_->stats[{after.webhook_id, hour}];
    ++c.attempts;
    if (after.status == delivery_status::succeeded) {
      ++c.succeeded;
    } else {
      ++c.failed_attempts;
      if (after.status == delivery_status::failed && !attempt->manual) ++c.failed_deliveries;
    }
    c.duration_ms += attempt->duration_ms;
  }
  ++count_;
}

result<void> delivery_queue::publish(const event_record& event,
                                     std::span<const delivery_record> deliveries) {
  auto& d = db_.internals();
  rocksdb::WriteBatch wb;
  wb.Put(d.events, event_key(event.account, event.id), encode_event(event));
  wb.Put(d.event_times, event_time_key(event.occurred_at_ms, event.account, event.id), {});
  for (const auto& del : deliveries) {
    wb.Put(d.deliveries, as_view(del.id), encode_delivery(del));
    wb.Put(d.webhook_deliveries, webhook_delivery_key(del.webhook_id, del.id), {});
    wb.Put(d.webhook_status, status_key(del.webhook_id, del.status, del.id), {});
    wb.Put(d.due, due_key_bytes(del.next_attempt_at_ms, del.id), be64_key(del.webhook_id));
  }
  if (auto ec = d.write(write_kind::intake, wb)) return ec;
  return {};
}

void delivery_writes::clear() {
  batch_->wb.Clear();
  batch_->stats.clear();
  count_ = 0;
}

result<void> delivery_queue::commit(delivery_writes& writes) {
  if (writes.empty()) return {};
  auto& d = db_.internals();
  for (const auto& [key, counts] : writes.batch_->stats) {
    writes.batch_->wb.Merge(d.webhook_stats, stats_key(key.first, key.second),
                            encode_stats(counts));
  }
  writes.batch_->stats.clear();
  // On failure the batch is kept, so the caller can write it again later.
  if (auto ec = d.write(write_kind::progress, writes.batch_->wb)) return ec;
  writes.batch_->wb.Clear();
  writes.count_ = 0;
  return {};
}

result<event_record> delivery_queue::find_event(std::string_view account,
                                                std::string_view id) const {
  auto& d = db_.internals();
  std::string value;
  auto s = d.db->Get(rocksdb::ReadOptions(), d.events, event_key(account, id), &value);
  if (!s.ok()) return to_error(s);
  return decode_event(value);
}

result<delivery_record> delivery_queue::get(const delivery_id& id) const {
  auto& d = db_.internals();
  std::string value;
  auto s = d.db->Get(rocksdb::ReadOptions(), d.deliveries, as_view(id), &value);
  if (!s.ok()) return to_error(s);
  return decode_delivery(value);
}

std::vector<result<delivery_record>> delivery_queue::get_many(
    std::span<const delivery_id> ids) const {
  auto& d = db_.internals();
  std::vector<rocksdb::Slice> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.emplace_back(reinterpret_cast<const char*>(id.data()), id.size());
  std::vector<rocksdb::PinnableSlice> values(ids.size());
  std::vector<rocksdb::Status> statuses(ids.size());
  d.db->MultiGet(rocksdb::ReadOptions(), d.deliveries, keys.size(), keys.data(), values.data(),
                 statuses.data());
  std::vector<result<delivery_record>> out;
  out.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!statuses[i].ok()) {
      out.emplace_back(to_error(statuses[i]));
    } else {
      out.push_back(decode_delivery(std::string_view(values[i].data(), values[i].size())));
    }
  }
  return out;
}

std::vector<result<event_record>> delivery_queue::find_events(
    std::span<const std::pair<std::string, std::string>> wanted) const {
  auto& d = db_.internals();
  std::vector<std::string> key_bytes;
  key_bytes.reserve(wanted.size());
  for (const auto& [account, id] : wanted) key_bytes.push_back(event_key(account, id));
  std::vector<rocksdb::Slice> keys(key_bytes.begin(), key_bytes.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  d.db->MultiGet(rocksdb::ReadOptions(), d.events, keys.size(), keys.data(), values.data(),
                 statuses.data());
  std::vector<result<event_record>> out;
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!statuses[i].ok()) {
      out.emplace_back(to_error(statuses[i]));
    } else {
      out.push_back(decode_event(std::string_view(values[i].data(), values[i].size())));
    }
  }
  return out;
}

result<std::vector<attempt_record>> delivery_queue::attempts(const delivery_id& id) const {
  auto& d = db_.internals();
  std::vector<attempt_record> out;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.attempts));
  const std::string_view prefix = as_view(id);
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
       it->Valid() && as_view(it->key()).starts_with(prefix); it->Next()) {
    auto a = decode_attempt(as_view(it->value()));
    if (!a) return a.error();
    out.push_back(std::move(*a));
  }
  if (auto ec = to_error(it->status())) return ec;
  return out;
}

result<delivery_page> delivery_queue::list(std::uint64_t webhook_id,
                                           const std::optional<delivery_id>& after,
                                           std::optional<delivery_status> status, std::size_t limit,
                                           list_order order) const {
  auto& d = db_.internals();
  delivery_page page;
  if (limit == 0) return page;
  // With a status, its own index: the page costs what it returns, however long the
  // webhook's history.
  auto* family = status ? d.webhook_status : d.webhook_deliveries;
  const std::string prefix = status ? status_prefix(webhook_id, *status) : be64_key(webhook_id);
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), family));
  const bool newest_first = order == list_order::newest_first;
  if (newest_first) {
    seek_before(*it, prefix, after);
  } else {
    seek_after(*it, prefix, after);
  }
  for (; it->Valid() && as_view(it->key()).starts_with(prefix);
       newest_first ? it->Prev() : it->Next()) {
    const delivery_id id = to_id(as_view(it->key()).substr(prefix.size()));
    auto rec = get(id);
    if (!rec) {
      // Removed by retention between the index read and this one: skip it.
      if (rec.error() == errc::not_found) continue;
      return rec.error();
    }
    // The record is the truth: an index entry of a state it has just left is skipped.
    if (status && status_byte(rec->status) != status_byte(*status)) continue;
    if (page.deliveries.size() == limit) {
      page.next_after = page.deliveries.back().id;
      break;
    }
    page.deliveries.push_back(std::move(*rec));
  }
  if (auto ec = to_error(it->status())) return ec;
  return page;
}

result<std::size_t> delivery_queue::scan_due(
    const due_key& from, std::int64_t before_ms, std::size_t limit,
    const std::function<void(const due_key&, std::uint64_t)>& fn) const {
  auto& d = db_.internals();
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.due));
  std::size_t n = 0;
  // Due times before the epoch sort as huge unsigned values; clamp the start.
  const std::string start = due_key_bytes(std::max<std::int64_t>(from.due_ms, 0), from.id);
  for (it->Seek(start); it->Valid() && n < limit; it->Next()) {
    const std::string_view key = as_view(it->key());
    const std::string_view value = as_view(it->value());
    // 16-byte values of earlier versions carry a publisher id after the webhook id.
    const auto webhook = read_be64(value.substr(0, 8));
    if (key.size() != 24 || !webhook || (value.size() != 8 && value.size() != 16)) {
      return boost::system::error_code(errc::storage_corruption);
    }
    const due_key entry{static_cast<std::int64_t>(*read_be64(key.substr(0, 8))),
                        to_id(key.substr(8))};
    if (entry.due_ms >= before_ms) break;
    fn(entry, *webhook);
    ++n;
  }
  if (auto ec = to_error(it->status())) return ec;
  return n;
}

result<std::vector<delivery_record>> delivery_queue::failed_of_webhook(std::uint64_t webhook_id,
                                                                       std::int64_t since_ms,
                                                                       std::size_t limit) const {
  auto& d = db_.internals();
  std::vector<delivery_record> out;
  const std::string prefix = status_prefix(webhook_id, delivery_status::failed);
  std::unique_ptr<rocksdb::Iterator> it(
      d.db->NewIterator(rocksdb::ReadOptions(), d.webhook_status));
  // Ids are time-ordered: the first created at or after since_ms is where to start.
  for (it->Seek(prefix + std::string(as_view(first_id_of(since_ms))));
       it->Valid() && as_view(it->key()).starts_with(prefix) && out.size() < limit; it->Next()) {
    auto rec = get(to_id(as_view(it->key()).substr(prefix.size())));
    if (!rec) {
      if (rec.error() == errc::not_found) continue;
      return rec.error();
    }
    if (rec->status == delivery_status::failed && rec->created_at_ms >= since_ms) {
      out.push_back(std::move(*rec));
    }
  }
  if (auto ec = to_error(it->status())) return ec;
  return out;
}

result<std::vector<delivery_record>> delivery_queue::pending_of_webhook(
    std::uint64_t webhook_id, const std::optional<delivery_id>& after, std::size_t limit) const {
  auto& d = db_.internals();
  std::vector<delivery_record> out;
  const std::string prefix = status_prefix(webhook_id, delivery_status::pending);
  std::unique_ptr<rocksdb::Iterator> it(
      d.db->NewIterator(rocksdb::ReadOptions(), d.webhook_status));
  seek_after(*it, prefix, after);
  std::vector<delivery_id> ids;
  for (; it->Valid() && as_view(it->key()).starts_with(prefix) && ids.size() < limit; it->Next()) {
    ids.push_back(to_id(as_view(it->key()).substr(prefix.size())));
  }
  if (auto ec = to_error(it->status())) return ec;
  auto records = get_many(ids);
  for (auto& rec : records) {
    if (!rec) {
      if (rec.error() == errc::not_found) continue;
      return rec.error();
    }
    if (in_due_queue(rec->status)) out.push_back(std::move(*rec));
  }
  return out;
}

}  // namespace hookd::store
