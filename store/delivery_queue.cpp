#include "store/delivery_queue.hpp"

#include <rocksdb/write_batch.h>

#include "store/database_impl.hpp"
#include "store/key_codec.hpp"
#include "store/record_codec.hpp"

namespace hookd::store {
namespace {

constexpr std::uint8_t k_version = 1;

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

std::string attempt_key(const delivery_id& id, std::uint32_t number) {
  std::string k(as_view(id));
  append_be64(k, number);
  return k;
}

bool in_due_queue(delivery_status s) {
  return s == delivery_status::pending || s == delivery_status::in_flight;
}

}  // namespace

std::string_view to_string(delivery_status s) noexcept {
  switch (s) {
    case delivery_status::pending:
      return "pending";
    case delivery_status::in_flight:
      return "in_flight";
    case delivery_status::succeeded:
      return "succeeded";
    case delivery_status::failed:
      return "failed";
    case delivery_status::cancelled:
      return "cancelled";
  }
  return "pending";
}

std::optional<delivery_status> parse_delivery_status(std::string_view s) noexcept {
  for (auto st : {delivery_status::pending, delivery_status::in_flight, delivery_status::succeeded,
                  delivery_status::failed, delivery_status::cancelled}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

std::string encode_event(const event_record& e) {
  record_writer w;
  w.reserve(e.payload.size() + e.account.size() + e.id.size() + e.type.size() + 64);
  w.u8(k_version);
  w.str(e.account);
  w.str(e.id);
  w.str(e.type);
  w.i64(e.occurred_at_ms);
  w.u64(e.deliveries);
  w.str(e.payload);
  return w.take();
}

result<event_record> decode_event(std::string_view bytes) {
  record_reader r(bytes);
  event_record e;
  std::uint8_t v = 0;
  if (r.u8(v) && v == k_version && r.str(e.account) && r.str(e.id) && r.str(e.type) &&
      r.i64(e.occurred_at_ms) && r.u64(e.deliveries) && r.str(e.payload) && r.done()) {
    return e;
  }
  return boost::system::error_code(errc::storage_corruption);
}

std::string encode_delivery(const delivery_record& d) {
  record_writer w;
  w.reserve(96 + d.account.size() + d.event_id.size() + d.event_type.size());
  w.u8(k_version);
  w.raw(as_view(d.id));
  w.u64(d.webhook_id);
  w.str(d.account);
  w.str(d.event_id);
  w.str(d.event_type);
  w.u8(static_cast<std::uint8_t>(d.status));
  w.i64(d.created_at_ms);
  w.i64(d.updated_at_ms);
  w.u64(d.attempts);
  w.i64(d.next_attempt_at_ms);
  return w.take();
}

result<delivery_record> decode_delivery(std::string_view bytes) {
  record_reader r(bytes);
  delivery_record d;
  std::uint8_t v = 0;
  std::uint8_t status = 0;
  std::string id;
  std::uint64_t attempts = 0;
  if (r.u8(v) && v == k_version && r.raw(id, d.id.size()) && r.u64(d.webhook_id) &&
      r.str(d.account) && r.str(d.event_id) && r.str(d.event_type) && r.u8(status) &&
      status <= static_cast<std::uint8_t>(delivery_status::cancelled) && r.i64(d.created_at_ms) &&
      r.i64(d.updated_at_ms) && r.u64(attempts) && r.i64(d.next_attempt_at_ms) && r.done()) {
    d.id = to_id(id);
    d.status = static_cast<delivery_status>(status);
    d.attempts = static_cast<std::uint32_t>(attempts);
    return d;
  }
  return boost::system::error_code(errc::storage_corruption);
}

std::string encode_attempt(const attempt_record& a) {
  record_writer w;
  w.u8(k_version);
  w.u64(a.number);
  w.i64(a.at_ms);
  w.u64(a.duration_ms);
  w.u64(a.status_code);
  w.str(a.error_kind);
  w.str(a.error);
  w.str(a.response_excerpt);
  w.u8(a.manual ? 1 : 0);
  return w.take();
}

result<attempt_record> decode_attempt(std::string_view bytes) {
  record_reader r(bytes);
  attempt_record a;
  std::uint8_t v = 0;
  std::uint64_t number = 0, duration = 0, status = 0;
  std::uint8_t manual = 0;
  if (r.u8(v) && v == k_version && r.u64(number) && r.i64(a.at_ms) && r.u64(duration) &&
      r.u64(status) && r.str(a.error_kind) && r.str(a.error) && r.str(a.response_excerpt) &&
      r.u8(manual) && r.done()) {
    a.number = static_cast<std::uint32_t>(number);
    a.duration_ms = static_cast<std::uint32_t>(duration);
    a.status_code = static_cast<std::uint32_t>(status);
    a.manual = manual != 0;
    return a;
  }
  return boost::system::error_code(errc::storage_corruption);
}

// ---------------------------------------------------------------------------

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
                             const attempt_record* attempt) {
  // The column family handles are the database's; the batch only records them.
  auto& d = *batch_->db;
  auto& wb = batch_->wb;
  wb.Put(d.deliveries, as_view(after.id), encode_delivery(after));
  if (previous_due_ms != 0) wb.Delete(d.due, due_key_bytes(previous_due_ms, after.id));
  if (in_due_queue(after.status)) {
    wb.Put(d.due, due_key_bytes(after.next_attempt_at_ms, after.id), be64_key(after.webhook_id));
  }
  if (attempt) wb.Put(d.attempts, attempt_key(after.id, attempt->number), encode_attempt(*attempt));
  ++count_;
}

result<void> delivery_queue::publish(const event_record& event,
                                     std::span<const delivery_record> deliveries,
                                     std::uint64_t publisher) {
  auto& d = db_.internals();
  rocksdb::WriteBatch wb;
  wb.Put(d.events, event_key(event.account, event.id), encode_event(event));
  for (const auto& del : deliveries) {
    wb.Put(d.deliveries, as_view(del.id), encode_delivery(del));
    wb.Put(d.webhook_deliveries, webhook_delivery_key(del.webhook_id, del.id), {});
    std::string value = be64_key(del.webhook_id);
    if (publisher != 0) append_be64(value, publisher);
    wb.Put(d.due, due_key_bytes(del.next_attempt_at_ms, del.id), value);
  }
  if (auto ec = to_error(d.db->Write(d.write_options, &wb))) return ec;
  return {};
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
  const std::string prefix = be64_key(webhook_id);
  std::unique_ptr<rocksdb::Iterator> it(
      d.db->NewIterator(rocksdb::ReadOptions(), d.webhook_deliveries));
  if (after) {
    const std::string start = webhook_delivery_key(webhook_id, *after);
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
    if (status && rec->status != *status) continue;
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
    const std::function<void(const due_key&, std::uint64_t, std::uint64_t)>& fn) const {
  auto& d = db_.internals();
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.due));
  std::size_t n = 0;
  // Due times before the epoch sort as huge unsigned values; clamp the start.
  const std::string start = due_key_bytes(std::max<std::int64_t>(from.due_ms, 0), from.id);
  for (it->Seek(start); it->Valid() && n < limit; it->Next()) {
    const std::string_view key = as_view(it->key());
    const std::string_view value = as_view(it->value());
    const auto webhook = read_be64(value.substr(0, 8));
    const auto publisher =
        value.size() == 16 ? read_be64(value.substr(8)) : std::optional<std::uint64_t>(0);
    if (key.size() != 24 || !webhook || !publisher) {
      return boost::system::error_code(errc::storage_corruption);
    }
    const due_key entry{static_cast<std::int64_t>(*read_be64(key.substr(0, 8))),
                        to_id(key.substr(8))};
    if (entry.due_ms >= before_ms) break;
    fn(entry, *webhook, *publisher);
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
  const std::string prefix = be64_key(webhook_id);
  std::unique_ptr<rocksdb::Iterator> it(
      d.db->NewIterator(rocksdb::ReadOptions(), d.webhook_deliveries));
  for (it->Seek(prefix);
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
    std::uint64_t webhook_id) const {
  auto& d = db_.internals();
  std::vector<delivery_record> out;
  const std::string prefix = be64_key(webhook_id);
  std::unique_ptr<rocksdb::Iterator> it(
      d.db->NewIterator(rocksdb::ReadOptions(), d.webhook_deliveries));
  for (it->Seek(prefix); it->Valid() && as_view(it->key()).starts_with(prefix); it->Next()) {
    auto rec = get(to_id(as_view(it->key()).substr(prefix.size())));
    if (!rec) {
      if (rec.error() == errc::not_found) continue;
      return rec.error();
    }
    if (in_due_queue(rec->status)) out.push_back(std::move(*rec));
  }
  if (auto ec = to_error(it->status())) return ec;
  return out;
}

}  // namespace hookd::store
