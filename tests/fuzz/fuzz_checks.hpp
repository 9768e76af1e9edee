// What each fuzz target checks on one input, beyond "no crash and no sanitizer report":
// properties the parsers promise in their headers. Shared by the libFuzzer targets
// (tests/fuzz/*_fuzz.cpp) and fuzz_regression_test, which replays the seeds and every
// input in tests/fuzz/regressions/ in the normal build.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hookd/engine/event_catalog.hpp"

namespace hookd::fuzz {

// The property an input broke, in words; nullopt when every property held.
using verdict = std::optional<std::string>;

// For a fuzz target: prints the broken property and aborts, so libFuzzer keeps the input.
void abort_if_broken(const verdict& v, std::string_view target);

// The catalog the body targets check event types against: a few types, with the
// characters a type may have besides letters ('.', '-', '_', digits).
const engine::event_catalog& fuzz_catalog();

// parse_webhook_request in all three modes: errors are malformed_input, or
// invalid_argument naming fields under "webhook"/"body"; what is accepted obeys the
// field rules (catalog keys, a URL parse_webhook_url accepts, an upper-case method, a
// normalised retry schedule that reads back the same); create and replace agree; what
// create accepts, patch accepts with the same values.
verdict check_webhook_body(std::string_view input);

// parse_event_request; for an accepted request, its payload passes check_payload (unless
// it has a reserved top-level key), and the payload then goes through check_rack_query's
// checks.
verdict check_event_body(std::string_view input);

// check_payload with and without the query agree; the minified text has the payload's
// value (Boost.JSON) and checks to itself; the query has only unreserved characters,
// '%' escapes, brackets, '=' and '&'; delivery_body of the minified text is a JSON
// object with uuid and action added to the payload's members.
verdict check_rack_query(std::string_view input);

// parse_webhook_url: an accepted URL has the fields webhook_url documents (lower-case
// host, canonical IP literal and its address, a port, a target that starts with '/'
// and that the HTTP client will send, origin and Host header built from them), and
// parse_stored_webhook_url reads it the same.
verdict check_webhook_url(std::string_view input);

}  // namespace hookd::fuzz
