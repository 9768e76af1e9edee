// The admin HTTP server on Boost.Beast: accept, read with limits and timeouts, hand
// each request to the router, write the answer, shut down gracefully.
#include "api/server.hpp"

#include <atomic>
#include <list>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "engine/log.hpp"
#include "engine/version.hpp"

namespace hookd::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto k_tuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t k_header_limit = std::size_t{16} * 1024;

// One connection. `idle` is true while it waits for the start of a request; only
// then may shutdown cancel it without cutting a request short. Touched only on the
// connection's strand.
struct connection {
  explicit connection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  bool idle = true;
  std::list<std::shared_ptr<connection>>::iterator position;  // in server::impl::connections
};

}  // namespace

struct server::impl {
  impl(server_options o, const router& r)
      : options(std::move(o)), routes(r), control(net::make_strand(ioc)), acceptor(control) {}

  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(std::shared_ptr<connection> c);
  // Coroutine parameters are by value (CP.53): the frame owns what it uses.
  net::awaitable<bool> write(std::shared_ptr<connection> c, http::response<http::string_body> res);
  net::awaitable<void> reply_error(std::shared_ptr<connection> c, unsigned status, std::string code,
                                   std::string message, unsigned version);
  void closed(const std::shared_ptr<connection>& c);

  server_options options;
  const router& routes;
  net::io_context ioc;
  // The server's own state (acceptor, connection list, grace timer) lives on this
  // strand; each connection runs on a strand of its own.
  net::strand<net::io_context::executor_type> control;
  tcp::acceptor acceptor;
  std::list<std::shared_ptr<connection>> connections;
  std::unique_ptr<net::steady_timer> grace_timer;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::uint16_t bound_port = 0;
};

server::server(server_options options, const router& router)
    : impl_(std::make_unique<impl>(std::move(options), router)) {}

server::~server() {
  try {
    stop();
    wait();
  } catch (const std::exception& e) {
    // Joining a thread failed: nothing is left to stop it, and a destructor may not throw.
    engine::log::error("stopping the admin server failed", {{"error", e.what()}});
  }
}

std::uint16_t server::port() const { return impl_->bound_port; }
std::string server::host() const { return impl_->options.host; }

explained<void> server::start() {
  auto& i = *impl_;
  const std::string where = i.options.host + ":" + std::to_string(i.options.port);
  boost::system::error_code ec;
  tcp::resolver resolver(i.ioc);
  auto endpoints = resolver.resolve(i.options.host, std::to_string(i.options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty())
    return "cannot resolve listen address " + where + ": " + ec.message();
  const tcp::endpoint endpoint = *endpoints.begin();
  i.acceptor.open(endpoint.protocol(), ec);
  if (!ec) i.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(endpoint, ec);
  if (!ec) i.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return "cannot listen on " + where + ": " + ec.message();
  i.bound_port = i.acceptor.local_endpoint().port();

  net::co_spawn(i.control, i.accept_loop(), [](const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);  // a bug: let it crash loudly
  });
  unsigned n = i.options.threads ? i.options.threads : std::thread::hardware_concurrency();
  if (n == 0) n = 1;
  for (unsigned t = 0; t < n; ++t) {
    i.threads.emplace_back([&i] { i.ioc.run(); });
  }
  return {};
}

void server::stop() {
  auto& i = *impl_;
  if (i.stopping.exchange(true)) return;
  net::post(i.control, [&i] {
    boost::system::error_code ignored;
    i.acceptor.close(ignored);
    if (i.connections.empty()) return;
    // Connections still busy after the grace period are cut; closed() cancels the
    // timer when the last one ends first.
    i.grace_timer = std::make_unique<net::steady_timer>(i.control, i.options.shutdown_grace);
    i.grace_timer->async_wait([&i](boost::system::error_code ec) {
      if (!ec) i.ioc.stop();
    });
    for (auto& c : i.connections) {
      net::post(c->stream.get_executor(), [c] {
        boost::system::error_code ignored;  // already closed is fine
        if (c->idle) c->stream.socket().cancel(ignored);
      });
    }
  });
}

void server::wait() {
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

net::awaitable<void> server::impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(net::make_strand(ioc), k_tuple);
    if (ec) {
      if (stopping || ec == net::error::operation_aborted) break;
      // Out of file descriptors and the like: pause instead of spinning.
      engine::log::warn("accept failed", {{"error", ec.message()}});
      net::steady_timer pause(control, std::chrono::milliseconds(100));
      co_await pause.async_wait(k_tuple);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // responses are written whole
    auto c = std::make_shared<connection>(std::move(socket));
    c->position = connections.insert(connections.end(), c);
    auto executor = c->stream.get_executor();
    net::co_spawn(executor, serve(std::move(c)), [this](const std::exception_ptr& e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        engine::log::error("connection failed", {{"error", ex.what()}});
      }
    });
  }
}

void server::impl::closed(const std::shared_ptr<connection>& c) {
  net::post(control, [this, c] {
    connections.erase(c->position);
    // The last connection is gone: nothing is left for the grace timer to cut, and
    // with it cancelled the io_context runs out of work and the threads return.
    if (stopping && connections.empty() && grace_timer) grace_timer->cancel();
  });
}

net::awaitable<bool> server::impl::write(std::shared_ptr<connection> c,
                                         http::response<http::string_body> res) {
  res.set(http::field::server, engine::k_user_agent);
  if (res.result() != http::status::no_content && res[http::field::content_type].empty()) {
    res.set(http::field::content_type, "application/json");
  }
  res.prepare_payload();
  c->stream.expires_after(options.io_timeout);
  auto [ec, n] = co_await http::async_write(c->stream, res, k_tuple);
  co_return !ec;
}

net::awaitable<void> server::impl::reply_error(std::shared_ptr<connection> c, unsigned status,
                                               std::string code, std::string message,
                                               unsigned version) {
  response r = router::error(status, code, message);
  http::response<http::string_body> res{static_cast<http::status>(status), version};
  res.body() = std::move(r.body);
  res.keep_alive(false);
  co_await write(std::move(c), std::move(res));
}

net::awaitable<void> server::impl::serve(std::shared_ptr<connection> c) {
  beast::flat_buffer buffer;

  for (;;) {
    // Idle: wait for the first byte of the next request (or use what is buffered).
    c->idle = true;
    if (stopping) break;
    if (buffer.size() == 0) {
      c->stream.expires_after(options.idle_timeout);
      auto [ec, n] = co_await c->stream.async_read_some(buffer.prepare(4096), k_tuple);
      if (ec) break;  // closed, timed out or cancelled by shutdown
      buffer.commit(n);
    }
    c->idle = false;

    http::request_parser<http::string_body> parser;
    parser.header_limit(k_header_limit);
    parser.body_limit(options.body_limit);
    c->stream.expires_after(options.header_timeout);
    auto [hec, hn] = co_await http::async_read_header(c->stream, buffer, parser, k_tuple);
    if (hec) {
      if (hec == http::error::body_limit) {
        // Beast checks Content-Length against the limit as soon as the header is read.
        co_await reply_error(
            c, 413, "payload_too_large",
            "request body exceeds " + std::to_string(options.body_limit) + " bytes", 11);
      } else if (hec == http::error::header_limit) {
        co_await reply_error(c, 431, "headers_too_large", "request headers exceed 16 KiB", 11);
      } else if (hec != beast::error::timeout && hec != net::error::eof &&
                 hec != net::error::operation_aborted && hec != net::error::connection_reset) {
        co_await reply_error(c, 400, "bad_request", "malformed HTTP request: " + hec.message(), 11);
      }
      break;
    }
    const auto& head = parser.get();
    const unsigned version = head.version();
    if (auto length = parser.content_length(); length && *length > options.body_limit) {
      co_await reply_error(c, 413, "payload_too_large",
                           "request body exceeds " + std::to_string(options.body_limit) + " bytes",
                           version);
      break;
    }
    if (beast::iequals(head[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, version};
      c->stream.expires_after(options.io_timeout);
      auto [cec, cn] = co_await http::async_write(c->stream, cont, k_tuple);
      if (cec) break;
    }
    c->stream.expires_after(options.io_timeout);
    auto [bec, bn] = co_await http::async_read(c->stream, buffer, parser, k_tuple);
    if (bec) {
      if (bec == http::error::body_limit) {
        co_await reply_error(
            c, 413, "payload_too_large",
            "request body exceeds " + std::to_string(options.body_limit) + " bytes", version);
      }
      break;
    }

    const auto& req = parser.get();
    response out;
    try {
      out = routes.handle({
          .method = req.method_string(),
          .target = req.target(),
          .content_type = req[http::field::content_type],
          .token = req["X-Token"],
          .body = req.body(),
          .idempotency_key = req["Idempotency-Key"],
      });
    } catch (const std::exception& e) {
      // A bug or memory exhaustion: answer 500 and keep serving.
      engine::log::error("request handler failed", {{"error", e.what()}});
      out = router::error(500, "internal", "internal error");
    }
    if (out.status >= 500) {
      // The route's pattern, not the target: ids are fine in a log line, but the
      // pattern groups lines by route. Never the token or the request body.
      engine::log::warn("request failed", {{"method", std::string(req.method_string())},
                                           {"route", std::string(out.route)},
                                           {"status", std::to_string(out.status)},
                                           {"error", out.error_message}});
    }
    http::response<http::string_body> res{static_cast<http::status>(out.status), version};
    res.body() = out.body;
    if (!out.allow.empty()) res.set(http::field::allow, out.allow);
    if (!out.retry_after.empty()) res.set(http::field::retry_after, out.retry_after);
    if (out.status != 204) res.set(http::field::content_type, out.content_type);
    const bool keep_alive = req.keep_alive() && !stopping;
    res.keep_alive(keep_alive);
    if (!co_await write(c, std::move(res)) || !keep_alive) break;
  }
  boost::system::error_code ignored;
  c->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  c->stream.close();
  closed(c);
}

}  // namespace hookd::api
