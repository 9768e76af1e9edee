// The process's own state: liveness (/healthz, open) and the engine's counters in
// Prometheus text format (/metrics, any valid token). No account's data.
#pragma once

#include "api/route_table.hpp"

namespace hookd::api {

response show_health(const route_call& call);   // GET /healthz
response show_metrics(const route_call& call);  // GET /metrics

}  // namespace hookd::api
