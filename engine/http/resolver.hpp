// Host names to addresses for the client: blocking lookups (getaddrinfo by default) on
// a thread pool, awaited no longer than the attempt allows, and a cache of answers.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "engine/http/client.hpp"

namespace hookd::engine::http_detail {

namespace net = boost::asio;
using time_point = std::chrono::steady_clock::time_point;

struct resolver_options {
  // How long an answer is reused. Default 60 s.
  std::chrono::milliseconds ttl{60'000};
  // The blocking lookup; empty means system_name_lookup.
  name_lookup lookup;
  // Where lookups run; empty means a pool of 4 threads shared by every resolver of the
  // process. Tests pass their own pool to join it.
  net::any_io_executor lookup_executor;
};

struct resolved {
  std::vector<net::ip::address> addresses;  // distinct, in the order of the answer
  error_kind error = error_kind::none;      // timeout or dns when there is no address
  std::string message;                      // why, naming the host
};

// One per client, used from the client's executor (the worker) only.
//
// getaddrinfo blocks, and Asio's resolver runs it on one thread per io_context, where
// one slow name server would hold up every other lookup of the worker and outlive the
// attempt's deadline. Lookups run on a small pool instead, and the attempt stops
// waiting at its deadline; a late answer is dropped.
//
// Lifetime rules, since pool threads outlive any one worker:
// - A pool thread never holds a strong reference to a pending lookup (whose timer
//   belongs to the worker's io_context); its answer reaches the worker through a weak
//   one, so the lookup is only ever released on the worker.
// - A pool thread posts the answer to the worker only while the resolver is open,
//   checked and posted under one mutex. close() (also run by the destructor) must come
//   before the worker's io_context is destroyed; http_client's destructor calls it,
//   and the client, like every Asio I/O object, is destroyed before its io_context.
//   After close() returns, no thread posts to the worker again.
class resolver {
 public:
  resolver(net::any_io_executor worker, resolver_options options);
  ~resolver();
  resolver(const resolver&) = delete;
  resolver& operator=(const resolver&) = delete;

  void clear_cache() { cache_.clear(); }
  // Stops handing answers to the worker; lookups still running are dropped when done.
  void close();

 private:
  friend net::awaitable<resolved> resolve(std::shared_ptr<resolver> self, std::string host,
                                          time_point deadline, std::chrono::milliseconds budget);

  struct reply_channel;
  struct cache_entry {
    std::vector<net::ip::address> addresses;
    time_point expires;
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  net::any_io_executor worker_;
  std::chrono::milliseconds ttl_;
  std::shared_ptr<const name_lookup> lookup_;
  net::any_io_executor lookup_executor_;
  std::shared_ptr<reply_channel> channel_;
  std::unordered_map<std::string, cache_entry, string_hash, std::equal_to<>> cache_;
};

// The addresses of `host`, from the cache or a lookup that may take until `deadline`
// (`budget` is that time, for the message).
net::awaitable<resolved> resolve(std::shared_ptr<resolver> self, std::string host,
                                 time_point deadline, std::chrono::milliseconds budget);

}  // namespace hookd::engine::http_detail
