// The admin API's entry point: parse the target, authenticate (unless the route is
// open), find the route in admin_routes(), check the body's type, call the handler.
#include "api/router.hpp"

#include <boost/url/parse.hpp>

#include "api/error_mapping.hpp"
#include "api/request_parsing.hpp"
#include "api/routes.hpp"

namespace hookd::api {

router::router(engine::engine& engine, const token_authority& tokens, portal_sessions& portal)
    : engine_(engine), tokens_(tokens), portal_(portal) {}

response router::error(unsigned status, std::string_view code, std::string_view message) {
  return error_response(status, code, message);
}

head_verdict router::check_head(const request& req) const {
  head_verdict v;
  auto target = boost::urls::parse_origin_form(req.target);
  if (!target) {
    v.refusal = error(400, "bad_request", "the request target is not a valid path");
    return v;
  }
  const std::string path = target->path();
  const route_match m = admin_routes().find(req.method, path);

  // Authentication comes before routing answers: without a valid token, an unknown
  // path or method is a 401 too, so the table cannot be probed. A portal session's
  // cookie stands for its account's token when there is no token.
  const std::string_view session_id =
      req.token.empty() ? cookie_value(req.cookie, portal_sessions::k_cookie) : std::string_view();
  if (!m.open && !session_id.empty()) {
    v.portal = portal_.find(session_id);
    const bool unsafe = req.method != "GET" && req.method != "HEAD";
    if (!v.portal) {
      v.refusal = error(401, "unauthorized",
                        "the portal session has ended or expired; open a new portal link");
    } else if (m.for_operator || m.token_only) {
      v.refusal = error(403, "forbidden",
                        m.for_operator ? "this route needs an operator token"
                                       : "a portal session cannot do this; use the account's "
                                         "token");
    } else if (unsafe && v.portal->read_only) {
      v.refusal = error(403, "forbidden", "this portal session is read-only");
    } else if (unsafe && req.csrf_token != v.portal->csrf_token) {
      // SameSite=Strict already keeps other sites' requests from carrying the cookie;
      // the token is the second lock (GET /api/v1/portal-session gives it).
      v.refusal = error(403, "forbidden",
                        "a state-changing request of a portal session needs its X-CSRF-Token");
    } else {
      v.account = v.portal->account;
    }
  } else if (!m.open) {
    auto authenticated = tokens_.authenticate(req.token);
    if (!authenticated) {
      v.refusal = error(401, "unauthorized",
                        req.token.empty() ? "the X-Token header is required"
                                          : "the X-Token header does not name a valid token");
    } else if (m.for_operator != (*authenticated == k_operator)) {
      // An account's token never reads process-wide numbers, and an operator token
      // acts on no account: neither is a valid token for the other's routes.
      v.refusal = error(403, "forbidden",
                        m.for_operator ? "this route needs an operator token"
                                       : "an operator token acts on no account: use an "
                                         "account's token");
    } else {
      v.account = std::move(*authenticated);
    }
  }
  if (!v.refusal) {
    if (m.pattern.empty()) {
      v.refusal = error(404, "not_found", m.not_found);
    } else if (m.found == nullptr) {
      v.refusal = method_not_allowed(req.method, m.allow);
    } else if (m.found->body == route_body::json && !is_json_content_type(req.content_type)) {
      v.refusal = unsupported_media_type(req.content_type);
    }
  }
  if (v.refusal) v.refusal->route = m.pattern;
  return v;
}

response router::handle(const request& req, const head_verdict& verdict) const {
  // check_head() accepted the target, so it parses and matches again; the pattern
  // match is a few string comparisons, cheaper than keeping views into its state.
  auto target = boost::urls::parse_origin_form(req.target);
  if (!target) return error(400, "bad_request", "the request target is not a valid path");
  const std::string path = target->path();
  const route_match m = admin_routes().find(req.method, path);
  if (m.found == nullptr) return error(404, "not_found", m.not_found);
  response out = m.found->handle({
      .req = req,
      .engine = engine_,
      .portal = portal_,
      .account = verdict.account,
      .session = verdict.portal,
      .target = *target,
      .id = m.id,
      .uuid = m.uuid,
      .rest = m.rest,
  });
  out.route = m.pattern;
  return out;
}

response router::handle(const request& req) const {
  head_verdict v = check_head(req);
  if (v.refusal) return std::move(*v.refusal);
  return handle(req, v);
}

}  // namespace hookd::api
