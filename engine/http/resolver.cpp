// The lookups (getaddrinfo by default) on their thread pool, the answer handed back
// to the worker while the resolver is open, and the cache.

#include "engine/http/resolver.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>

#include <netdb.h>
#include <netinet/in.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hookd::engine {

name_lookup_answer system_name_lookup(const std::string& host) {
  namespace net = boost::asio;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  name_lookup_answer answer;
  if (rc != 0) answer.error = gai_strerror(rc);
  for (addrinfo* a = found; rc == 0 && a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      net::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &in->sin_addr, b.size());
      answer.addresses.push_back(net::ip::address_v4(b).to_string());
    } else if (a->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      net::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &in6->sin6_addr, b.size());
      answer.addresses.push_back(net::ip::address_v6(b, in6->sin6_scope_id).to_string());
    }
  }
  if (found) ::freeaddrinfo(found);
  return answer;
}

namespace http_detail {
namespace {

constexpr auto k_tuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t k_cache_sweep_threshold = 4096;

// Threads for blocking lookups, shared by every client of the process.
net::thread_pool& shared_lookup_pool() {
  static net::thread_pool pool(4);
  return pool;
}

// A lookup the worker waits for. Owned by the waiting coroutine only (see resolver).
struct pending_lookup {
  explicit pending_lookup(const net::any_io_executor& worker) : timer(worker) {}
  net::steady_timer timer;  // the deadline; cancelled when the answer arrives
  name_lookup_answer answer;
  bool done = false;
};

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

// The worker as pool threads may reach it: set while the resolver is open.
struct resolver::reply_channel {
  std::mutex mutex;
  net::any_io_executor worker;
};

resolver::resolver(net::any_io_executor worker, resolver_options options)
    : worker_(std::move(worker)),
      ttl_(options.ttl),
      lookup_(std::make_shared<const name_lookup>(
          options.lookup ? std::move(options.lookup) : name_lookup(system_name_lookup))),
      lookup_executor_(options.lookup_executor ? std::move(options.lookup_executor)
                                               : shared_lookup_pool().get_executor()),
      channel_(std::make_shared<reply_channel>()) {
  channel_->worker = worker_;
}

resolver::~resolver() { close(); }

void resolver::close() {
  std::lock_guard lock(channel_->mutex);
  channel_->worker = {};
}

net::awaitable<resolved> resolve(std::shared_ptr<resolver> self, std::string host,
                                 time_point deadline, std::chrono::milliseconds budget) {
  resolved out;
  const auto now = std::chrono::steady_clock::now();
  if (auto it = self->cache_.find(host); it != self->cache_.end() && it->second.expires > now) {
    out.addresses = it->second.addresses;
    co_return out;
  }
  auto pending = std::make_shared<pending_lookup>(self->worker_);
  pending->timer.expires_at(deadline);
  net::post(self->lookup_executor_, [channel = self->channel_, lookup = self->lookup_,
                                     waiting = std::weak_ptr<pending_lookup>(pending), host] {
    name_lookup_answer answer;
    try {
      answer = (*lookup)(host);
    } catch (const std::exception& e) {
      answer = {{}, std::string("the lookup threw: ") + e.what()};
    }
    std::lock_guard lock(channel->mutex);
    if (!channel->worker) return;  // closed: the worker's io_context may be gone
    net::post(channel->worker, [waiting, answer = std::move(answer)]() mutable {
      const auto lookup = waiting.lock();
      if (!lookup) return;  // the attempt stopped waiting
      lookup->answer = std::move(answer);
      lookup->done = true;
      lookup->timer.cancel();
    });
  });
  // Runs on the worker's only thread, so the answer cannot arrive before this wait.
  co_await pending->timer.async_wait(k_tuple);
  if (!pending->done) {
    out.error = error_kind::timeout;
    out.message = "DNS lookup of " + host + " timed out after " + millis(budget);
    co_return out;
  }
  const name_lookup_answer& answer = pending->answer;
  if (!answer.error.empty() || answer.addresses.empty()) {
    out.error = error_kind::dns;
    out.message = "DNS lookup of " + host + " failed: " +
                  (!answer.error.empty() ? answer.error : std::string("no addresses"));
    co_return out;
  }
  for (const auto& text : answer.addresses) {
    boost::system::error_code ec;
    const auto a = net::ip::make_address(text, ec);
    if (ec) {
      out.error = error_kind::dns;
      out.message = "DNS lookup of " + host + " returned a malformed address \"";
      out.message.append(text).append("\"");
      out.addresses.clear();
      co_return out;
    }
    if (std::find(out.addresses.begin(), out.addresses.end(), a) == out.addresses.end()) {
      out.addresses.push_back(a);
    }
  }
  if (self->cache_.size() >= k_cache_sweep_threshold) {
    const auto at = std::chrono::steady_clock::now();
    std::erase_if(self->cache_, [at](const auto& kv) { return kv.second.expires <= at; });
  }
  self->cache_.insert_or_assign(
      std::move(host),
      resolver::cache_entry{out.addresses, std::chrono::steady_clock::now() + self->ttl_});
  co_return out;
}

}  // namespace http_detail
}  // namespace hookd::engine
