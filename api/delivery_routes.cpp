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

namespace {

// The window of a stats query (default 24h); the engine checks its range.
std::optional<std::chrono::milliseconds> read_window(const boost::urls::url_view& target,
                                                     std::vector<engine::field_error>& problems) {
  std::chrono::milliseconds window = std::chrono::hours(24);
  for (auto param : target.params()) {
    if (param.key != "window") continue;
    auto parsed = engine::parse_duration(param.value);
    if (!parsed) {
      problems.push_back(
          {"window", "must be a duration like 24h or 7d: " + parsed.error().message});
      return std::nullopt;
    }
    window = *parsed;
  }
  return window;
}

json::object counts_json(const engine::stats_bucket_view& b) {
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
}

json::object stats_json(const engine::webhook_stats_view& stats) {
  json::array buckets;
  for (const auto& b : stats.buckets) buckets.push_back(counts_json(b));
  auto totals = counts_json(stats.totals);
  totals.erase("start");
  return json::object{
      {"webhook_id", stats.webhook_id},
      {"from", engine::format_rfc3339(stats.from_ms)},
      {"to", engine::format_rfc3339(stats.to_ms)},
      {"bucket", stats.bucket == std::chrono::hours(1) ? "1h" : "1d"},
      {"totals", std::move(totals)},
      {"buckets", std::move(buckets)},
  };
}

}  // namespace

response list_deliveries(const route_call& call) {
  std::vector<engine::field_error> problems;
  const page_params params = read_page_params(call.target, problems);
  auto order = engine::delivery_order::oldest_first;
  for (auto param : call.target.params()) {
    if (param.key != "order") continue;
    if (param.value == "newest") {
      order = engine::delivery_order::newest_first;
    } else if (param.value != "oldest") {
      problems.push_back({"order", "must be oldest or newest"});
    }
  }
  if (!problems.empty()) return invalid_query(std::move(problems));
  auto list = call.engine.deliveries(call.account, call.id, params.status, params.after,
                                     params.limit, order);
  if (!list) return failure_response(list.error());
  json::array items;
  for (const auto& d : list->deliveries) items.push_back(delivery_json(d, false));
  return json_response(200,
                       json::object{{"deliveries", std::move(items)},
                                    {"next_after", list->next_after ? json::value(*list->next_after)
                                                                    : json::value(nullptr)}});
}

response show_webhook_stats(const route_call& call) {
  std::vector<engine::field_error> problems;
  const auto window = read_window(call.target, problems);
  if (!window) return invalid_query(std::move(problems));
  auto stats = call.engine.webhook_stats(call.account, call.id, *window);
  if (!stats) return failure_response(stats.error());
  return json_response(200, stats_json(*stats));
}

response show_overview(const route_call& call) {
  std::vector<engine::field_error> problems;
  const page_params params = read_page_params(call.target, problems);
  const auto window = read_window(call.target, problems);
  const std::uint64_t after = webhook_after(params, problems);
  if (!problems.empty()) return invalid_query(std::move(problems));

  auto& webhooks = call.engine.webhooks();
  auto page = webhooks.list(call.account, after, params.limit);
  if (!page) return failure_response(page.error());
  json::array items;
  for (const auto& r : page->webhooks) {
    auto stats = call.engine.webhook_stats(call.account, r.id, *window);
    if (!stats) {
      // Removed between the list and this read: it is no longer the account's.
      if (stats.error().code == errc::not_found) continue;
      return failure_response(stats.error());
    }
    auto last = call.engine.deliveries(call.account, r.id, std::nullopt, std::nullopt, 1,
                                       engine::delivery_order::newest_first);
    if (!last && last.error().code != errc::not_found) return failure_response(last.error());
    json::value last_json = nullptr;
    if (last && !last->deliveries.empty()) {
      const auto& d = last->deliveries.front();
      last_json = json::object{
          {"uuid", d.uuid},
          {"event_type", d.event_type},
          {"status", d.status},
          {"updated_at", engine::format_rfc3339(d.updated_at_ms)},
      };
    }
    items.push_back(json::object{
        {"webhook", webhook_json(r, webhooks.catalog(), false)},
        {"stats", stats_json(*stats)},
        {"last_delivery", std::move(last_json)},
    });
  }
  return json_response(200,
                       json::object{{"webhooks", std::move(items)},
                                    {"next_after", page->next_after ? json::value(*page->next_after)
                                                                    : json::value(nullptr)}});
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
