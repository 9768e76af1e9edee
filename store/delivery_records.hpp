// The stored forms of events, deliveries and attempts (DESIGN.md "Vocabulary").
// Plain data; the encodings live in store/delivery_codec.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hookd::store {

// 16 bytes, a UUIDv7: time-ordered, so new deliveries append to RocksDB's key space.
using delivery_id = std::array<std::uint8_t, 16>;

// A position in the due queue: (due time, delivery id), in the queue's order.
struct due_key {
  std::int64_t due_ms = 0;
  delivery_id id{};
  friend auto operator<=>(const due_key&, const due_key&) = default;
};

// The key right after `k` in the due queue's order.
inline due_key successor(due_key k) {
  for (auto i = k.id.size(); i-- > 0;) {
    if (++k.id[i] != 0) return k;
  }
  ++k.due_ms;
  return k;
}

struct event_record {
  std::string account;
  std::string id;  // unique per account; the idempotency key
  std::string type;
  std::int64_t occurred_at_ms = 0;
  std::string payload;           // a JSON object, as published
  std::uint64_t deliveries = 0;  // how many deliveries publish created
  friend bool operator==(const event_record&, const event_record&) = default;
};

enum class delivery_status : std::uint8_t {
  pending = 0,    // waiting for its next attempt (next_attempt_at_ms)
  in_flight = 1,  // an attempt is under way (only ever in memory)
  succeeded = 2,  // a 2xx came back
  failed = 3,     // the retry schedule is exhausted
  cancelled = 4,  // its webhook was deleted, deactivated or disabled
};

struct delivery_record {
  delivery_id id{};
  std::uint64_t webhook_id = 0;
  std::string account;
  std::string event_id;
  std::string event_type;
  delivery_status status = delivery_status::pending;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::uint32_t attempts = 0;           // attempts made so far
  std::int64_t next_attempt_at_ms = 0;  // when pending: its key in the `due` family
  friend bool operator==(const delivery_record&, const delivery_record&) = default;
};

struct attempt_record {
  std::uint32_t number = 0;  // 1-based
  std::int64_t at_ms = 0;
  std::uint32_t duration_ms = 0;
  std::uint32_t status_code = 0;  // 0 when no response came
  std::string error_kind;         // empty on success
  std::string error;              // human explanation
  std::string response_excerpt;   // first 1 KiB of the response body
  bool manual = false;            // started by POST /deliveries/{uuid}/retry
  friend bool operator==(const attempt_record&, const attempt_record&) = default;
};

// Order of a webhook's deliveries in a list: by creation (a delivery id is time-ordered).
enum class list_order : std::uint8_t { oldest_first, newest_first };

// One page of a webhook's deliveries; pass next_after as `after` for the next one.
struct delivery_page {
  std::vector<delivery_record> deliveries;
  std::optional<delivery_id> next_after;
};

}  // namespace hookd::store
