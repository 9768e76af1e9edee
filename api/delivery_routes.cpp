// The delivery resource's handlers over engine::engine's delivery log: list, show,
// retry, recover. Another account's webhook or delivery is a 404, as a missing one.
#include "api/delivery_routes.hpp"

#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/error_mapping.hpp"
#include "api/json_views.hpp"
#include "api/request_parsing.hpp"
#include "engine/delivery/payload.hpp"

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
