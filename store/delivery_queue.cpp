// Delivery records in RocksDB: the publish batch, outcome batches, batched reads, the
// due queue's scan and a webhook's history.
#include "store/delivery_queue.hpp"

#include <rocksdb/write_batch.h>

#include "store/database_impl.hpp"
#include "store/key_codec.hpp"

namespace hookd::store {
namespace {

std::string_view as_view(const delivery_id& id) {
  return {reinterpret_cast<const char*>(id.data()), id.size()};
}

std::string_view as_view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

delivery_id to_id(std::string_view bytes) {
  delivery_id id{};
  std::copy_n(bytes.begin(), id.size(), id.begin());
  return id;
}

std::string event_key(std::string_view account, std::string_view id) {
  std::string k;
  k.reserve(account.size() + id.size() + 1);
  append_part(k, account);
  k.append(id);
  return k;
}

std::string webhook_delivery_key(std::uint64_t webhook_id, const delivery_id& id) {
  std::string k = be64_key(webhook_id);
  k.append(as_view(id));
  return k;
}

std::string due_key_bytes(std::int64_t due_ms, const delivery_id& id) {
  std::string k = be64_key(static_cast<std::uint64_t>(due_ms));
  k.append(as_view(id));
  return k;
}

// Statuses as the status index files them: in flight is pending on disk.
std::uint8_t status_byte(delivery_status s) {
  return static_cast<std::uint8_t>(s == delivery_status::in_flight ? delivery_status::pending : s);
}

std::string status_prefix(std::uint64_t webhook_id, delivery_status status) {
  std::string k = be64_key(webhook_id);
  k.push_back(static_cast<char>(status_byte(status)));
  return k;
}

std::string status_key(std::uint64_t webhook_id, delivery_status status, const delivery_id& id) {
  std::string k = status_prefix(webhook_id, status);
  k.append(as_view(id));
  return k;
}

std::string event_time_key(std::int64_t occurred_ms, std::string_view account,
                           std::string_view id) {
  std::string k = be64_key(static_cast<std::uint64_t>(std::max<std::int64_t>(occurred_ms, 0)));
  append_part(k, account);
  k.append(id);
  return k;
}

std::string attempt_key(const delivery_id& id, std::uint32_t number) {
  std::string k(as_view(id));
  append_be64(k, number);
  return k;
}

// Set once the status and event-time indexes cover every record.
constexpr std::string_view k_indexes_flag = "indexes.status_and_event_time";

bool in_due_queue(delivery_status s) {
  return s == delivery_status::pending || s == delivery_status::in_flight;
}

}  // namespace

struct delivery_writes::batch {
  rocksdb::WriteBatch wb;
  database::impl* db = nullptr;  // set at first use
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
  if (attempt) wb.Put(d.attempts, attempt_key(after.id, attempt->number), encode_attempt(*attempt));
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
  if (auto ec = to_error(d.db->Write(d.write_options, &wb))) return ec;
  return {};
}

void delivery_writes::clear() {
  batch_->wb.Clear();
  count_ = 0;
}

result<void> delivery_queue::commit(delivery_writes& writes) {
  if (writes.empty()) return {};
  auto& d = db_.internals();
  // On failure the batch is kept, so the caller can write it again later.
  if (auto ec = to_error(d.db->Write(d.write_options, &writes.batch_->wb))) return ec;
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
                                           std::optional<delivery_status> status,
                                           std::size_t limit) const {
  auto& d = db_.internals();
  delivery_page page;
  if (limit == 0) return page;
  // With a status, its own index: the page costs what it returns, however long the
  // webhook's history.
  auto* family = status ? d.webhook_status : d.webhook_deliveries;
  const std::string prefix = status ? status_prefix(webhook_id, *status) : be64_key(webhook_id);
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), family));
  if (after) {
    const std::string start = prefix + std::string(as_view(*after));
    it->Seek(start);
    if (it->Valid() && as_view(it->key()) == start) it->Next();
  } else {
    it->Seek(prefix);
  }
  for (; it->Valid() && as_view(it->key()).starts_with(prefix); it->Next()) {
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

namespace {

// The id right after `id` in byte order.
delivery_id successor(delivery_id id) {
  for (auto i = id.size(); i-- > 0;) {
    if (++id[i] != 0) break;
  }
  return id;
}

// The smallest UUIDv7 of a millisecond: ids of deliveries created before `ms` sort
// below it.
delivery_id first_id_of(std::int64_t ms) {
  delivery_id id{};
  const auto t = static_cast<std::uint64_t>(std::max<std::int64_t>(ms, 0));
  for (int i = 0; i < 6; ++i) id[static_cast<std::size_t>(i)] = (t >> (40 - 8 * i)) & 0xff;
  return id;
}

}  // namespace

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
  if (after) {
    const std::string start = prefix + std::string(as_view(*after));
    it->Seek(start);
    if (it->Valid() && as_view(it->key()) == start) it->Next();
  } else {
    it->Seek(prefix);
  }
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

result<expired_deliveries> delivery_queue::remove_finished_before(
    std::int64_t cutoff_ms, const std::optional<delivery_id>& after, std::size_t limit,
    const std::function<bool(const delivery_id&)>& in_use) {
  auto& d = db_.internals();
  expired_deliveries out;
  const delivery_id end = first_id_of(cutoff_ms);
  rocksdb::WriteBatch wb;
  std::optional<delivery_id> run;  // first of the current run of removable deliveries
  auto close_run = [&](const delivery_id& until) {
    if (!run) return;
    wb.DeleteRange(d.deliveries, as_view(*run), as_view(until));
    wb.DeleteRange(d.attempts, as_view(*run), as_view(until));
    run.reset();
  };
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.deliveries));
  if (after) {
    it->Seek(as_view(*after));
    if (it->Valid() && as_view(it->key()) == as_view(*after)) it->Next();
  } else {
    it->SeekToFirst();
  }
  std::optional<delivery_id> last;  // the last delivery this step looked at
  for (; it->Valid() && as_view(it->key()) < as_view(end); it->Next()) {
    if (last && out.removed + out.kept_events.size() == limit) {
      out.next_after = last;
      break;
    }
    auto rec = decode_delivery(as_view(it->value()));
    if (!rec) return rec.error();
    last = rec->id;
    if (in_due_queue(rec->status) || in_use(rec->id)) {
      close_run(rec->id);
      out.kept_events.emplace_back(rec->account, rec->event_id);
      continue;
    }
    if (!run) run = rec->id;
    wb.Delete(d.webhook_deliveries, webhook_delivery_key(rec->webhook_id, rec->id));
    wb.Delete(d.webhook_status, status_key(rec->webhook_id, rec->status, rec->id));
    ++out.removed;
  }
  if (auto ec = to_error(it->status())) return ec;
  // The range ends right after the last delivery looked at: nothing newer is touched.
  if (run) close_run(successor(*last));
  if (auto ec = to_error(d.db->Write(d.write_options, &wb))) return ec;
  return out;
}

result<std::size_t> delivery_queue::remove_events_before(
    std::int64_t cutoff_ms,
    const std::function<bool(std::string_view account, std::string_view id)>& keep) {
  auto& d = db_.internals();
  const std::string end =
      be64_key(static_cast<std::uint64_t>(std::max<std::int64_t>(cutoff_ms, 0)));
  std::size_t removed = 0;
  rocksdb::WriteBatch wb;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.event_times));
  for (it->SeekToFirst(); it->Valid() && as_view(it->key()) < end; it->Next()) {
    const std::string_view key = as_view(it->key());
    const std::string_view rest = key.substr(8);
    const std::size_t sep = rest.find('\0');
    if (key.size() < 8 || sep == std::string_view::npos) {
      return boost::system::error_code(errc::storage_corruption);
    }
    const std::string_view account = rest.substr(0, sep);
    const std::string_view id = rest.substr(sep + 1);
    if (keep(account, id)) continue;
    wb.Delete(d.events, event_key(account, id));
    wb.Delete(d.event_times, key);
    ++removed;
    if (wb.Count() >= 10'000) {
      if (auto ec = to_error(d.db->Write(d.write_options, &wb))) return ec;
      wb.Clear();
    }
  }
  if (auto ec = to_error(it->status())) return ec;
  if (auto ec = to_error(d.db->Write(d.write_options, &wb))) return ec;
  return removed;
}

result<void> delivery_queue::compact_before(std::int64_t cutoff_ms) {
  auto& d = db_.internals();
  // Range tombstones free space when they are compacted down onto the files under them;
  // the last level itself is not rewritten (that would copy every live delivery on
  // every pass).
  rocksdb::CompactRangeOptions options;
  const delivery_id end_id = first_id_of(cutoff_ms);
  const rocksdb::Slice end_delivery(reinterpret_cast<const char*>(end_id.data()), end_id.size());
  const std::string end_time =
      be64_key(static_cast<std::uint64_t>(std::max<std::int64_t>(cutoff_ms, 0)));
  const rocksdb::Slice end_event_time(end_time);
  for (auto* family : {d.deliveries, d.attempts}) {
    if (auto ec = to_error(d.db->CompactRange(options, family, nullptr, &end_delivery))) return ec;
  }
  if (auto ec = to_error(d.db->CompactRange(options, d.event_times, nullptr, &end_event_time))) {
    return ec;
  }
  return {};
}

result<std::size_t> delivery_queue::build_indexes() {
  auto& d = db_.internals();
  std::string flag;
  auto s = d.db->Get(rocksdb::ReadOptions(), d.meta, k_indexes_flag, &flag);
  if (s.ok()) return std::size_t{0};
  if (!s.IsNotFound()) return to_error(s);
  // Written by a version without the status and event-time indexes: build them once.
  std::size_t n = 0;
  rocksdb::WriteBatch wb;
  auto flush = [&]() -> result<void> {
    if (wb.Count() == 0) return {};
    if (auto ec = to_error(d.db->Write(d.write_options, &wb))) return ec;
    wb.Clear();
    return {};
  };
  {
    std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.deliveries));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto rec = decode_delivery(as_view(it->value()));
      if (!rec) return rec.error();
      wb.Put(d.webhook_status, status_key(rec->webhook_id, rec->status, rec->id), {});
      ++n;
      if (wb.Count() >= 10'000) {
        if (auto r = flush(); !r) return r.error();
      }
    }
    if (auto ec = to_error(it->status())) return ec;
  }
  {
    std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.events));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto ev = decode_event(as_view(it->value()));
      if (!ev) return ev.error();
      wb.Put(d.event_times, event_time_key(ev->occurred_at_ms, ev->account, ev->id), {});
      ++n;
      if (wb.Count() >= 10'000) {
        if (auto r = flush(); !r) return r.error();
      }
    }
    if (auto ec = to_error(it->status())) return ec;
  }
  wb.Put(d.meta, k_indexes_flag, "1");
  if (auto r = flush(); !r) return r.error();
  return n;
}

}  // namespace hookd::store
