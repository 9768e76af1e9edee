// Internal to engine/: a request body as a simdjson DOM, after the strict check of
// engine/json_text.hpp (one syntax, no key twice). The parsers of webhook, rotation
// and recover bodies start here.
#pragma once

#include <string_view>

#include <simdjson.h>

#include "hookd/engine/failure.hpp"

namespace hookd::engine {

// errc::malformed_input when the body is not strict JSON; else its root, parsed by
// this thread's parser: valid until this thread's next call.
[[nodiscard]] outcome<simdjson::dom::element> parse_request_dom(std::string_view body);

}  // namespace hookd::engine
