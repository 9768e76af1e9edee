// Error responses of the admin API: the {"error": {code, message, details}} shape of
// DESIGN.md, and the mapping from an engine failure's errc to an HTTP status and code.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "api/router.hpp"
#include "hookd/engine/failure.hpp"

namespace hookd::api {

response json_response(unsigned status, const boost::json::value& body);

// {"error": {"code": code, "message": message}}; `message` is also kept for the log.
response error_response(unsigned status, std::string_view code, std::string_view message);

// The status and code for `f.code` (invalid_argument 422, malformed_input 400,
// not_found 404, already_exists 409, storage_busy and shutting_down 503, storage_full
// 507, anything else 500), with f.message and f.details in the body whatever the status, so a
// storage failure's cause reaches the client and the log.
response failure_response(const engine::failure& f);

// 422 validation_failed naming every bad query parameter.
response invalid_query(std::vector<engine::field_error> problems);

// 405 with the Allow header; `allow` is "GET, POST" style.
response method_not_allowed(std::string_view method, std::string allow);

// 415 for a body whose Content-Type is not JSON.
response unsupported_media_type(std::string_view content_type);

}  // namespace hookd::api
