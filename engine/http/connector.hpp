// Opening connections: resolve (or take the IP literal), refuse what the address
// policy forbids, connect, and for https the TLS handshake with certificate checks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "engine/http/address_policy.hpp"
#include "engine/http/client.hpp"
#include "engine/http/connection_pool.hpp"
#include "engine/http/resolver.hpp"

namespace hookd::engine::http_detail {

// An outcome without a response: a failure of this kind, explained.
inline http_outcome failed(error_kind kind, std::string message) {
  http_outcome out;
  out.error = kind;
  out.message = std::move(message);
  return out;
}

// "5000 ms", for messages about deadlines.
inline std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace hookd::engine::http_detail

namespace hookd::engine::http_detail {

// What every new connection of one client needs. Used from the client's executor.
struct connector {
  // Throws on a bad extra_ca_file (a start-up failure).
  connector(net::any_io_executor executor, const http_client_options& options);

  net::any_io_executor executor;
  net::ssl::context tls;  // verifies peers against the system store (+ extra_ca_file)
  // The system store is read into `tls` on the first https connection, not at
  // construction: it is a few hundred million instructions (every certificate of
  // /etc/ssl/certs parsed) per worker, which a start-up with http receivers only
  // never needs. Returns `tls`.
  net::ssl::context& tls_context();
  std::once_flag system_store_loaded;
  address_policy policy;
  std::chrono::milliseconds connect_timeout;
  std::shared_ptr<resolver> dns;
  // Read by other threads (metrics), written by the worker.
  std::atomic<std::uint64_t> connections_opened{0};
};

struct opened {
  std::unique_ptr<connection> conn;
  http_outcome failure;  // error none when conn is set
};

// Resolves, connects to the first allowed address that answers, and for https
// completes the TLS handshake, all within connect_timeout (and the attempt deadline).
net::awaitable<opened> open_connection(std::shared_ptr<connector> c, destination where,
                                       time_point attempt_deadline);

}  // namespace hookd::engine::http_detail
