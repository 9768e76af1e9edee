// The admin API's entry point (DESIGN.md "Admin API contract"): a request in plain
// types, authenticated, routed through the table of api/routes.cpp, a response out.
// The HTTP transport is api/server.cpp, the business logic engine/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/portal_sessions.hpp"
#include "api/tokens.hpp"
#include "hookd/engine/engine.hpp"

namespace hookd::api {

struct request {
  std::string_view method;        // upper case, as on the wire
  std::string_view target;        // origin form: path and query
  std::string_view content_type;  // empty when absent
  std::string_view token;         // X-Token, empty when absent
  std::string_view body;
  std::string_view idempotency_key;  // Idempotency-Key, empty when absent
  std::string_view cookie = {};      // Cookie: a portal session (api/portal_sessions.hpp)
  std::string_view csrf_token = {};  // X-CSRF-Token
  std::string_view host = {};        // Host, for the absolute URL of a portal link
  // For the portal's pages and links: content negotiation, revalidation, and whether a
  // TLS-ending proxy in front says the client spoke https.
  std::string_view accept = {};           // Accept
  std::string_view accept_encoding = {};  // Accept-Encoding
  std::string_view if_none_match = {};    // If-None-Match
  std::string_view forwarded_proto = {};  // X-Forwarded-Proto
};

struct response {
  unsigned status = 200;
  std::string body;   // JSON, or empty (204)
  std::string allow;  // the Allow header of a 405
  // The Retry-After header (seconds) of a 503: when trying again makes sense.
  std::string retry_after;
  std::string content_type = "application/json";
  // More headers (Location, Set-Cookie), as name and value.
  std::vector<std::pair<std::string, std::string>> headers = {};
  // Not sent; for the transport's log line of a 5xx. Neither ever holds a token or
  // a request body.
  std::string_view route;     // pattern of the route that answered (static); empty if none
  std::string error_message;  // an error's message, as in the body; empty on success
};

// What the router decides from a request's line and headers, before its body is read.
struct head_verdict {
  // Set when the request is answered without reading its body: 400 (bad target), 401,
  // 403, 404, 405 or 415.
  std::optional<response> refusal;
  std::string account;  // the token's account when there is no refusal; empty on open routes
  // Set when a portal session cookie, not a token, authenticated the request.
  std::optional<portal_identity> portal;
};

class router {
 public:
  // The references must outlive the router.
  router(engine::engine& engine, const token_authority& tokens, portal_sessions& portal);

  // Authenticates and routes on the method, target, token and content type alone
  // (req.body is not looked at), so a transport can refuse a request before reading a
  // body it would not use. Thread-safe; never throws for bad input.
  head_verdict check_head(const request& req) const;

  // Answers a request whose check_head() verdict had no refusal, without
  // authenticating again. Thread-safe; never throws for bad input.
  response handle(const request& req, const head_verdict& verdict) const;

  // check_head() then handle(): the whole request at once.
  response handle(const request& req) const;

  // Helpers for errors the transport detects before a request reaches a route
  // (body too large, bad framing). `code` is the machine-readable error code.
  static response error(unsigned status, std::string_view code, std::string_view message);

 private:
  engine::engine& engine_;
  const token_authority& tokens_;
  portal_sessions& portal_;
};

}  // namespace hookd::api
