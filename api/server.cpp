// The admin HTTP server on Boost.Beast: accept, read with limits and timeouts, hand
// each request to the router, write the answer with its access log line, close
// lingering when a body was left unread, shut down gracefully. What a request's head
// says (framing, request id) is api/request_head.cpp.
#include "api/server.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <list>
#include <optional>
#include <span>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "api/request_head.hpp"
#include "api/response_head.hpp"
#include "engine/log.hpp"
#include "hookd/version.hpp"

namespace hookd::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto k_tuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t k_header_limit = std::size_t{16} * 1024;
// A lingering close reads for at most this long, and at most this much.
constexpr auto k_linger = std::chrono::seconds(2);
constexpr std::size_t k_linger_bytes = std::size_t{8} * 1024 * 1024;

// The peer went away or the server is stopping: nothing to answer.
bool gone(const boost::system::error_code& ec) {
  return ec == beast::error::timeout || ec == net::error::eof ||
         ec == net::error::operation_aborted || ec == net::error::connection_reset ||
         ec == http::error::end_of_stream || ec == http::error::partial_message;
}

// One connection. `idle` is true while it waits for the start of a request; only
// then may shutdown cancel it without cutting a request short. Touched only on the
// connection's strand.
struct connection {
  explicit connection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  bool idle = true;
  // The request being answered, for its access log line and X-Request-Id.
  std::string request_id;
  std::string method = "-";
  std::string path = "-";
  std::chrono::steady_clock::time_point started;
  std::list<std::shared_ptr<connection>>::iterator position;  // in server::impl::connections
};

}  // namespace

struct server::impl {
  impl(server_options o, const router& r)
      : options(std::move(o)), routes(r), control(net::make_strand(ioc)), acceptor(control) {}

  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(std::shared_ptr<connection> c);
  // Coroutine parameters are by value (CP.53): the frame owns what it uses.
  net::awaitable<void> reply_error(std::shared_ptr<connection> c, unsigned status, std::string code,
                                   std::string message, unsigned version);
  net::awaitable<bool> reply(std::shared_ptr<connection> c, response out, unsigned version,
                             bool keep_alive);
  // After an answer that leaves part of the request unread: stop sending, then read
  // and discard for a short while, so a client still sending its body reads the
  // answer instead of a reset (nginx's lingering close).
  net::awaitable<void> linger(std::shared_ptr<connection> c);
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
    net::co_spawn(executor, serve(std::move(c)), [](const std::exception_ptr& e) {
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

net::awaitable<void> server::impl::reply_error(std::shared_ptr<connection> c, unsigned status,
                                               std::string code, std::string message,
                                               unsigned version) {
  co_await reply(std::move(c), router::error(status, code, message), version, false);
}

net::awaitable<bool> server::impl::reply(std::shared_ptr<connection> c, response out,
                                         unsigned version, bool keep_alive) {
  const unsigned status = out.status;
  const std::string route(out.route.empty() ? std::string_view("-") : out.route);
  const std::string head = response_head(out, version, keep_alive, c->request_id);
  c->stream.expires_after(options.io_timeout);
  // HEAD gets the headers a GET would get, never a body (RFC 9110 9.3.2): on a
  // keep-alive connection a client would read body bytes as the next response.
  const bool with_body = carries_body(out.status) && c->method != "HEAD" && !out.body.empty();
  const std::array<net::const_buffer, 2> bytes{net::buffer(head), net::buffer(out.body)};
  auto [ec, n] = co_await net::async_write(
      c->stream, std::span<const net::const_buffer>(bytes.data(), with_body ? 2 : 1), k_tuple);
  const bool written = !ec;
  // The access log: one line per answer, whatever answered it.
  if (engine::log::enabled(engine::log::level::info)) {
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - c->started);
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.3f", static_cast<double>(took.count()) / 1000.0);
    engine::log::info("request", {{"request_id", c->request_id},
                                  {"method", c->method},
                                  {"path", c->path},
                                  {"route", route},
                                  {"status", std::to_string(status)},
                                  {"duration_ms", ms},
                                  {"written", written ? "true" : "false"}});
  }
  co_return written;
}

net::awaitable<void> server::impl::linger(std::shared_ptr<connection> c) {
  boost::system::error_code ignored;
  c->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  c->stream.expires_after(k_linger);
  std::array<char, std::size_t{16} * 1024> discard{};
  for (std::size_t total = 0; total < k_linger_bytes;) {
    auto [ec, n] = co_await c->stream.async_read_some(net::buffer(discard), k_tuple);
    if (ec) break;  // the client closed, the time is up, or shutdown cancelled it
    total += n;
  }
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
    c->started = std::chrono::steady_clock::now();
    c->request_id = new_request_id();
    c->method = "-";
    c->path = "-";

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
        co_await linger(c);
      } else if (hec == http::error::header_limit) {
        co_await reply_error(c, 431, "headers_too_large", "request headers exceed 16 KiB", 11);
        co_await linger(c);
      } else if (!gone(hec)) {
        co_await reply_error(c, 400, "bad_request", "malformed HTTP request: " + hec.message(), 11);
        co_await linger(c);
      }
      break;
    }
    const auto& head = parser.get();
    const unsigned version = head.version();
    if (const auto given = head["X-Request-Id"]; usable_request_id(given)) {
      c->request_id = std::string(given);
    }
    c->method = std::string(head.method_string());
    // The path without its query, at most 256 bytes; the log escapes what it holds.
    const std::string_view target = head.target();
    c->path = std::string(target.substr(0, std::min<std::size_t>(target.find('?'), 256)));
    if (auto problem = framing_problem(head, parser.chunked())) {
      // The body's length is unknown, so what follows cannot be read as another
      // request: answer, and close (RFC 9112 6.3).
      co_await reply_error(c, 400, "bad_request", *problem, version);
      co_await linger(c);
      break;
    }
    request in = request_of(head, {});
    // Decided on the headers alone, so an unauthenticated client never gets its body
    // read. Without a body the connection stays usable; with one, it is not read and
    // the connection closes after a lingering read, so the client sees the answer.
    head_verdict verdict = routes.check_head(in);
    const bool has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
    if (verdict.refusal && has_body) {
      co_await reply(c, std::move(*verdict.refusal), version, false);
      co_await linger(c);
      break;
    }
    if (!verdict.refusal) {
      if (auto length = parser.content_length(); length && *length > options.body_limit) {
        co_await reply_error(
            c, 413, "payload_too_large",
            "request body exceeds " + std::to_string(options.body_limit) + " bytes", version);
        co_await linger(c);
        break;
      }
      if (beast::iequals(head[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, version};
        c->stream.expires_after(options.io_timeout);
        auto [cec, cn] = co_await http::async_write(c->stream, cont, k_tuple);
        if (cec) break;
      }
    }
    c->stream.expires_after(options.io_timeout);
    auto [bec, bn] = co_await http::async_read(c->stream, buffer, parser, k_tuple);
    if (bec) {
      if (bec == http::error::body_limit) {
        co_await reply_error(
            c, 413, "payload_too_large",
            "request body exceeds " + std::to_string(options.body_limit) + " bytes", version);
        co_await linger(c);
      } else if (!gone(bec)) {
        // A bad chunk size or chunk framing: the rest cannot be read as requests.
        co_await reply_error(c, 400, "bad_request", "malformed HTTP body: " + bec.message(),
                             version);
        co_await linger(c);
      }
      break;
    }

    // Trailers of a chunked body may have added fields: take the views anew.
    const auto& req = parser.get();
    in = request_of(req, req.body());
    response out;
    if (verdict.refusal) {
      out = std::move(*verdict.refusal);
    } else {
      try {
        out = routes.handle(in, verdict);
      } catch (const std::exception& e) {
        // A bug or memory exhaustion: answer 500 and keep serving.
        engine::log::error("request handler failed", {{"error", e.what()}});
        out = router::error(500, "internal", "internal error");
      }
    }
    if (out.status >= 500) {
      // The route's pattern, not the target: ids are fine in a log line, but the
      // pattern groups lines by route. Never the token or the request body.
      engine::log::warn("request failed", {{"request_id", c->request_id},
                                           {"method", std::string(req.method_string())},
                                           {"route", std::string(out.route)},
                                           {"status", std::to_string(out.status)},
                                           {"error", out.error_message}});
    }
    const bool keep_alive = req.keep_alive() && !stopping;
    if (!co_await reply(c, std::move(out), version, keep_alive) || !keep_alive) break;
  }
  boost::system::error_code ignored;
  c->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  c->stream.close();
  closed(c);
}

}  // namespace hookd::api
