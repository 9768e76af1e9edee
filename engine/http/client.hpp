// The outbound HTTP/1.1 client of the dispatcher: options, request, outcome and the
// client (one per worker io_context, used only from its thread, so no locks). Included
// widely, so it stays light: Beast and the rest of the client live in engine/http/*.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "engine/http/address_policy.hpp"
#include "engine/http/error_kind.hpp"

namespace hookd::engine {

struct webhook_url;

// What a host name lookup found: addresses as text ("203.0.113.7", "2001:db8::1",
// "fe80::1%2"), or why there are none.
struct name_lookup_answer {
  std::vector<std::string> addresses;
  std::string error;  // empty when the lookup itself worked
};
// A blocking host name lookup.
using name_lookup = std::function<name_lookup_answer(const std::string& host)>;
// The system's: getaddrinfo (so /etc/hosts, nsswitch and DNS), with AI_ADDRCONFIG.
name_lookup_answer system_name_lookup(const std::string& host);

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
  // How host names are resolved (IP literals never are). It runs on a small thread
  // pool shared by every client, possibly on several threads at once, so it must be
  // thread-safe; an attempt waits for it no longer than connect_timeout. Tests inject
  // fixed answers. Default empty: system_name_lookup.
  name_lookup lookup;
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
  // Where to: origin, host, port, TLS (engine/registry/webhook_url.hpp); not null.
  const webhook_url* url = nullptr;
  // The request target sent as written: the URL's target, or for GET/DELETE that
  // target with the query appended. Bytes up to space and DEL are refused.
  std::string_view target;
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
  // Throws on a bad extra_ca_file or connections_per_origin 0 (start-up failures).
  http_client(boost::asio::any_io_executor executor, http_client_options options);
  // Must run before the executor's io_context is destroyed, as for any Asio I/O object.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Sends one request and reads its response. Never throws for network failures;
  // they come back as an error_kind. The referenced data (url included) must stay
  // alive until the awaitable completes.
  boost::asio::awaitable<http_outcome> send(http_request request);

  // Closes every pooled connection (for shutdown).
  void close_all();

  http_client_stats stats() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hookd::engine
