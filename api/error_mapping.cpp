// Error responses of the admin API: the {"error": ...} body and the errc → HTTP
// status/code mapping. The failure's own message always goes into the body.
#include "api/error_mapping.hpp"

#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace hookd::api {
namespace {

namespace json = boost::json;

struct status_mapping {
  errc code;
  unsigned status;
  std::string_view name;
};

// Every other code (storage_io, storage_corruption, config, codes of other
// categories) is a 500 "internal".
constexpr status_mapping k_mappings[] = {
    {errc::invalid_argument, 422, "validation_failed"},
    {errc::malformed_input, 400, "malformed_json"},
    {errc::not_found, 404, "not_found"},
    {errc::already_exists, 409, "conflict"},
    {errc::storage_busy, 503, "unavailable"},
    {errc::storage_full, 507, "storage_full"},
    {errc::shutting_down, 503, "unavailable"},
};

}  // namespace

response json_response(unsigned status, const json::value& body) {
  response r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

response error_response(unsigned status, std::string_view code, std::string_view message) {
  response r = json_response(
      status, json::object{{"error", json::object{{"code", code}, {"message", message}}}});
  r.error_message = message;
  return r;
}

response failure_response(const engine::failure& f) {
  unsigned status = 500;
  std::string_view code = "internal";
  for (const auto& m : k_mappings) {
    if (f.code == m.code) {
      status = m.status;
      code = m.name;
      break;
    }
  }
  // The engine always explains; should a message ever be missing, the code's own
  // text is better than an empty one.
  const std::string message = f.message.empty() ? f.code.message() : f.message;
  json::object error{{"code", code}, {"message", message}};
  if (!f.details.empty()) {
    json::array details;
    for (const auto& d : f.details) {
      details.push_back(json::object{{"field", d.field}, {"message", d.message}});
    }
    error["details"] = std::move(details);
  }
  response r = json_response(status, json::object{{"error", std::move(error)}});
  r.error_message = message;
  // Busy storage or a stopping engine: worth retrying soon (a restart, a write stall).
  if (status == 503) r.retry_after = "1";
  // A full disk is not freed in a second; the next check of free space is sooner.
  if (status == 507) r.retry_after = "5";
  return r;
}

response invalid_query(std::vector<engine::field_error> problems) {
  engine::failure f = engine::failure::from(errc::invalid_argument, "invalid query parameters");
  f.details = std::move(problems);
  return failure_response(f);
}

response method_not_allowed(std::string_view method, std::string allow) {
  response r = error_response(405, "method_not_allowed",
                              std::string(method) + " is not allowed here; allowed: " + allow);
  r.allow = std::move(allow);
  return r;
}

response unsupported_media_type(std::string_view content_type) {
  return error_response(415, "unsupported_media_type",
                        content_type.empty() ? "Content-Type must be application/json"
                                             : "Content-Type must be application/json, got " +
                                                   std::string(content_type));
}

}  // namespace hookd::api
