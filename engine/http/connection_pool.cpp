// Pool bookkeeping: slots, idle connections and waiters per origin, the hand-over on
// release, the idle sweeper, and close_all's retirement of every connection.

#include "engine/http/connection_pool.hpp"

#include <algorithm>
#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/log.hpp"

namespace hookd::engine::http_detail {
namespace {

constexpr auto k_tuple = net::as_tuple(net::use_awaitable);
// Pools of origins with no connection left are dropped once there are this many.
constexpr std::size_t k_pool_sweep_threshold = 1024;
// A connection keeps its request buffer between requests unless it grew past this.
constexpr std::size_t k_max_kept_buffer = std::size_t{256} * 1024;

std::optional<net::ip::address> literal_of(const webhook_url& url) {
  switch (url.host_kind) {
    case url_host_kind::ipv4:
      return net::ip::address_v4(
          {url.address[12], url.address[13], url.address[14], url.address[15]});
    case url_host_kind::ipv6:
      return net::ip::address_v6(url.address);
    case url_host_kind::name:
      break;
  }
  return std::nullopt;
}

}  // namespace

destination::destination(const webhook_url& url)
    : https(url.https),
      host(url.host),
      port(url.port),
      literal(literal_of(url)),
      host_header(url.host_header),
      name(url.origin) {}

connection::connection(const net::any_io_executor& executor, net::ssl::context* tls_context) {
  if (tls_context) {
    tls.emplace(executor, *tls_context);
  } else {
    plain.emplace(executor);
  }
}

waiter::waiter(connection_pools& pools, pool& p)
    : owner(pools), where(p), timer(pools.executor()) {}

waiter::~waiter() {
  try {
    if (queued) {
      auto& w = where.waiters;
      w.erase(std::find(w.begin(), w.end(), this));
    } else if (granted) {
      // The request went away (its coroutine was destroyed) before using its turn.
      const bool reusable = conn != nullptr;
      owner.release(where, std::move(conn), reusable);
    }
  } catch (const std::exception& e) {
    // Only memory exhaustion gets here (starting the idle sweeper); the slot is lost.
    log::error("releasing a pool slot failed", {{"error", e.what()}});
  }
}

connection_pools::connection_pools(net::any_io_executor executor, std::size_t per_origin,
                                   std::chrono::milliseconds idle_timeout)
    : executor_(std::move(executor)),
      per_origin_(per_origin),
      idle_timeout_(idle_timeout),
      sweep_timer_(executor_) {}

net::awaitable<void> sweep_idle(std::shared_ptr<connection_pools> self) {
  for (;;) {
    const auto now = clock_type::now();
    std::optional<time_point> next;
    for (auto& [key, p] : self->pools_) {
      while (!p->idle.empty() && p->idle.front()->idle_since + self->idle_timeout_ <= now) {
        p->idle.pop_front();
        --p->open;
      }
      if (!p->idle.empty()) {
        const auto due = p->idle.front()->idle_since + self->idle_timeout_;
        if (!next || due < *next) next = due;
      }
    }
    if (!next) break;
    self->sweep_timer_.expires_at(*next);
    co_await self->sweep_timer_.async_wait(k_tuple);  // cancelled by close_all(): look again
  }
  self->sweeping_ = false;
}

pool& connection_pools::pool_for(const webhook_url& url) {
  if (auto it = pools_.find(std::string_view(url.origin)); it != pools_.end()) return *it->second;
  if (pools_.size() >= k_pool_sweep_threshold) {
    std::erase_if(
        pools_, [](const auto& kv) { return kv.second->open == 0 && kv.second->waiters.empty(); });
  }
  auto p = std::make_unique<pool>(destination(url));
  auto& ref = *p;
  pools_.emplace(url.origin, std::move(p));
  return ref;
}

bool connection_pools::try_acquire(pool& p, std::unique_ptr<connection>& conn) {
  if (!p.waiters.empty()) return false;
  if (!p.idle.empty() && p.idle.back()->idle_since + idle_timeout_ <= clock_type::now()) {
    // The newest idle connection is expired, so all are; the sweeper was late.
    p.open -= p.idle.size();
    p.idle.clear();
  }
  if (!p.idle.empty()) {
    conn = std::move(p.idle.back());
    p.idle.pop_back();
    return true;
  }
  if (p.open < per_origin_) {
    ++p.open;
    return true;
  }
  return false;
}

void connection_pools::release(pool& p, std::unique_ptr<connection> conn, bool reusable) {
  if (conn && reusable && !closed_ && conn->generation == generation_) {
    if (conn->out.capacity() > k_max_kept_buffer) std::string().swap(conn->out);
    if (!p.waiters.empty()) {
      waiter* w = p.waiters.front();
      p.waiters.pop_front();
      w->queued = false;
      w->granted = true;
      w->conn = std::move(conn);
      w->timer.cancel();
      return;
    }
    conn->idle_since = clock_type::now();
    p.idle.push_back(std::move(conn));
    if (!sweeping_) {
      sweeping_ = true;
      net::co_spawn(executor_, sweep_idle(shared_from_this()), [](const std::exception_ptr& e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("http client idle sweeper failed", {{"error", ex.what()}});
        }
      });
    }
    return;
  }
  conn.reset();  // closes the socket
  if (!p.waiters.empty()) {
    // The slot passes to the first waiter, which opens a connection in it.
    waiter* w = p.waiters.front();
    p.waiters.pop_front();
    w->queued = false;
    w->granted = true;
    w->timer.cancel();
    return;
  }
  --p.open;
}

void connection_pools::close_all() {
  ++generation_;
  // Requests under way end now with an error; their connections are not reused.
  for (connection* c : busy_) c->lowest().close();
  for (auto it = pools_.begin(); it != pools_.end();) {
    auto& p = *it->second;
    p.open -= p.idle.size();
    p.idle.clear();
    if (p.open == 0 && p.waiters.empty()) {
      it = pools_.erase(it);
    } else {
      ++it;
    }
  }
  sweep_timer_.cancel();
}

void connection_pools::close() {
  closed_ = true;
  close_all();
}

net::awaitable<acquired> acquire(std::shared_ptr<connection_pools> pools, pool* p,
                                 time_point deadline) {
  acquired out;
  if (pools->try_acquire(*p, out.conn)) {
    out.granted = true;
    co_return out;
  }
  waiter w(*pools, *p);
  w.timer.expires_at(deadline);
  p->waiters.push_back(&w);
  w.queued = true;
  co_await w.timer.async_wait(k_tuple);
  // A turn that came too late is handed on by the waiter's destructor.
  if (!w.granted || clock_type::now() >= deadline) {
    out.in_use = p->open;
    co_return out;
  }
  w.granted = false;
  out.granted = true;
  out.conn = std::move(w.conn);
  co_return out;
}

}  // namespace hookd::engine::http_detail
