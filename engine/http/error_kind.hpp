// Why an attempt failed, one kind per class of failure (DESIGN.md "Delivery
// contract"): what the attempt log records and what back-pressure reacts to.
#pragma once

#include <string_view>

namespace hookd::engine {

enum class error_kind {
  none,                 // a 2xx came back
  timeout,              // connect or whole-attempt deadline passed
  connect,              // TCP connection refused/reset/unreachable, or closed mid-request
  tls,                  // TLS handshake or certificate verification failed
  dns,                  // the host name did not resolve
  http_status,          // a response came, but not 2xx
  protocol,             // the response was not valid HTTP/1.1, or the request cannot be made
  blocked_destination,  // the resolved address is private/loopback/... and not allowed
  origin_unavailable,   // not sent: the origin's circuit is open after repeated timeouts
                        // or refused connections; the attempt counts on the schedule
};

// Stable names, stored in the attempt log ("timeout", "blocked_destination", ...).
std::string_view to_string(error_kind k) noexcept;

}  // namespace hookd::engine
