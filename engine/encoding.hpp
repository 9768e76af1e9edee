// Small text encodings used across hookd: base64, hex and RFC 3339 timestamps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hookd::engine {

std::string base64_encode(std::span<const std::byte> bytes);
std::string base64url_encode(std::span<const std::byte> bytes);  // no padding
// Standard alphabet, padding optional; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
std::string hex_encode(std::span<const std::byte> bytes);
std::optional<std::string> hex_decode(std::string_view hex);

// "2026-11-26T17:57:13.123Z" for unix milliseconds.
std::string format_rfc3339(std::int64_t unix_ms);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]" into unix milliseconds.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace hookd::engine
