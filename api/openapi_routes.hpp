// The admin API describing itself: its OpenAPI 3.1 document, open like /healthz so
// client generators can fetch it without a token.
#pragma once

#include "api/route_table.hpp"

namespace hookd::api {

response show_openapi(const route_call& call);  // GET /api/v1/openapi.json

}  // namespace hookd::api
