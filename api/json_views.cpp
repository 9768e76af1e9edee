// The JSON views of webhooks and deliveries; times as RFC 3339, absent values as
// null so every key is always present.
#include "api/json_views.hpp"

#include <optional>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "engine/encoding.hpp"

namespace hookd::api {
namespace {

namespace json = boost::json;

json::value time_or_null(const std::optional<std::int64_t>& ms) {
  return ms ? json::value(engine::format_rfc3339(*ms)) : json::value(nullptr);
}

json::value text_or_null(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

}  // namespace

json::object webhook_json(const engine::webhook_record& r, const engine::event_catalog& catalog,
                          bool with_secret) {
  json::object settings;
  for (const auto& type : catalog.types()) settings[type] = r.subscribes_to(type);
  json::object o{
      {"id", r.id},         {"name", r.name},
      {"active", r.active}, {"settings", std::move(settings)},
      {"url", r.url},       {"http_method", r.http_method},
  };
  o["retry_schedule"] = text_or_null(r.retry_schedule);
  if (with_secret) o["secret"] = r.secret;
  o["disabled_reason"] = text_or_null(r.disabled_reason);
  o["created_at"] = engine::format_rfc3339(r.created_at_ms);
  o["updated_at"] = engine::format_rfc3339(r.updated_at_ms);
  return o;
}

json::object delivery_json(const engine::delivery_view& d, bool with_attempts) {
  json::object o{
      {"uuid", d.uuid},
      {"webhook_id", d.webhook_id},
      {"event_id", d.event_id},
      {"event_type", d.event_type},
      {"status", d.status},
      {"created_at", engine::format_rfc3339(d.created_at_ms)},
      {"updated_at", engine::format_rfc3339(d.updated_at_ms)},
      {"attempt_count", d.attempt_count},
      {"next_attempt_at", time_or_null(d.next_attempt_at_ms)},
  };
  if (with_attempts) {
    json::array attempts;
    for (const auto& a : d.attempts) {
      attempts.push_back(json::object{
          {"number", a.number},
          {"at", engine::format_rfc3339(a.at_ms)},
          {"duration_ms", a.duration_ms},
          {"status_code", a.status_code ? json::value(*a.status_code) : json::value(nullptr)},
          {"error_kind", text_or_null(a.error_kind)},
          {"error", text_or_null(a.error)},
          {"response_excerpt", a.response_excerpt},
          {"manual", a.manual},
      });
    }
    o["attempts"] = std::move(attempts);
    o["payload"] = text_or_null(d.payload);
  }
  return o;
}

}  // namespace hookd::api
