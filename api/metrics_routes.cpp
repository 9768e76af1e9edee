// Liveness and Prometheus metrics: process-wide numbers from engine::engine::metrics
// (counters, gauges of what the workers hold, latency histograms, storage), for an
// operator token only.
#include "api/metrics_routes.hpp"

#include <cstdio>

#include <boost/json/object.hpp>

#include "api/error_mapping.hpp"

namespace hookd::api {

response show_health(const route_call&) {
  return json_response(200, boost::json::object{{"status", "ok"}});
}

namespace {

// A label value as Prometheus' text format writes it: \\ \" and \n escaped.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

response show_metrics(const route_call& call) {
  const auto m = call.engine.metrics();
  const auto& s = m.counters;
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
  counter("hookd_delivery_outcome_write_failures_total",
          "Batches of delivery outcomes RocksDB refused; kept and written again.",
          m.outcome_write_failures);
  counter("hookd_http_stale_connection_retries_total",
          "Requests sent again on a fresh connection: the pooled one had been closed.",
          m.stale_retries);
  counter("hookd_delivery_attempts_crashed_total",
          "Attempts that threw (a bug); their deliveries were released, not lost.",
          m.crashed_attempts);

  auto gauge = [&](std::string_view name, std::string_view help, double value) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" gauge\n");
    out.append(name).append(" ").append(number(value)).append("\n");
  };
  const auto& w = m.workers;
  gauge("hookd_deliveries_in_flight", "Attempts under way.", static_cast<double>(w.in_flight));
  gauge("hookd_deliveries_held", "Deliveries held in memory: timers, origin queues, in flight.",
        static_cast<double>(w.held));
  gauge("hookd_deliveries_due", "Deliveries due on disk (pending or retrying; an estimate).",
        static_cast<double>(m.due_estimate));
  gauge("hookd_origins", "Receiver origins the workers know.", static_cast<double>(w.origins));
  gauge("hookd_origin_circuits_open",
        "Receiver origins whose circuit is open: their attempts fail without a request.",
        static_cast<double>(w.open_circuits));
  gauge("hookd_metrics_workers_complete",
        "1 when every worker answered this scrape in time, else 0.", w.complete ? 1 : 0);
  // Per origin, the top ten by deliveries held: a bounded label set.
  auto per_origin = [&](std::string_view name, std::string_view help, auto value) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" gauge\n");
    for (const auto& o : w.top_origins) {
      out.append(name).append("{origin=\"").append(label(o.origin)).append("\"} ");
      out.append(number(static_cast<double>(value(o)))).append("\n");
    }
  };
  per_origin("hookd_origin_concurrency_limit",
             "Adaptive concurrency of the ten origins holding most deliveries.",
             [](const engine::origin_gauge& o) { return o.limit; });
  per_origin("hookd_origin_in_flight", "Attempts under way to the ten origins holding most.",
             [](const engine::origin_gauge& o) { return o.in_flight; });
  per_origin("hookd_origin_held", "Deliveries held in memory for the ten origins holding most.",
             [](const engine::origin_gauge& o) { return o.held; });

  auto histogram = [&](std::string_view name, std::string_view help,
                       const engine::histogram::snapshot& h) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" histogram\n");
    for (std::size_t i = 0; i < engine::histogram::k_bounds.size(); ++i) {
      out.append(name).append("_bucket{le=\"").append(number(engine::histogram::k_bounds[i]));
      out.append("\"} ").append(std::to_string(h.cumulative[i])).append("\n");
    }
    out.append(name).append("_bucket{le=\"+Inf\"} ").append(std::to_string(h.count())).append("\n");
    out.append(name).append("_sum ").append(number(h.sum_seconds)).append("\n");
    out.append(name).append("_count ").append(std::to_string(h.count())).append("\n");
  };
  histogram("hookd_delivery_attempt_duration_seconds",
            "Attempts sent, from the start of the request to its outcome.", m.attempt_seconds);
  histogram("hookd_delivery_latency_seconds",
            "Succeeded deliveries, from publish to the receiver's 2xx.", m.delivered_seconds);
  histogram("hookd_publish_duration_seconds", "Publish calls, from the call to durable storage.",
            m.publish_seconds);

  gauge("hookd_storage_free_bytes", "Free space on the data folder's file system (estimate).",
        static_cast<double>(s.storage_free_bytes));
  gauge("hookd_storage_min_free_bytes", "--min-free-space: under it, new work gets 507.",
        static_cast<double>(m.min_free_bytes));
  out.append(
      "# HELP hookd_storage_state The free-space watch: ok, low (new work refused) or "
      "critical (progress waits).\n# TYPE hookd_storage_state gauge\n");
  for (const char* state : {"ok", "low", "critical"}) {
    out.append("hookd_storage_state{state=\"").append(state).append("\"} ");
    out.append(s.storage_state == state ? "1\n" : "0\n");
  }
  out.append(
      "# HELP hookd_webhooks Webhooks by state: active, inactive (by their owner), "
      "disabled (by hookd after failing).\n# TYPE hookd_webhooks gauge\n");
  out.append("hookd_webhooks{state=\"active\"} ").append(std::to_string(m.webhooks_active));
  out.append("\nhookd_webhooks{state=\"inactive\"} ").append(std::to_string(m.webhooks_inactive));
  out.append("\nhookd_webhooks{state=\"disabled\"} ").append(std::to_string(m.webhooks_disabled));
  out.append("\n");
  gauge("hookd_rocksdb_sst_bytes", "Size of RocksDB's table files.",
        static_cast<double>(m.sst_bytes));
  gauge("hookd_rocksdb_memtable_bytes", "Size of RocksDB's memtables.",
        static_cast<double>(m.memtable_bytes));
  gauge("hookd_rocksdb_pending_compaction_bytes", "RocksDB's estimate of bytes left to compact.",
        static_cast<double>(m.pending_compaction_bytes));
  response r;
  r.body = std::move(out);
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

}  // namespace hookd::api
