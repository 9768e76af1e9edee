// The admin API's table of routes, one line per method and pattern; the handlers live
// in one file per resource (api/*_routes.cpp).
#include "api/routes.hpp"

#include "api/delivery_routes.hpp"
#include "api/event_routes.hpp"
#include "api/metrics_routes.hpp"
#include "api/openapi_routes.hpp"
#include "api/portal_routes.hpp"
#include "api/webhook_routes.hpp"

namespace hookd::api {

const route_table& admin_routes() {
  using enum route_body;
  using enum route_access;
  // Within one pattern, the order here is the order of its Allow header.
  // clang-format off
  static const route_table table({
      {"GET",    "/healthz",                          show_health,         any, open},
      {"GET",    "/metrics",                          show_metrics,        any, operator_token},
      {"GET",    "/api/v1/openapi.json",              show_openapi,        any, open},
      {"GET",    "/portal",                           show_portal_page,    any, open},
      {"GET",    "/portal/session",                   exchange_portal_code, any, open},
      {"GET",    "/portal/{path}",                    show_portal_file,    any, open},
      {"POST",   "/api/v1/portal-sessions",           create_portal_session, any, token_only},
      {"GET",    "/api/v1/portal-session",            show_portal_session},
      {"POST",   "/api/v1/events",                    publish_event,       json},
      {"GET",    "/api/v1/event-types",               list_event_types},
      {"GET",    "/api/v1/overview",                  show_overview},
      {"GET",    "/api/v1/webhooks",                  list_webhooks},
      {"POST",   "/api/v1/webhooks",                  create_webhook,      json},
      {"GET",    "/api/v1/webhooks/{id}",             show_webhook},
      {"PUT",    "/api/v1/webhooks/{id}",             replace_webhook,     json},
      {"PATCH",  "/api/v1/webhooks/{id}",             patch_webhook,       json},
      {"DELETE", "/api/v1/webhooks/{id}",             delete_webhook},
      {"GET",    "/api/v1/webhooks/{id}/secret",      show_webhook_secret},
      {"POST",   "/api/v1/webhooks/{id}/secret/rotate", rotate_webhook_secret},
      {"GET",    "/api/v1/webhooks/{id}/deliveries",  list_deliveries},
      {"POST",   "/api/v1/webhooks/{id}/recover",     recover_deliveries,  json},
      {"GET",    "/api/v1/webhooks/{id}/stats",       show_webhook_stats},
      {"GET",    "/api/v1/deliveries/{uuid}",         show_delivery},
      {"POST",   "/api/v1/deliveries/{uuid}/retry",   retry_delivery},
  });
  // clang-format on
  return table;
}

}  // namespace hookd::api
