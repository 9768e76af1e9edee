// Routing of the admin API: method + path pattern → handler. An unknown path is a 404,
// a known path with another method a 405 with its Allow list, {id} and {uuid} typed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/url/url_view.hpp>

#include "api/router.hpp"
#include "hookd/engine/engine.hpp"

namespace hookd::api {

// What a handler gets: the request, its account, the parsed target and path parameters.
struct route_call {
  const request& req;
  engine::engine& engine;
  portal_sessions& portal;
  const std::string& account;  // empty on an open route
  // The portal session that authenticated the request, when not a token.
  const std::optional<portal_identity>& session;
  boost::urls::url_view target;  // for query parameters
  std::uint64_t id = 0;          // {id}: a webhook id
  std::string_view uuid;         // {uuid}: a delivery uuid as sent; the engine parses it
  std::string_view rest;         // {path}: the rest of the path, "a/b.js"
};

using route_handler = response (*)(const route_call& call);

enum class route_access {
  token,           // an account's X-Token (401 before anything else, 403 for an operator token)
  operator_token,  // an operator token (401 without a valid token, 403 for an account's)
  open,            // answered without a token: liveness, the API document, portal links
  token_only,      // an account's X-Token, not a portal session (which cannot act for it)
};

enum class route_body {
  any,   // no body, or one the handler ignores
  json,  // Content-Type must be JSON, else 415 (after the method check)
};

struct route {
  std::string_view method;   // upper case, as on the wire
  std::string_view pattern;  // "/api/v1/webhooks/{id}/deliveries"; static storage
  route_handler handle = nullptr;
  route_body body = route_body::any;
  route_access access = route_access::token;
};

// What find() learnt about a request's method and path.
struct route_match {
  const route* found = nullptr;  // the path and the method matched
  std::string_view pattern;      // the path matched a pattern (empty for a 404)
  std::string allow;             // that pattern's methods, for a 405: "GET, POST"
  bool open = false;             // answered without a token (open route, or 405 on one)
  bool for_operator = false;     // the pattern's routes need an operator token
  bool token_only = false;       // the pattern's routes refuse portal sessions
  std::uint64_t id = 0;
  std::string_view uuid;
  std::string_view rest;
  std::string not_found;  // why it is a 404: "no route for /x", "webhook abc not found"
};

class route_table {
 public:
  // Patterns are "/"-separated literal segments, {id} (a uint64: anything else is a
  // 404), {uuid} (any non-empty segment) or, last, {path} (one or more segments: the
  // rest of the path), each parameter at most once. A pattern's
  // routes must agree on access. The first pattern that matches wins, so a literal
  // must come before a parameter in the same place. Bad tables throw
  // std::invalid_argument: they are bugs.
  explicit route_table(std::vector<route> routes);

  // `path` is decoded, without the query; one trailing slash is ignored. The views in
  // the result point into `path` and into the table.
  route_match find(std::string_view method, std::string_view path) const;

  // The routes in table order.
  const std::vector<route>& routes() const { return routes_; }

 private:
  enum class segment_kind { literal, id, uuid, rest };
  struct segment {
    segment_kind kind;
    std::string_view text;  // literal segments only
  };
  // One pattern and the routes answering it.
  struct path_entry {
    std::string_view pattern;
    std::vector<segment> segments;
    std::vector<const route*> routes;  // in table order, which is the Allow order
    std::string allow;
    bool open = false;
    bool for_operator = false;
    bool token_only = false;
  };

  std::vector<route> routes_;
  std::vector<path_entry> paths_;
};

}  // namespace hookd::api
