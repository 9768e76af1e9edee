// The webhook resource: create, list, show, replace, patch and delete a webhook of the
// caller's account, and show its signing secret. Validation is engine/registry's.
#pragma once

#include "api/route_table.hpp"

namespace hookd::api {

response create_webhook(const route_call& call);    // POST /api/v1/webhooks
response list_webhooks(const route_call& call);     // GET /api/v1/webhooks
response list_event_types(const route_call& call);  // GET /api/v1/event-types
response show_webhook(const route_call& call);      // GET /api/v1/webhooks/{id}
response replace_webhook(const route_call& call);   // PUT /api/v1/webhooks/{id}
response patch_webhook(const route_call& call);     // PATCH /api/v1/webhooks/{id}
response delete_webhook(const route_call& call);    // DELETE /api/v1/webhooks/{id}
response show_webhook_secret(const route_call& call);
response rotate_webhook_secret(const route_call& call);  // GET /api/v1/webhooks/{id}/secret

}  // namespace hookd::api
