// Internal to store/: the key layouts of the delivery families (events, deliveries,
// the per-webhook and per-status indexes, the due queue, attempts, event times), shared
// by the delivery queue's reads and writes and by retention.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include <optional>

#include <rocksdb/iterator.h>
#include <rocksdb/slice.h>

#include "store/delivery_records.hpp"
#include "store/key_codec.hpp"

namespace hookd::store {

inline std::string_view as_view(const delivery_id& id) {
  return {reinterpret_cast<const char*>(id.data()), id.size()};
}

inline std::string_view as_view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

inline delivery_id to_id(std::string_view bytes) {
  delivery_id id{};
  std::copy_n(bytes.begin(), id.size(), id.begin());
  return id;
}

inline std::string event_key(std::string_view account, std::string_view id) {
  std::string k;
  k.reserve(account.size() + id.size() + 1);
  append_part(k, account);
  k.append(id);
  return k;
}

inline std::string webhook_delivery_key(std::uint64_t webhook_id, const delivery_id& id) {
  std::string k = be64_key(webhook_id);
  k.append(as_view(id));
  return k;
}

inline std::string due_key_bytes(std::int64_t due_ms, const delivery_id& id) {
  std::string k = be64_key(static_cast<std::uint64_t>(due_ms));
  k.append(as_view(id));
  return k;
}

// Statuses as the status index files them: in flight is pending on disk.
inline std::uint8_t status_byte(delivery_status s) {
  return static_cast<std::uint8_t>(s == delivery_status::in_flight ? delivery_status::pending : s);
}

inline std::string status_prefix(std::uint64_t webhook_id, delivery_status status) {
  std::string k = be64_key(webhook_id);
  k.push_back(static_cast<char>(status_byte(status)));
  return k;
}

inline std::string status_key(std::uint64_t webhook_id, delivery_status status,
                              const delivery_id& id) {
  std::string k = status_prefix(webhook_id, status);
  k.append(as_view(id));
  return k;
}

inline std::string event_time_key(std::int64_t occurred_ms, std::string_view account,
                                  std::string_view id) {
  std::string k = be64_key(static_cast<std::uint64_t>(std::max<std::int64_t>(occurred_ms, 0)));
  append_part(k, account);
  k.append(id);
  return k;
}

inline std::string attempt_key(const delivery_id& id, std::uint32_t number) {
  std::string k(as_view(id));
  append_be64(k, number);
  return k;
}

// Set once the status and event-time indexes cover every record.
inline constexpr std::string_view k_indexes_flag = "indexes.status_and_event_time";

inline bool in_due_queue(delivery_status s) {
  return s == delivery_status::pending || s == delivery_status::in_flight;
}

// The id right after `id` in byte order.
inline delivery_id id_after(delivery_id id) {
  for (auto i = id.size(); i-- > 0;) {
    if (++id[i] != 0) break;
  }
  return id;
}

// The smallest UUIDv7 of a millisecond: ids of deliveries created before `ms` sort
// below it.
inline delivery_id first_id_of(std::int64_t ms) {
  delivery_id id{};
  const auto t = static_cast<std::uint64_t>(std::max<std::int64_t>(ms, 0));
  for (int i = 0; i < 6; ++i) id[static_cast<std::size_t>(i)] = (t >> (40 - 8 * i)) & 0xff;
  return id;
}

// Positions `it` at the first key under `prefix` after prefix + `after` (exclusive), or
// at the prefix's first key: one page of an index read on from the last.
inline void seek_after(rocksdb::Iterator& it, const std::string& prefix,
                       const std::optional<delivery_id>& after) {
  if (!after) {
    it.Seek(prefix);
    return;
  }
  const std::string start = prefix + std::string(as_view(*after));
  it.Seek(start);
  if (it.Valid() && as_view(it.key()) == start) it.Next();
}

// The same backwards: the last key under `prefix` before `prefix + before`, or the last
// key under `prefix` when there is no `before`; iterate with Prev().
inline void seek_before(rocksdb::Iterator& it, const std::string& prefix,
                        const std::optional<delivery_id>& before) {
  if (!before) {
    // Past every id under the prefix: ids are 16 bytes, so 17 0xff bytes sort after.
    it.SeekForPrev(prefix + std::string(17, '\xff'));
    return;
  }
  const std::string start = prefix + std::string(as_view(*before));
  it.SeekForPrev(start);
  if (it.Valid() && as_view(it.key()) == start) it.Prev();
}

}  // namespace hookd::store
