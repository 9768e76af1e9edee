// Serves the OpenAPI document compiled into the binary (api/openapi_document.hpp).
#include "api/openapi_routes.hpp"

#include <string>

#include "api/openapi_document.hpp"

namespace hookd::api {

response show_openapi(const route_call&) {
  response r;
  r.body = std::string(openapi_json());
  return r;  // 200, application/json
}

}  // namespace hookd::api
