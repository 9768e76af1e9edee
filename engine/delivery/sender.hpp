// How the dispatcher sends a request: the HTTP client in production, a scripted
// receiver in the dispatcher's tests. One call per attempt.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <boost/asio/awaitable.hpp>

#include "engine/http/client.hpp"

namespace boost::asio {
class io_context;
}

namespace hookd::engine {

class sender {
 public:
  virtual ~sender() = default;
  // Never throws for network failures; they come back in the outcome. The request's
  // data stays alive until the awaitable completes.
  virtual boost::asio::awaitable<http_outcome> send(http_request request) = 0;
  // Cuts every connection and request under way (stop after the drain deadline).
  virtual void close_all() = 0;
  virtual std::uint64_t connections_opened() const = 0;
  // Requests sent again on a fresh connection: the pooled one had been closed.
  virtual std::uint64_t stale_retries() const { return 0; }
};

// Makes the sender of one worker, bound to its io_context.
using sender_factory = std::function<std::unique_ptr<sender>(boost::asio::io_context&)>;

// The production sender: hookd's HTTP client with these options.
sender_factory http_senders(http_client_options options);

}  // namespace hookd::engine
