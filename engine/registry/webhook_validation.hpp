// Parsing and validation of the webhook object of the admin API (DESIGN.md
// "Validation of a webhook"), with simdjson. Every invalid field is reported at
// once with its JSON path; nothing here touches storage.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/registry/webhook_url.hpp"
#include "hookd/engine/event_catalog.hpp"
#include "hookd/engine/failure.hpp"

namespace hookd::engine {

enum class webhook_mode : int {
  create,   // name, url, http_method and settings required; active defaults to false
  replace,  // PUT: as create
  patch,    // PATCH: every field optional; only the given ones change
};

// The fields of a {"webhook": {...}} request that were present and valid.
struct webhook_fields {
  std::optional<std::string> name;
  std::optional<bool> active;
  // Event type -> subscribed, in request order; keys are in the catalog.
  std::optional<std::vector<std::pair<std::string, bool>>> settings;
  std::optional<std::string> url;
  std::optional<std::string> http_method;  // upper case
  // Per-webhook retry schedule, normalised ("1m,1h"); an empty string (sent as null
  // or "") means the engine's default.
  std::optional<std::string> retry_schedule;
};

inline constexpr std::size_t k_max_name_bytes = 255;
inline constexpr std::size_t k_max_retry_schedule_entries = 50;

// errc::malformed_input when the body is not JSON; errc::invalid_argument with
// every field error otherwise.
[[nodiscard]] outcome<webhook_fields> parse_webhook_request(std::string_view body,
                                                            const event_catalog& catalog,
                                                            webhook_mode mode);

// The body of POST /api/v1/webhooks/{id}/secret/rotate.
struct rotation_fields {
  std::optional<std::chrono::milliseconds> grace;  // 0 to 30 days
  std::string secret;  // "whsec_" + base64 of 24 to 64 bytes; empty: generate one
};
inline constexpr std::chrono::milliseconds k_default_rotation_grace = std::chrono::hours(24);
inline constexpr std::chrono::milliseconds k_max_rotation_grace = std::chrono::hours(24 * 30);

// {"grace": "24h", "secret": "whsec_..."}, both optional; errc::malformed_input for
// bad JSON, errc::invalid_argument naming every bad field (unknown ones included).
[[nodiscard]] outcome<rotation_fields> parse_rotation_request(std::string_view body);

// The checks on single values, shared with other inputs (for example the CLI); a URL
// is checked with parse_webhook_url (engine/registry/webhook_url.hpp).
[[nodiscard]] std::optional<std::string> normalize_http_method(std::string_view method);

}  // namespace hookd::engine
