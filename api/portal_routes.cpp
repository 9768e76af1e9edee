// Portal links: issued to an account's token, exchanged once for a cookie.
#include "api/portal_routes.hpp"

#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include "api/error_mapping.hpp"
#include "engine/delivery/retry_policy.hpp"
#include "engine/encoding.hpp"
#include "engine/json_text.hpp"

namespace hookd::api {
namespace {

namespace json = boost::json;

response invalid(std::vector<engine::field_error> problems) {
  engine::failure f = engine::failure::from(
      errc::invalid_argument,
      problems.size() == 1
          ? "the request has 1 invalid field"
          : "the request has " + std::to_string(problems.size()) + " invalid fields");
  f.details = std::move(problems);
  return failure_response(f);
}

}  // namespace

response create_portal_session(const route_call& call) {
  bool read_only = false;
  std::chrono::milliseconds life = portal_sessions::k_default_link_life;
  if (!call.req.body.empty()) {
    std::string minified;
    if (auto bad = engine::check_request_json(call.req.body, minified)) {
      return failure_response(*bad);
    }
    const json::value body = json::parse(minified);
    if (!body.is_object()) return invalid({{"", "must be a JSON object"}});
    std::vector<engine::field_error> problems;
    for (const auto& [key, value] : body.get_object()) {
      if (key == "read_only") {
        if (value.is_bool()) {
          read_only = value.get_bool();
        } else {
          problems.push_back({"read_only", "must be true or false"});
        }
      } else if (key == "expires_in") {
        auto d = value.is_string()
                     ? engine::parse_duration(value.get_string())
                     : explained<std::chrono::milliseconds>(explained_error("not a string"));
        if (!d || *d <= std::chrono::milliseconds(0) || *d > portal_sessions::k_max_link_life) {
          problems.push_back({"expires_in", "must be a duration from 1s to 24h, like \"1h\""});
        } else {
          life = *d;
        }
      } else {
        problems.push_back({std::string(key),
                            "is not a field of a portal session; accepted: "
                            "read_only, expires_in"});
      }
    }
    if (!problems.empty()) return invalid(std::move(problems));
  }
  const auto link = call.portal.issue(call.account, read_only, life);
  const std::string path = "/portal/session?code=" + link.code;
  json::object out{
      {"url", call.req.host.empty() ? path : "http://" + std::string(call.req.host) + path},
      {"expires_at", engine::format_rfc3339(link.expires_at_ms)},
      {"read_only", read_only},
  };
  return json_response(201, out);
}

response exchange_portal_code(const route_call& call) {
  std::string code;
  for (auto param : call.target.params()) {
    if (param.key == "code") code = param.value;
  }
  auto session = call.portal.exchange(code);
  if (!session) {
    return error_response(410, "gone",
                          "this portal link was used already or has expired; ask for a new one");
  }
  response r;
  r.status = 303;
  r.headers.emplace_back("Location", "/portal/");
  // HttpOnly: no script reads it; SameSite=Strict: no other site's request carries it.
  // hookd serves plain HTTP (TLS ends at a proxy), so Secure is the proxy's to add.
  const auto seconds = (session->second.expires_at_ms - call.engine.now_ms()) / 1000;
  r.headers.emplace_back("Set-Cookie", std::string(portal_sessions::k_cookie) + "=" +
                                           session->first + "; Path=/; Max-Age=" +
                                           std::to_string(seconds) + "; HttpOnly; SameSite=Strict");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

response show_portal_session(const route_call& call) {
  json::object out{{"account", call.account}};
  if (call.session) {
    out["via"] = "portal_session";
    out["read_only"] = call.session->read_only;
    out["expires_at"] = engine::format_rfc3339(call.session->expires_at_ms);
    out["csrf_token"] = call.session->csrf_token;
  } else {
    out["via"] = "token";
    out["read_only"] = false;
    out["expires_at"] = nullptr;
    out["csrf_token"] = nullptr;
  }
  return json_response(200, out);
}

}  // namespace hookd::api
