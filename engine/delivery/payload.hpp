// Event payloads: the checks publish makes, and the two forms a delivery carries them
// in (DESIGN.md "Delivery contract"): a JSON body with `uuid` and `action` added at
// the top level, or a Rack-style nested query string for GET and DELETE.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/engine/event_catalog.hpp"
#include "hookd/engine/failure.hpp"

namespace hookd::engine {

inline constexpr std::size_t k_max_payload_bytes = 256 * 1024;
// The Rack query of a payload repeats each leaf's key path, so it can be far larger
// than the payload: beyond this, a payload is refused for GET and DELETE webhooks.
inline constexpr std::size_t k_max_query_bytes = 1024 * 1024;

struct checked_payload {
  std::string text;   // the payload minified, every token as written
  std::string query;  // its fields as a Rack query string, when asked for
};

// Checks that `payload` is strict JSON (no duplicate keys: strict_minify), an object
// of at most 256 KiB without the reserved top-level keys `uuid` and `action`. Errors
// are errc::invalid_argument with field "event.payload".
[[nodiscard]] outcome<checked_payload> check_payload(std::string_view payload, bool with_query);

// check_payload for a text strict_minify has already checked and minified (the
// payload parse_event_request cut out of its body): the same answers without reading
// the text a second time for its syntax.
[[nodiscard]] outcome<checked_payload> check_minified_payload(std::string text, bool with_query);

// {"uuid":"<uuid>","action":"<action>", ...payload fields}. `payload` must have
// passed check_payload; `uuid` and `action` need no JSON escaping (hex, dashes and
// event type characters).
std::string delivery_body(std::string_view payload, std::string_view uuid, std::string_view action);

// uuid=<uuid>&action=<action>[&<payload_query>]
std::string delivery_query(std::string_view uuid, std::string_view action,
                           std::string_view payload_query);

// Percent-encodes all but RFC 3986 unreserved characters.
void append_query_escaped(std::string& out, std::string_view text);

}  // namespace hookd::engine

namespace hookd::engine {

// The body of POST /api/v1/events: {"event": {"type": "...", "payload": {...}, "id": "..."}}.
struct event_request {
  std::string type;
  std::string payload;            // the payload object, strictly checked and minified,
                                  // tokens as written (for check_minified_payload)
  std::optional<std::string> id;  // the idempotency key, when given
};

// errc::malformed_input for bad JSON or a duplicate key (named in details);
// errc::invalid_argument naming every bad field,
// the type checked against `catalog`. Publish checks the payload's contents.
[[nodiscard]] outcome<event_request> parse_event_request(std::string_view body,
                                                         const event_catalog& catalog);

}  // namespace hookd::engine

namespace hookd::engine {

// The body of POST /api/v1/webhooks/{id}/recover: {"since": "<RFC 3339 time>"}, as
// unix milliseconds.
[[nodiscard]] outcome<std::int64_t> parse_recover_request(std::string_view body);

}  // namespace hookd::engine
