// The delivery resource: a webhook's delivery log and its statistics over time, one
// delivery with its attempts, a manual retry of one, and the recovery of a webhook's
// failed deliveries since a time.
#pragma once

#include "api/route_table.hpp"

namespace hookd::api {

response list_deliveries(const route_call& call);     // GET /api/v1/webhooks/{id}/deliveries
response recover_deliveries(const route_call& call);  // POST /api/v1/webhooks/{id}/recover
response show_webhook_stats(const route_call& call);  // GET /api/v1/webhooks/{id}/stats
// GET /api/v1/overview: a page of webhooks, each with its stats and last delivery.
response show_overview(const route_call& call);
response show_delivery(const route_call& call);   // GET /api/v1/deliveries/{uuid}
response retry_delivery(const route_call& call);  // POST /api/v1/deliveries/{uuid}/retry

}  // namespace hookd::api
