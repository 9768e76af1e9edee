// The admin API's table of routes (DESIGN.md "Admin API contract"): every method and
// path pattern hookd answers, the handler of each, and what it requires.
#pragma once

#include "api/route_table.hpp"

namespace hookd::api {

// Built once, on first use; immutable and shared by every router.
const route_table& admin_routes();

}  // namespace hookd::api
