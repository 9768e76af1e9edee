// An answer's status line and headers as the admin server writes them: formatted into
// one buffer here rather than through Beast's serializer, whose buffer sequences cost
// about 19k instructions per answer (docs/PERFORMANCE.md, profile 5). The bytes are
// those Beast's serializer wrote for the same answer, but for the "Content-Length: 0"
// it put on a 204 or 304, which RFC 9110 8.6 forbids (tests/api/response_head_test.cpp).
#pragma once

#include <string>
#include <string_view>

#include "api/router.hpp"

namespace hookd::api {

// Whether a response with `status` has a body, whatever its request (RFC 9110 6.4.1):
// not a 1xx, 204 or 304.
bool carries_body(unsigned status);

// HTTP/1.`minor` status line, then: Allow, Retry-After, out.headers in order,
// Content-Type (but on a 204; application/json after X-Request-Id when none is set),
// Connection as `keep_alive` and the version need it, Server, X-Request-Id (when not
// empty), Content-Length (when carries_body), and the empty line. The body, out.body,
// follows on the wire when carries_body, except in answer to HEAD.
std::string response_head(const response& out, unsigned version, bool keep_alive,
                          std::string_view request_id);

}  // namespace hookd::api
