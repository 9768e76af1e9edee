// The admin API's OpenAPI document (api/openapi.yaml), converted to JSON at build time
// by api/openapi_embed.py into a source of the build directory and compiled in.
#pragma once

#include <string_view>

namespace hookd::api {

// The document as minified JSON (non-ASCII characters escaped), joined on first use
// from the compiled-in pieces; static storage.
std::string_view openapi_json();

}  // namespace hookd::api
