// Delivery ids: UUIDv7 (RFC 9562), time-ordered so new deliveries sort last in
// RocksDB, with 74 random bits from a per-thread generator seeded by the CSPRNG.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/engine/random.hpp"
#include "store/delivery_records.hpp"

namespace hookd::engine {

using store::delivery_id;

// A new UUIDv7 for unix time `now_ms`. The random bits come from a per-thread
// xoshiro256** generator seeded once per thread from `seed_source`.
delivery_id make_uuid_v7(std::int64_t now_ms, random_source& seed_source);

// "0190163d-8694-739b-aea5-966c26f8ad91"
std::string format_uuid(const delivery_id& id);
// Accepts the canonical 36-character form, any hex case.
std::optional<delivery_id> parse_uuid(std::string_view text);

}  // namespace hookd::engine
