// The delivery resource's handlers over engine::engine's delivery log: list, show,
// retry, recover. Another account's webhook or delivery is a 404, as a missing one.
#include "api/delivery_routes.hpp"

#include <chrono>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/error_mapping.hpp"
#include "api/json_views.hpp"
#include "api/request_parsing.hpp"
#include "engine/delivery/payload.hpp"
#include "engine/delivery/retry_policy.hpp"
#include "engine/encoding.hpp"

namespace hookd::api {

namespace json = boost::json;

response list_deliveries(const route_call& call) {
  std::vector<engine::field_error> problems;
  const page_params params = read_page_params(call.target, problems);
  if (!problems.empty()) return invalid_query(std::move(problems));
  auto list =
      call.engine.deliveries(call.account, call.id, params.status, params.after, params.limit);
  if (!list) return failure_response(list.error());
  json::array items;
  for (const auto& d : list->deliveries) items.push_back(delivery_json(d, false));
  return json_response(200,
                       json::object{{"deliveries", std::move(items)},
                                    {"next_after", list->next_after ? json::value(*list->next_after)
                                                                    : json::value(nullptr)}});
}

response show_webhook_stats(const route_call& call) {
  std::chrono::milliseconds window = std::chrono::hours(24);
  for (auto param : call.target.params()) {
    if (param.key != "window") continue;
    auto parsed = engine::parse_duration(param.value);
    if (!parsed) {
      return invalid_query(
          {{"window", "must be a duration like 24h or 7d: " + parsed.error().message}});
    }
    window = *parsed;
  }
  auto stats = call.engine.webhook_stats(call.account, call.id, window);
  if (!stats) return failure_response(stats.error());
  const auto counts = [](const engine::stats_bucket_view& b) {
    json::object o{
        {"start", engine::format_rfc3339(b.start_ms)},
        {"attempts", b.attempts},
        {"succeeded", b.succeeded},
        {"failed_attempts", b.failed_attempts},
        {"failed_deliveries", b.failed_deliveries},
    };
    // Null when nothing was attempted: no rate to show, not a rate of 0.
    o["success_rate"] =
        b.attempts == 0
            ? json::value(nullptr)
            : json::value(static_cast<double>(b.succeeded) / static_cast<double>(b.attempts));
    o["average_duration_ms"] =
        b.attempts == 0 ? json::value(nullptr) : json::value(b.duration_ms / b.attempts);
    return o;
  };
  json::array buckets;
  for (const auto& b : stats->buckets) buckets.push_back(counts(b));
  auto totals = counts(stats->totals);
  totals.erase("start");
  return json_response(200, json::object{
                                {"webhook_id", stats->webhook_id},
                                {"from", engine::format_rfc3339(stats->from_ms)},
                                {"to", engine::format_rfc3339(stats->to_ms)},
                                {"bucket", stats->bucket == std::chrono::hours(1) ? "1h" : "1d"},
                                {"totals", std::move(totals)},
                                {"buckets", std::move(buckets)},
                            });
}

response recover_deliveries(const route_call& call) {
  auto since = engine::parse_recover_request(call.req.body);
  if (!since) return failure_response(since.error());
  auto n = call.engine.recover(call.account, call.id, *since);
  if (!n) return failure_response(n.error());
  return json_response(202, json::object{{"recovered", *n}});
}

response show_delivery(const route_call& call) {
  auto d = call.engine.delivery(call.account, call.uuid);
  if (!d) return failure_response(d.error());
  return json_response(200, delivery_json(*d, true));
}

response retry_delivery(const route_call& call) {
  auto d = call.engine.retry(call.account, call.uuid);
  if (!d) return failure_response(d.error());
  return json_response(202, json::object{{"delivery", delivery_json(*d, false)}});
}

}  // namespace hookd::api
