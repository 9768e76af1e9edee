// Standard Webhooks signatures: "v1," + base64(HMAC-SHA256(key, id "." timestamp "."
// body)), the key being the base64 part of a "whsec_..." secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hookd::engine {

// The HMAC key of a "whsec_<base64>" secret; nullopt when malformed.
std::optional<std::string> secret_key(std::string_view whsec_secret);

// "v1,<base64 signature>" of `id.timestamp.body` under `key` (raw bytes).
std::string sign(std::string_view key, std::string_view id, std::int64_t timestamp,
                 std::string_view body);

}  // namespace hookd::engine
