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
#include "hookd/engine/options.hpp"

namespace hookd::engine {

struct webhook_url;

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
