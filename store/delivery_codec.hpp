// The stored forms of events, deliveries and attempts as bytes, and the names of
// delivery statuses as the API shows them. Versioned, so a layout can grow.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hookd/errc.hpp"
#include "store/delivery_records.hpp"

namespace hookd::store {

std::string encode_event(const event_record& e);
[[nodiscard]] result<event_record> decode_event(std::string_view bytes);
std::string encode_delivery(const delivery_record& d);
[[nodiscard]] result<delivery_record> decode_delivery(std::string_view bytes);
std::string encode_attempt(const attempt_record& a);
[[nodiscard]] result<attempt_record> decode_attempt(std::string_view bytes);

std::string_view to_string(delivery_status s) noexcept;
std::optional<delivery_status> parse_delivery_status(std::string_view s) noexcept;

}  // namespace hookd::store
