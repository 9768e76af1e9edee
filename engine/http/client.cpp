// http_client::send: the request checked and serialized whole, a pool slot taken, a
// connection opened or reused, the exchange, a stale keep-alive retried once.

#include "engine/http/client.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "engine/http/body_excerpt.hpp"
#include "engine/http/connection_pool.hpp"
#include "engine/http/connector.hpp"
#include "engine/log.hpp"
#include "engine/registry/webhook_url.hpp"

namespace hookd::engine {
namespace {

using namespace http_detail;
namespace http = beast::http;
using error_code = boost::system::error_code;
using response_parser = http::response_parser<excerpt_body>;

constexpr auto k_tuple = net::as_tuple(net::use_awaitable);
constexpr std::uint32_t k_header_limit = 32 * 1024;
// Interim 1xx responses skipped before the final one; more is a broken server.
constexpr int k_max_informational = 8;

// Everything the client owns. Shared with its coroutines, so a request in flight
// keeps it alive even if the http_client object goes first.
struct client_state {
  client_state(net::any_io_executor executor, http_client_options o)
      : options(std::move(o)),
        pools(std::make_shared<connection_pools>(executor, options.connections_per_origin,
                                                 options.idle_timeout)),
        connect(std::make_shared<connector>(std::move(executor), options)) {}

  http_client_options options;
  std::shared_ptr<connection_pools> pools;
  std::shared_ptr<connector> connect;
  // Read by other threads (metrics), written by the worker.
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> stale_retries{0};
};

using http_detail::failed;
using http_detail::millis;

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == 0; });
}

// Headers the client writes itself; the same names among the extra headers are
// ignored rather than sent twice.
bool is_client_header(std::string_view name) {
  for (std::string_view own :
       {"host", "user-agent", "content-length", "connection", "transfer-encoding"}) {
    if (beast::iequals(name, own)) return true;
  }
  return false;
}

std::optional<std::string> request_problem(const http_request& r) {
  if (!is_token(r.method)) return "invalid HTTP method \"" + std::string(r.method) + "\"";
  // The target is sent as written (receivers expect Rack-style literal brackets such
  // as `tags[]=a`); only bytes that would break the request line are refused.
  if (!std::all_of(r.target.begin(), r.target.end(),
                   [](unsigned char c) { return c > 0x20 && c != 0x7f; })) {
    return "invalid request target: it contains a space or a control character";
  }
  for (const auto& [name, value] : r.headers) {
    if (!is_token(name) || !is_field_value(value)) {
      return "invalid request header \"" + std::string(name) + "\"";
    }
  }
  return std::nullopt;
}

// The whole request in one buffer, written with one write (the hot path).
void serialize(std::string& out, const http_request& r, const destination& d,
               std::string_view user_agent) {
  const std::string_view target = r.target;
  std::size_t size = r.method.size() + target.size() + d.host_header.size() + user_agent.size() +
                     r.body.size() + 128;
  bool has_content_type = false;
  for (const auto& [name, value] : r.headers) {
    size += name.size() + value.size() + 4;
    has_content_type = has_content_type || beast::iequals(name, "content-type");
  }
  out.clear();
  out.reserve(size);
  out.append(r.method).push_back(' ');
  if (target.empty() || target.front() != '/') out.push_back('/');
  out.append(target).append(" HTTP/1.1\r\nHost: ").append(d.host_header);
  out.append("\r\nUser-Agent: ").append(user_agent).append("\r\n");
  const bool body_method = r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
  if (!r.body.empty() && !has_content_type) out.append("Content-Type: application/json\r\n");
  if (!r.body.empty() || body_method) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, r.body.size());
    out.append("Content-Length: ").append(digits, end).append("\r\n");
  }
  for (const auto& [name, value] : r.headers) {
    if (is_client_header(name)) continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("\r\n").append(r.body);
}

// Stream-agnostic operations: not coroutines, they pick the stream and return the
// operation for the caller to await (the connection outlives it).
net::awaitable<std::tuple<error_code, std::size_t>> write_request(connection& c) {
  if (c.tls) return net::async_write(*c.tls, net::buffer(c.out), k_tuple);
  return net::async_write(*c.plain, net::buffer(c.out), k_tuple);
}

net::awaitable<std::tuple<error_code, std::size_t>> read_response(connection& c,
                                                                  response_parser& p) {
  if (c.tls) return http::async_read(*c.tls, c.buffer, p, k_tuple);
  return http::async_read(*c.plain, c.buffer, p, k_tuple);
}

// The peer closed or reset the connection.
bool is_closed(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::connection_aborted || ec == net::error::broken_pipe ||
         ec == net::ssl::error::stream_truncated;
}

bool is_ssl_error(const error_code& ec) {
  return ec.category() == net::error::get_ssl_category() ||
         ec.category() == net::ssl::error::get_stream_category();
}

http_outcome transport_failure(const error_code& ec, bool response_started,
                               std::chrono::milliseconds attempt_timeout) {
  if (ec == beast::error::timeout) {
    return failed(error_kind::timeout,
                  (response_started ? "response incomplete after " : "no response within ") +
                      millis(attempt_timeout));
  }
  if (is_closed(ec)) {
    return failed(error_kind::connect,
                  std::string(response_started ? "connection closed mid-response: "
                                               : "connection closed before a response: ") +
                      ec.message());
  }
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
    return failed(error_kind::protocol, "malformed HTTP response: " + ec.message());
  }
  if (is_ssl_error(ec)) return failed(error_kind::tls, "TLS error: " + ec.message());
  return failed(error_kind::connect, "connection failed: " + ec.message());
}

struct exchanged {
  std::unique_ptr<connection> conn;
  http_outcome outcome;
  bool reusable = false;
  // Failed before any response byte on a reused connection: the server closed it
  // while it sat in the pool and never saw a complete request, so a retry is safe.
  bool stale = false;
};

// Writes the serialized request in conn->out and reads the response.
net::awaitable<exchanged> exchange(std::unique_ptr<connection> c, time_point deadline, bool reused,
                                   bool head, std::size_t max_body,
                                   std::chrono::milliseconds attempt_timeout) {
  exchanged r;
  c->buffer.clear();
  c->lowest().expires_at(deadline);
  auto [wec, wn] = co_await write_request(*c);
  if (wec) {
    r.stale = reused && wec != beast::error::timeout;
    r.outcome =
        wec == beast::error::timeout
            ? failed(error_kind::timeout, "request not sent within " + millis(attempt_timeout))
            : transport_failure(wec, false, attempt_timeout);
    r.conn = std::move(c);
    co_return r;
  }

  std::optional<response_parser> parser;
  bool truncated = false;
  for (int interim = 0;; ++interim) {
    parser.emplace();
    parser->header_limit(k_header_limit);
    parser->body_limit(boost::none);  // excerpt_body enforces max_body itself
    parser->get().body().limit = max_body;
    if (head) parser->skip(true);
    c->lowest().expires_at(deadline);
    auto [ec, n] = co_await read_response(*c, *parser);
    if (ec == http::error::body_limit) {
      truncated = true;
    } else if (ec) {
      const bool started = parser->got_some() || interim > 0;
      r.stale = reused && !started && is_closed(ec);
      r.outcome = transport_failure(ec, started, attempt_timeout);
      r.conn = std::move(c);
      co_return r;
    }
    const unsigned status = parser->get().result_int();
    if (truncated || status < 100 || status >= 200 || status == 101 ||
        interim == k_max_informational) {
      break;
    }
  }

  auto& res = parser->get();
  r.outcome.status = res.result_int();
  r.outcome.body_excerpt = std::move(res.body().excerpt);
  if (auto it = res.find(http::field::retry_after); it != res.end()) {
    r.outcome.retry_after = std::string(it->value());
  }
  if (r.outcome.status < 200 || r.outcome.status >= 300) {
    r.outcome.error = error_kind::http_status;
    r.outcome.message = "HTTP " + std::to_string(r.outcome.status);
  }
  r.reusable = !truncated && parser->is_done() && res.keep_alive() && c->buffer.size() == 0 &&
               r.outcome.status != 101;
  r.conn = std::move(c);
  co_return r;
}

net::awaitable<http_outcome> attempt(std::shared_ptr<client_state> s, http_request request,
                                     time_point deadline) {
  const webhook_url& url = *request.url;
  if (!url.undeliverable.empty()) co_return failed(error_kind::protocol, url.undeliverable);
  if (auto problem = request_problem(request)) co_return failed(error_kind::protocol, *problem);

  pool& p = s->pools->pool_for(url);
  auto turn = co_await acquire(s->pools, &p, deadline);
  if (!turn.granted) {
    co_return failed(error_kind::timeout, "no free connection to " + p.where.name + " within " +
                                              millis(s->options.attempt_timeout) + " (" +
                                              std::to_string(turn.in_use) + " in use)");
  }
  lease held(*s->pools, p, std::move(turn.conn));

  const bool head = request.method == "HEAD";
  bool reused = held.conn != nullptr;
  const std::uint64_t generation_at_start = s->pools->generation();
  for (int tries = 0;; ++tries) {
    if (!held.conn) {
      const std::uint64_t generation = s->pools->generation();
      auto fresh = co_await open_connection(s->connect, p.where, deadline);
      if (!fresh.conn) co_return std::move(fresh.failure);
      held.conn = std::move(fresh.conn);
      held.conn->generation = generation;  // a close_all() meanwhile retires it
    }
    serialize(held.conn->out, request, p.where, s->options.user_agent);
    connection* in_use = held.conn.get();
    s->pools->begin_request(in_use);
    auto done = co_await exchange(std::move(held.conn), deadline, reused, head,
                                  s->options.max_response_body, s->options.attempt_timeout);
    s->pools->end_request(in_use);
    // Not after close_all(): a request cut on purpose is not sent again.
    if (done.stale && tries == 0 && !s->pools->closed() &&
        s->pools->generation() == generation_at_start) {
      // The dropped connection's slot carries over to its replacement.
      s->stale_retries.fetch_add(1, std::memory_order_relaxed);
      log::write(log::level::debug, "stale keep-alive connection replaced",
                 {{"origin", p.where.name}, {"error", done.outcome.message}});
      reused = false;
      continue;
    }
    if (done.outcome.error != error_kind::none && done.outcome.error != error_kind::http_status) {
      done.outcome.message =
          std::string(request.method) + " " + p.where.name + ": " + done.outcome.message;
    }
    done.outcome.reused_connection = reused;
    held.conn = std::move(done.conn);
    held.finish(done.reusable);
    co_return std::move(done.outcome);
  }
}

net::awaitable<http_outcome> run(std::shared_ptr<client_state> s, http_request request) {
  const auto start = clock_type::now();
  s->requests.fetch_add(1, std::memory_order_relaxed);
  http_outcome out = co_await attempt(s, request, start + s->options.attempt_timeout);
  out.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
  co_return out;
}

}  // namespace

struct http_client::impl {
  std::shared_ptr<client_state> s;
};

http_client::http_client(boost::asio::any_io_executor executor, http_client_options options)
    : impl_(std::make_unique<impl>()) {
  if (options.connections_per_origin == 0) {
    throw std::invalid_argument("http_client_options.connections_per_origin must be at least 1");
  }
  impl_->s = std::make_shared<client_state>(std::move(executor), std::move(options));
}

http_client::~http_client() {
  impl_->s->pools->close();
  impl_->s->connect->dns->close();
}

boost::asio::awaitable<http_outcome> http_client::send(http_request request) {
  // A bug in the caller, not a failure of the attempt: loud, at the call.
  if (!request.url) throw std::invalid_argument("http_request.url must not be null");
  return run(impl_->s, request);
}

void http_client::close_all() {
  impl_->s->pools->close_all();
  impl_->s->connect->dns->clear_cache();
}

http_client_stats http_client::stats() const noexcept {
  const auto& s = *impl_->s;
  return {s.connect->connections_opened.load(std::memory_order_relaxed),
          s.requests.load(std::memory_order_relaxed),
          s.stale_retries.load(std::memory_order_relaxed)};
}

}  // namespace hookd::engine
