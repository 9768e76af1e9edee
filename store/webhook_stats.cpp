// The statistics family's encoding, its merge operator and its reads.
#include "store/webhook_stats.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include "store/database_impl.hpp"
#include "store/key_codec.hpp"

namespace hookd::store {
namespace {

constexpr std::size_t k_fields = 5;

void put_le64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_le64(std::string_view in, std::size_t field) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(in[field * 8 + static_cast<std::size_t>(i)]);
  }
  return v;
}

}  // namespace

std::string encode_stats(const stats_counts& c) {
  std::string out;
  out.reserve(k_fields * 8);
  put_le64(out, c.attempts);
  put_le64(out, c.succeeded);
  put_le64(out, c.failed_attempts);
  put_le64(out, c.failed_deliveries);
  put_le64(out, c.duration_ms);
  return out;
}

stats_counts decode_stats(std::string_view bytes) {
  std::array<std::uint64_t, k_fields> f{};
  for (std::size_t i = 0; i < k_fields && (i + 1) * 8 <= bytes.size(); ++i) {
    f[i] = get_le64(bytes, i);
  }
  return {f[0], f[1], f[2], f[3], f[4]};
}

std::string stats_key(std::uint64_t webhook_id, std::int64_t bucket_start_ms) {
  std::string k;
  k.reserve(16);
  append_be64(k, webhook_id);
  append_be64(k, static_cast<std::uint64_t>(bucket_start_ms));
  return k;
}

bool stats_merge_operator::Merge(const rocksdb::Slice&, const rocksdb::Slice* existing,
                                 const rocksdb::Slice& value, std::string* new_value,
                                 rocksdb::Logger*) const {
  const std::string_view a =
      existing ? std::string_view(existing->data(), existing->size()) : std::string_view();
  const std::string_view b(value.data(), value.size());
  const std::size_t fields = std::max(a.size(), b.size()) / 8;
  new_value->clear();
  for (std::size_t i = 0; i < fields; ++i) {
    const std::uint64_t x = (i + 1) * 8 <= a.size() ? get_le64(a, i) : 0;
    const std::uint64_t y = (i + 1) * 8 <= b.size() ? get_le64(b, i) : 0;
    put_le64(*new_value, x + y);
  }
  return true;
}

rocksdb::CompactionFilter::Decision stats_expiry_filter::FilterV2(int, const rocksdb::Slice& key,
                                                                  ValueType, const rocksdb::Slice&,
                                                                  std::string*,
                                                                  std::string*) const {
  if (key.size() != 16) return Decision::kKeep;
  const auto start = read_be64(std::string_view(key.data() + 8, 8));
  const auto cutoff = cutoff_ms.load(std::memory_order_relaxed);
  return start && cutoff > 0 && static_cast<std::int64_t>(*start) + k_stats_bucket_ms <= cutoff
             ? Decision::kRemove
             : Decision::kKeep;
}

result<std::vector<stats_bucket>> read_webhook_stats(const database& db, std::uint64_t webhook_id,
                                                     std::int64_t from_ms, std::int64_t to_ms) {
  auto& d = const_cast<database&>(db).internals();
  std::vector<stats_bucket> out;
  const std::string first = stats_key(webhook_id, std::max<std::int64_t>(0, from_ms));
  const std::string end = stats_key(webhook_id, std::max<std::int64_t>(0, to_ms));
  rocksdb::ReadOptions ro;
  const rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(ro, d.webhook_stats));
  for (it->Seek(first); it->Valid(); it->Next()) {
    const auto key = it->key();
    if (key.size() != 16) continue;
    const auto start = read_be64(std::string_view(key.data() + 8, 8));
    if (!start) continue;
    out.push_back({static_cast<std::int64_t>(*start),
                   decode_stats(std::string_view(it->value().data(), it->value().size()))});
  }
  if (!it->status().ok()) return to_error(it->status());
  return out;
}

}  // namespace hookd::store
