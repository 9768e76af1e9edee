// Strict reading of JSON text (RFC 8259): one value in UTF-8, no member name twice in
// an object, bounded nesting; and its minified form, with every token kept byte for
// byte as written, so numbers of any size or spelling and string escapes reach a
// receiver as the publisher wrote them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/engine/failure.hpp"

namespace hookd::engine {

// Deeper nesting is refused (as simdjson's default would, sooner).
inline constexpr std::size_t k_max_json_depth = 128;

struct json_problem {
  // Where: the member's path for a duplicate ("event.payload.items[2].id"), empty for
  // a syntax error (the message then gives the byte offset).
  std::string path;
  std::string message;
  bool duplicate = false;
};

// Checks `text` and writes its minified form to `out` (whitespace between tokens
// dropped, nothing else changed). Paths start at the first member name:
// {"event": {"type": ...}} has "event.type". Returns the first problem, or nullopt.
std::optional<json_problem> strict_minify(std::string_view text, std::string& out);

// For a request body: strict_minify, its problem as errc::malformed_input ("request
// body is not valid JSON: ...", or "request body has a duplicate key: <path>" with
// the path in details). nullopt when the body is fine.
std::optional<failure> check_request_json(std::string_view body, std::string& minified);

}  // namespace hookd::engine
