// Keep-alive connections per origin: the connection, an origin's pool with its slots
// and waiters, the lease a request holds, the idle sweeper, acquire/release, close_all.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include "engine/registry/webhook_url.hpp"

namespace hookd::engine::http_detail {

namespace net = boost::asio;
namespace beast = boost::beast;
using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

// Where the connections of a pool go: what of a webhook_url its origin determines.
struct destination {
  explicit destination(const webhook_url& url);
  bool https = false;
  std::string host;  // lower case; an IPv6 literal without brackets
  std::uint16_t port = 0;
  std::optional<net::ip::address> literal;  // set when host is an IP address: no DNS
  std::string host_header;                  // the Host header value
  std::string name;                         // "https://host:port", for messages
};

struct connection {
  // Plain TCP, or TLS over TCP when `tls_context` is given.
  connection(const net::any_io_executor& executor, net::ssl::context* tls_context);
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;  // response bytes; empty between requests
  std::string out;            // the serialized request, reused
  time_point idle_since;
  std::uint64_t generation = 0;  // close_all() retires older connections
};

class connection_pools;
struct pool;

// A request waiting for a connection of a full pool. release() hands it a
// connection (or, when the released one was dropped, the right to open one) and
// cancels its timer; the timer otherwise fires at the attempt deadline.
struct waiter {
  waiter(connection_pools& pools, pool& p);
  ~waiter();
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;

  connection_pools& owner;
  pool& where;
  net::steady_timer timer;
  std::unique_ptr<connection> conn;
  bool granted = false;  // conn, or a slot to open a connection in when conn is null
  bool queued = false;
};

struct pool {
  explicit pool(destination d) : where(std::move(d)) {}
  destination where;
  std::deque<std::unique_ptr<connection>> idle;  // oldest first; taken from the back
  std::size_t open = 0;                          // idle + in use + being opened
  std::deque<waiter*> waiters;                   // invariant: empty while idle is not
};

// The pools of one client, keyed by origin. Used only from the client's executor.
// Shared with the requests and the idle sweeper in flight, so they keep it alive even
// if the client goes first.
class connection_pools : public std::enable_shared_from_this<connection_pools> {
 public:
  // `per_origin` connections at most per origin (at least 1); idle ones are closed
  // after `idle_timeout`.
  connection_pools(net::any_io_executor executor, std::size_t per_origin,
                   std::chrono::milliseconds idle_timeout);

  // The pool of the url's origin, created on first use. A pool stays put (and
  // references to it valid) while it has a waiter or a slot taken.
  pool& pool_for(const webhook_url& url);
  // Takes an idle connection (conn set) or a free slot (conn null) when nobody is
  // queued before us.
  bool try_acquire(pool& p, std::unique_ptr<connection>& conn);
  // Gives a slot back: the connection is pooled or handed to the first waiter when
  // `reusable` and opened since the last close_all(); dropped otherwise, and then the
  // slot itself passes to the first waiter.
  void release(pool& p, std::unique_ptr<connection> conn, bool reusable);

  // Requests under way register their connection, so close_all() can cut it.
  void begin_request(connection* c) { busy_.insert(c); }
  void end_request(connection* c) { busy_.erase(c); }

  // Drops every idle connection and cuts those in use; they are not reused.
  void close_all();
  // close_all(), and nothing is pooled from now on (the client is going away).
  void close();
  bool closed() const noexcept { return closed_; }
  // Incremented by close_all(); a connection keeps the value of its opening.
  std::uint64_t generation() const noexcept { return generation_; }

  const net::any_io_executor& executor() const noexcept { return executor_; }

 private:
  friend net::awaitable<void> sweep_idle(std::shared_ptr<connection_pools> self);

  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  net::any_io_executor executor_;
  std::size_t per_origin_;
  std::chrono::milliseconds idle_timeout_;
  std::unordered_map<std::string, std::unique_ptr<pool>, string_hash, std::equal_to<>> pools_;
  // Connections with a request on them right now.
  boost::unordered_flat_set<connection*> busy_;  // open addressing: no allocation per request
  net::steady_timer sweep_timer_;
  bool sweeping_ = false;
  bool closed_ = false;
  std::uint64_t generation_ = 0;
};

// The outcome of waiting for a slot: when granted, conn is an idle connection to
// reuse, or null for a slot to open one in.
struct acquired {
  bool granted = false;
  std::unique_ptr<connection> conn;
  std::size_t in_use = 0;  // when not granted: the pool's slots taken at the deadline
};

// A slot of `*p`, waiting in line until `deadline` when the pool is full. `p` comes
// from pools->pool_for() and stays valid meanwhile (a pool with a waiter is kept).
net::awaitable<acquired> acquire(std::shared_ptr<connection_pools> pools, pool* p,
                                 time_point deadline);

// Holds one slot of a pool for the duration of a request; gives it back (dropping
// the connection) if the request ends without finish().
class lease {
 public:
  lease(connection_pools& pools, pool& p, std::unique_ptr<connection> c)
      : pools_(pools), pool_(p), conn(std::move(c)) {}
  ~lease() {
    if (held_) pools_.release(pool_, std::move(conn), false);
  }
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;

  void finish(bool reusable) {
    held_ = false;
    pools_.release(pool_, std::move(conn), reusable);
  }

 private:
  connection_pools& pools_;
  pool& pool_;
  bool held_ = true;

 public:
  std::unique_ptr<connection> conn;  // null until opened
};

}  // namespace hookd::engine::http_detail
