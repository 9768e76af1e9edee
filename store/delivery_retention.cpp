// Retention of the delivery records (finished deliveries with their attempts and index
// entries, then events none of whose deliveries is unfinished) and the one-time build of
// the status and event-time indexes for databases written before them.
#include <rocksdb/write_batch.h>

#include "store/database_impl.hpp"
#include "store/delivery_keys.hpp"
#include "store/delivery_queue.hpp"

namespace hookd::store {

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
    // The run's first record goes by a point delete and the range starts one byte past
    // it: no range's start is then as long as a delivery id, so the memtable insert hint
    // of the deliveries (database.cpp, delivery_id_hint) never meets one.
    wb.Delete(d.deliveries, as_view(*run));
    std::string start(as_view(*run));
    start.push_back('\0');
    wb.DeleteRange(d.deliveries, start, as_view(until));
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
  if (run) close_run(id_after(*last));
  if (auto ec = d.write(write_kind::progress, wb)) return ec;
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
      if (auto ec = d.write(write_kind::progress, wb)) return ec;
      wb.Clear();
    }
  }
  if (auto ec = to_error(it->status())) return ec;
  if (auto ec = d.write(write_kind::progress, wb)) return ec;
  return removed;
}

result<void> delivery_queue::compact_before(std::int64_t cutoff_ms) {
  auto& d = db_.internals();
  // A compaction writes its output before it deletes its inputs: with the disk nearly
  // full, the deletions wait for the ordinary compactions instead.
  if (d.space && d.space->state() == space_state::critical) return {};
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
    if (auto ec = d.write(write_kind::progress, wb)) return ec;
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
