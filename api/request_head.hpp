// What the admin server reads from a request's line and headers before anything else:
// whether its framing can be trusted (RFC 9112), the router's view of it, and its
// request id. Beast's header types: include only from api/server.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>

#include "api/router.hpp"

namespace hookd::api {

// Why a request's framing cannot be trusted (RFC 9112 6.1 and 6.3), or nullopt. Any
// Transfer-Encoding but exactly "chunked" would let a proxy and hookd disagree on
// where the body ends, which is how one request is read as two. `chunked` is what the
// parser made of the header.
std::optional<std::string> framing_problem(const boost::beast::http::request_header<>& head,
                                           bool chunked);

// The router's view of a request; the views point into `head`.
request request_of(const boost::beast::http::request_header<>& head, std::string_view body);

// "req_" + 16 hex digits, unique within the process and unpredictable across runs.
std::string new_request_id();

// A caller's own X-Request-Id is kept when it is 1-128 of [A-Za-z0-9._:-], so a log
// line cannot be forged through it.
bool usable_request_id(std::string_view id);

}  // namespace hookd::api
