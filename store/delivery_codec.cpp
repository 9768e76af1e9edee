// Binary encodings of events, deliveries and attempts as RocksDB values: a version
// byte, then big-endian integers and length-prefixed strings (store/record_codec.hpp).
#include "store/delivery_codec.hpp"

#include <algorithm>

#include "store/record_codec.hpp"

namespace hookd::store {
namespace {

constexpr std::uint8_t k_version = 1;

std::string_view as_view(const delivery_id& id) {
  return {reinterpret_cast<const char*>(id.data()), id.size()};
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
    std::copy_n(id.begin(), d.id.size(), d.id.begin());
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

}  // namespace hookd::store
