// The webhook resource's handlers: JSON in to engine::webhook_service, the webhook's
// JSON view out. Only create's answer and the secret route show the secret.
#include "api/webhook_routes.hpp"

#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/error_mapping.hpp"
#include "api/json_views.hpp"
#include "api/request_parsing.hpp"
#include "engine/encoding.hpp"

namespace hookd::api {
namespace {

namespace json = boost::json;

response show(const route_call& call, const engine::outcome<engine::webhook_record>& r,
              unsigned status, bool with_secret) {
  if (!r) return failure_response(r.error());
  return json_response(status, webhook_json(*r, call.engine.webhooks().catalog(), with_secret));
}

}  // namespace

response create_webhook(const route_call& call) {
  return show(call, call.engine.webhooks().create(call.account, call.req.body), 201, true);
}

response list_webhooks(const route_call& call) {
  std::vector<engine::field_error> problems;
  const page_params params = read_page_params(call.target, problems);
  const std::uint64_t after = webhook_after(params, problems);
  if (!problems.empty()) return invalid_query(std::move(problems));

  auto& webhooks = call.engine.webhooks();
  auto page = webhooks.list(call.account, after, params.limit);
  if (!page) return failure_response(page.error());
  json::array items;
  for (const auto& r : page->webhooks) items.push_back(webhook_json(r, webhooks.catalog(), false));
  return json_response(200,
                       json::object{{"webhooks", std::move(items)},
                                    {"next_after", page->next_after ? json::value(*page->next_after)
                                                                    : json::value(nullptr)}});
}

response list_event_types(const route_call& call) {
  json::array types;
  for (const auto& t : call.engine.webhooks().catalog().types()) types.emplace_back(t);
  return json_response(200, json::object{{"event_types", std::move(types)}});
}

response show_webhook(const route_call& call) {
  return show(call, call.engine.webhooks().get(call.account, call.id), 200, false);
}

response replace_webhook(const route_call& call) {
  return show(call, call.engine.webhooks().replace(call.account, call.id, call.req.body), 200,
              false);
}

response patch_webhook(const route_call& call) {
  return show(call, call.engine.webhooks().patch(call.account, call.id, call.req.body), 200, false);
}

response delete_webhook(const route_call& call) {
  auto r = call.engine.webhooks().remove(call.account, call.id);
  if (!r) return failure_response(r.error());
  response out;
  out.status = 204;
  return out;
}

namespace {

// {"secret": ..., "previous_secret_expires_at": RFC 3339 or null}: while a rotation's
// grace lasts, requests carry signatures of both secrets.
json::object secret_json(const engine::webhook_record& r, std::int64_t now_ms) {
  const bool in_grace = !r.previous_secret.empty() && now_ms < r.previous_secret_until_ms;
  return json::object{
      {"secret", r.secret},
      {"previous_secret_expires_at",
       in_grace ? json::value(engine::format_rfc3339(r.previous_secret_until_ms))
                : json::value(nullptr)},
  };
}

}  // namespace

response show_webhook_secret(const route_call& call) {
  auto r = call.engine.webhooks().get(call.account, call.id);
  if (!r) return failure_response(r.error());
  return json_response(200, secret_json(*r, call.engine.now_ms()));
}

response rotate_webhook_secret(const route_call& call) {
  // The body is optional; when there is one, it is JSON.
  if (!call.req.body.empty() && !is_json_content_type(call.req.content_type)) {
    return unsupported_media_type(call.req.content_type);
  }
  auto r = call.engine.webhooks().rotate_secret(call.account, call.id, call.req.body);
  if (!r) return failure_response(r.error());
  return json_response(200, secret_json(*r, call.engine.now_ms()));
}

}  // namespace hookd::api
