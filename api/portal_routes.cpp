// Portal links: issued to an account's token, exchanged once for a cookie.
#include "api/portal_routes.hpp"

#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include "api/error_mapping.hpp"
#include "api/portal_assets.hpp"
#include "engine/delivery/retry_policy.hpp"
#include "engine/encoding.hpp"
#include "engine/json_text.hpp"

namespace hookd::api {
namespace {

namespace json = boost::json;

// Whether the proxy in front says the client spoke https: X-Forwarded-Proto, or its
// first value when proxies in a chain each added one ("https, http").
bool client_spoke_https(const request& req) {
  std::string_view first = req.forwarded_proto.substr(0, req.forwarded_proto.find(','));
  while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
  return first == "https";
}

response invalid(std::vector<engine::field_error> problems) {
  engine::failure f = engine::failure::from(
      errc::invalid_argument,
      problems.size() == 1
          ? "the request has 1 invalid field"
          : "the request has " + std::to_string(problems.size()) + " invalid fields");
  f.details = std::move(problems);
  return failure_response(f);
}

// Whether a header list ("gzip, br;q=0.5", "text/html,*/*;q=0.8") names `token`
// without q=0.
bool accepts(std::string_view header, std::string_view token) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const auto semicolon = item.find(';');
    std::string_view name = item.substr(0, semicolon);
    std::string_view params =
        semicolon == std::string_view::npos ? std::string_view() : item.substr(semicolon + 1);
    auto trim = [](std::string_view s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
      return s;
    };
    name = trim(name);
    if (name != token) continue;
    // q=0, q=0.0, q=0.000: refused.
    const auto q = params.find("q=");
    if (q != std::string_view::npos) {
      const std::string_view value = trim(params.substr(q + 2));
      if (value.find_first_not_of("0.") == std::string_view::npos) continue;
    }
    return true;
  }
  return false;
}

// The ETag of a file's gzip form: a strong validator names one representation, and
// the compressed bytes are another ("abc" becomes "abc-gz").
std::string gzip_etag(std::string_view etag) {
  return std::string(etag.substr(0, etag.size() - 1)) + "-gz\"";
}

// Whether an If-None-Match list names `etag` or its gzip form (weakly, as RFC 9110
// 13.1.2 compares: a W/ prefix does not matter) or is "*".
bool matches_etag(std::string_view header, std::string_view etag) {
  if (header == "*") return true;
  // The plain ETag is the gzip one without its "-gz\"" end, so one search finds both.
  return !header.empty() && header.find(etag.substr(0, etag.size() - 1)) != std::string_view::npos;
}

// The headers of every portal page and file: the page runs only its own scripts and
// styles, talks only to its own origin, and is framed by nobody (or only by the
// configured origins), sends no Referer and cannot be sniffed as another type.
void add_page_headers(response& r, const portal_options& options) {
  std::string ancestors = "'none'";
  if (!options.frame_origins.empty()) {
    ancestors = "'self'";
    for (const auto& origin : options.frame_origins) ancestors += " " + origin;
  }
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; "
                         "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                         "base-uri 'none'; form-action 'self'; frame-ancestors " +
                             ancestors);
  if (options.frame_origins.empty()) r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
}

response file_response(const route_call& call, const portal_asset& file) {
  response r;
  r.content_type = std::string(file.content_type);
  add_page_headers(r, call.portal.options());
  // Revalidated on every use (cheap: a 304 by ETag), so a new hookd's files are
  // picked up at once, never mixed with an older page's.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Vary", "Accept-Encoding");
  const bool packed =
      accepts(call.req.accept_encoding, "gzip") && file.gzip.size() < file.body.size();
  r.headers.emplace_back("ETag", packed ? gzip_etag(file.etag) : std::string(file.etag));
  if (matches_etag(call.req.if_none_match, file.etag)) {
    r.status = 304;
    return r;
  }
  if (packed) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = std::string(file.gzip);
  } else {
    r.body = std::string(file.body);
  }
  return r;
}

response not_found_file(std::string_view path) {
  return error_response(404, "not_found", "the portal has no file " + std::string(path));
}

}  // namespace

response show_portal_page(const route_call& call) {
  // The page's addresses are relative ("app.js"): under /portal they would resolve
  // to /app.js, so the address without its slash moves to the one with it.
  if (!call.target.path().ends_with('/')) {
    response r;
    r.status = 308;
    r.headers.emplace_back("Location", "/portal/");
    return r;
  }
  const portal_asset* page = find_portal_asset("index.html");
  if (page == nullptr) return not_found_file("index.html");
  return file_response(call, *page);
}

response show_portal_file(const route_call& call) {
  const portal_asset* file = find_portal_asset(call.rest);
  if (file == nullptr) return not_found_file(call.rest);
  return file_response(call, *file);
}

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
  const std::string scheme = client_spoke_https(call.req) ? "https://" : "http://";
  json::object out{
      {"url", call.req.host.empty() ? path : scheme + std::string(call.req.host) + path},
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
    // A browser gets a page saying so; an API client the usual JSON error.
    const portal_asset* page = find_portal_asset("gone.html");
    if (page != nullptr && accepts(call.req.accept, "text/html")) {
      response r;
      r.status = 410;
      r.content_type = std::string(page->content_type);
      r.body = std::string(page->body);
      add_page_headers(r, call.portal.options());
      r.headers.emplace_back("Cache-Control", "no-store");
      return r;
    }
    return error_response(410, "gone",
                          "this portal link was used already or has expired; ask for a new one");
  }
  response r;
  r.status = 303;
  add_page_headers(r, call.portal.options());
  r.headers.emplace_back("Location", "/portal/");
  // HttpOnly: no script reads it. SameSite=Strict: no other site's request carries it;
  // but a page framed by another site is such a request, so where framing is allowed
  // the cookie is SameSite=None and Partitioned (kept apart per framing site), which
  // browsers take only with Secure: such a portal must be served over https. Secure
  // also whenever the proxy in front says the client spoke https.
  const auto seconds = (session->second.expires_at_ms - call.engine.now_ms()) / 1000;
  std::string cookie = std::string(portal_sessions::k_cookie) + "=" + session->first +
                       "; Path=/; Max-Age=" + std::to_string(seconds) + "; HttpOnly";
  if (!call.portal.options().frame_origins.empty()) {
    cookie += "; Secure; SameSite=None; Partitioned";
  } else {
    if (client_spoke_https(call.req)) cookie += "; Secure";
    cookie += "; SameSite=Strict";
  }
  r.headers.emplace_back("Set-Cookie", std::move(cookie));
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
