// The admin API's entry point: parse the target, authenticate (unless the route is
// open), find the route in admin_routes(), check the body's type, call the handler.
#include "api/router.hpp"

#include <boost/url/parse.hpp>

#include "api/error_mapping.hpp"
#include "api/request_parsing.hpp"
#include "api/routes.hpp"

namespace hookd::api {

router::router(engine::engine& engine, const token_store& tokens)
    : engine_(engine), tokens_(tokens) {}

response router::error(unsigned status, std::string_view code, std::string_view message) {
  return error_response(status, code, message);
}

response router::handle(const request& req) const {
  auto target = boost::urls::parse_origin_form(req.target);
  if (!target) return error(400, "bad_request", "the request target is not a valid path");
  const std::string path = target->path();
  const route_match m = admin_routes().find(req.method, path);

  // Authentication comes before routing answers: without a valid token, an unknown
  // path or method is a 401 too, so the table cannot be probed.
  std::string account;
  if (!m.open) {
    auto authenticated = tokens_.authenticate(req.token);
    if (!authenticated) {
      return error(401, "unauthorized",
                   req.token.empty() ? "the X-Token header is required"
                                     : "the X-Token header does not name a valid token");
    }
    account = std::move(*authenticated);
  }

  response out;
  if (m.pattern.empty()) {
    out = error(404, "not_found", m.not_found);
  } else if (m.found == nullptr) {
    out = method_not_allowed(req.method, m.allow);
  } else if (m.found->body == route_body::json && !is_json_content_type(req.content_type)) {
    out = unsupported_media_type(req.content_type);
  } else {
    out = m.found->handle({
        .req = req,
        .engine = engine_,
        .account = account,
        .target = *target,
        .id = m.id,
        .uuid = m.uuid,
    });
  }
  out.route = m.pattern;
  return out;
}

}  // namespace hookd::api
