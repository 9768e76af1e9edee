// The outbound HTTP/1.1 client of the dispatcher: keep-alive connection pools per
// origin (scheme, host, port), a DNS cache, https with certificate and host name
// verification, refusal of private destinations, and every failure classified into
// an error kind. One client per worker io_context, used only from that thread, so
// it needs no locks. Beast stays inside engine/http/.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace hookd::engine {

// Why an attempt failed (DESIGN.md "Delivery contract"); none for a 2xx.
enum class error_kind {
  none,
  timeout,              // connect or whole-attempt deadline passed
  connect,              // TCP connection refused/reset/unreachable, or closed mid-request
  tls,                  // TLS handshake or certificate verification failed
  dns,                  // the host name did not resolve
  http_status,          // a response came, but not 2xx
  protocol,             // the response was not valid HTTP/1.1
  blocked_destination,  // the resolved address is private/loopback/... and not allowed
};
std::string_view to_string(error_kind k) noexcept;

// An IPv4 or IPv6 network, e.g. 10.0.0.0/8 or fd00::/8.
struct cidr {
  std::array<std::uint8_t, 16> address{};  // IPv4 as IPv4-mapped IPv6
  unsigned prefix = 0;                     // in IPv6 bits (IPv4 /8 is stored as /104)
  // Parses "a.b.c.d/n" or "x::y/n"; nullopt when malformed.
  static std::optional<cidr> parse(std::string_view text);
};

struct http_client_options {
  // Deadline for DNS + TCP connect (+ TLS handshake). Default 5 s.
  std::chrono::milliseconds connect_timeout{5'000};
  // Deadline for the whole attempt, connect included. Default 15 s.
  std::chrono::milliseconds attempt_timeout{15'000};
  // Keep-alive connections per origin and worker; more concurrent requests to the
  // same origin wait for a free connection. Default 32.
  std::size_t connections_per_origin = 32;
  // Idle keep-alive connections are closed after this long. Default 60 s.
  std::chrono::milliseconds idle_timeout{60'000};
  // Response bodies are read up to this many bytes; the rest is discarded and the
  // connection closed. Default 64 KiB.
  std::size_t max_response_body = 64 * 1024;
  // How long resolved addresses are reused. Default 60 s.
  std::chrono::milliseconds dns_ttl{60'000};
  // Allow loopback, private, link-local, multicast and unspecified destinations.
  // Off by default (SSRF protection); tests and on-premise setups turn it on.
  bool allow_private_targets = false;
  // Networks allowed even when allow_private_targets is off.
  std::vector<cidr> allowed_networks;
  // Extra PEM CA file trusted besides the system store (tests use a generated CA).
  std::string extra_ca_file;
  // Sent as User-Agent.
  std::string user_agent = "hookd";
};

struct http_request {
  std::string_view method;  // upper case
  std::string_view url;     // absolute http(s) URL; query already included
  // Extra headers (Host, User-Agent, Content-Length, Connection are set by the client).
  std::span<const std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;  // empty for GET/DELETE
};

struct http_outcome {
  error_kind error = error_kind::none;
  unsigned status = 0;       // 0 when no response came
  std::string message;       // human explanation of the error, empty on success
  std::string body_excerpt;  // first 1 KiB of the response body
  std::string retry_after;   // the Retry-After header, if any
  std::chrono::milliseconds duration{0};
  bool reused_connection = false;
};

struct http_client_stats {
  std::uint64_t connections_opened = 0;  // TCP connections established
  std::uint64_t requests = 0;            // send() calls
  // Requests re-sent on a fresh connection because the pooled one turned out to be
  // closed by the server before any response byte (a degraded mode worth watching).
  std::uint64_t stale_retries = 0;
};

class http_client {
 public:
  // Throws on a bad extra_ca_file (a start-up failure).
  http_client(boost::asio::any_io_executor executor, http_client_options options);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Sends one request and reads its response. Never throws for network failures;
  // they come back as an error_kind. The referenced data must stay alive until the
  // awaitable completes.
  boost::asio::awaitable<http_outcome> send(http_request request);

  // Closes every pooled connection (for shutdown).
  void close_all();

  http_client_stats stats() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Whether an address is loopback, private (RFC 1918, ULA), link-local, multicast,
// unspecified, CGNAT or otherwise not a public destination. 16 bytes, IPv4-mapped
// for IPv4.
bool is_non_public_address(const std::array<std::uint8_t, 16>& address) noexcept;

}  // namespace hookd::engine
