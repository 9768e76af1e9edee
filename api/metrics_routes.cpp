// Liveness and Prometheus counters: process-wide numbers from engine::engine::stats,
// the same for every account.
#include "api/metrics_routes.hpp"

#include <boost/json/object.hpp>

#include "api/error_mapping.hpp"

namespace hookd::api {

response show_health(const route_call&) {
  return json_response(200, boost::json::object{{"status", "ok"}});
}

response show_metrics(const route_call& call) {
  const auto s = call.engine.stats();
  std::string out;
  auto counter = [&](std::string_view name, std::string_view help, std::uint64_t value) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" counter\n");
    out.append(name).append(" ").append(std::to_string(value)).append("\n");
  };
  counter("hookd_events_published_total", "Events accepted by publish.", s.published_events);
  counter("hookd_deliveries_created_total", "Deliveries created by publish.", s.deliveries_created);
  counter("hookd_delivery_attempts_total", "HTTP attempts started.", s.attempts);
  counter("hookd_deliveries_succeeded_total", "Deliveries that got a 2xx.", s.succeeded);
  counter("hookd_delivery_attempts_failed_total", "Attempts that failed.", s.failed_attempts);
  counter("hookd_deliveries_failed_total", "Deliveries that exhausted their retries.",
          s.failed_deliveries);
  counter("hookd_deliveries_cancelled_total", "Deliveries cancelled with their webhook.",
          s.cancelled);
  counter("hookd_origin_backoffs_total", "Times a receiver origin's concurrency was halved.",
          s.backoff_events);
  counter("hookd_delivery_attempts_short_circuited_total",
          "Attempts failed as origin_unavailable without a request: the origin's circuit was open.",
          s.short_circuited);
  counter("hookd_deliveries_spilled_total",
          "Fresh deliveries left on disk instead of memory: their origin held its share.",
          s.spilled);
  counter("hookd_webhooks_auto_disabled_total",
          "Webhooks deactivated because every attempt failed for --disable-after.",
          s.auto_disabled);
  counter("hookd_expired_deliveries_total",
          "Finished deliveries removed by retention, with their attempts.", s.expired_deliveries);
  counter("hookd_expired_events_total", "Events removed by retention.", s.expired_events);
  counter("hookd_connections_opened_total", "Outbound connections opened.", s.connections_opened);
  response r;
  r.body = std::move(out);
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

}  // namespace hookd::api
