// A webhook's URL, parsed once (with Boost.URL) when the webhook is validated and when
// a webhook is prepared for delivery (webhook_targets), never per attempt; owns the URL rules.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hookd/errc.hpp"

namespace hookd::engine {

inline constexpr std::size_t k_max_url_bytes = 2048;

enum class url_host_kind { name, ipv4, ipv6 };

struct webhook_url {
  bool https = false;
  // Lower case; an IP literal in canonical form, IPv6 without brackets. What DNS
  // resolves (names) and what the TLS certificate must be valid for.
  std::string host;
  url_host_kind host_kind = url_host_kind::name;
  // The address of an IP literal, so the client connects without DNS: IPv6 as is, IPv4
  // as IPv4-mapped IPv6 (::ffff:a.b.c.d). All zero for a name.
  std::array<std::uint8_t, 16> address{};
  std::uint16_t port = 0;   // explicit or the scheme's default
  std::string target;       // path and query as written ("/" when empty); never a fragment
  std::string origin;       // "https://host:port": the key of connection pools and back-pressure
  std::string host_header;  // Host header value (port only when not the default)
  // Empty for every URL parse_webhook_url accepts. A record stored under older rules
  // may hold a URL no request can be made to: parse_stored_webhook_url keeps it with
  // this set to why, and the HTTP client fails its attempts with error_kind::protocol.
  std::string undeliverable;
};

// A URL a new or changed webhook may have: absolute http or https, with a host, at
// most k_max_url_bytes, no user-info, no fragment, a port from 1 to 65535, a host
// that is a plain name (not percent-encoded), an IPv4 or an IPv6 literal. On failure
// the message names the rule broken, worded to follow the field name ("must ...").
[[nodiscard]] explained<webhook_url> parse_webhook_url(std::string_view text);

// A URL read back from storage; never fails. What the rules above refuse but a
// request can still be made to is taken as the client always took it: user-info is
// ignored (never sent), so is a fragment, and the length is not checked. Anything else
// comes back with `undeliverable` set and `origin` set to the text itself, so such a
// target queues apart from every real origin.
[[nodiscard]] webhook_url parse_stored_webhook_url(std::string_view text);

}  // namespace hookd::engine
