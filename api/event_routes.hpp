// The event resource: publish an event for the caller's account, deduplicated by the
// Idempotency-Key header or the event's own id.
#pragma once

#include "api/route_table.hpp"

namespace hookd::api {

response publish_event(const route_call& call);  // POST /api/v1/events

}  // namespace hookd::api
