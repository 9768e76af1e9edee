// orders_service: a C++ backend that embeds hookd. Its own Beast server (Asio header-only,
// in the host's default mode, beside libhookd's private copy) takes POST /orders and
// publishes each body as a customer_created event; an observer prints what became of it.
//
//   orders_service DATA_DIR PORT RECEIVER_URL     (PORT 0: any; prints "listening on PORT")
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iostream>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "hookd/engine/async.hpp"
#include "hookd/engine/engine.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr const char* k_account = "shop";
constexpr auto k_read_timeout = std::chrono::seconds(30);
constexpr auto k_write_timeout = std::chrono::seconds(10);

// The observer speaks from an engine thread, main from its own: one line at a time.
void print_line(const std::string& line) {
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  std::cout << line << std::endl;
}

// Called on one engine thread, after the outcome is written; it must not block for long.
class printing_observer final : public hookd::engine::delivery_observer {
 public:
  void delivered(const hookd::engine::delivery_notice& n) override { print("delivered", n); }
  void attempt_failed(const hookd::engine::delivery_notice& n) override {
    print("attempt_failed", n);
  }
  void failed(const hookd::engine::delivery_notice& n) override { print("failed", n); }
  void webhook_disabled(const hookd::engine::webhook_disabled_notice& n) override {
    print_line("webhook_disabled " + std::to_string(n.webhook_id) + " " + n.reason);
  }

 private:
  static void print(const std::string& what, const hookd::engine::delivery_notice& n) {
    std::string line = what + " " + n.delivery_id + " attempt " + std::to_string(n.attempt);
    if (n.status_code) {
      line += " status " + std::to_string(*n.status_code);
    } else {
      line += " " + n.error_kind + ": " + n.error;  // no answer: timeout, connect, tls, ...
    }
    print_line(line);
  }
};

// The webhook to RECEIVER_URL from an earlier run, or a new one.
hookd::engine::outcome<std::uint64_t> find_or_create_webhook(hookd::engine::engine& engine,
                                                             const std::string& url) {
  std::uint64_t after = 0;
  for (;;) {
    auto page = engine.webhooks().list(k_account, after, hookd::engine::k_max_page_size);
    if (!page) return page.error();
    for (const auto& webhook : page->webhooks) {
      if (webhook.url == url && webhook.active) return webhook.id;
    }
    if (!page->next_after) break;
    after = *page->next_after;
  }
  // The URL is the operator's own argument; hookd validates it.
  auto created = engine.webhooks().create(k_account, R"({"webhook": {"name": "orders",
      "active": true, "settings": {"customer_created": true}, "http_method": "POST",
      "url": ")" + url + R"("}})");
  if (!created) return created.error();
  return created->id;
}

http::response<http::string_body> answer(const http::request<http::string_body>& request,
                                         http::status status, std::string body) {
  http::response<http::string_body> response(status, request.version());
  response.set(http::field::content_type, "text/plain");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body) + "\n";
  response.prepare_payload();
  return response;
}

// POST /orders: the body becomes an event; 202 once it is durable, with its id.
net::awaitable<http::response<http::string_body>> handle(hookd::engine::engine* engine,
                                                         http::request<http::string_body> request) {
  if (request.method() != http::verb::post || request.target() != "/orders") {
    co_return answer(request, http::status::not_found, "this service takes POST /orders only");
  }
  // A named request, not a braced temporary inside the co_await: GCC 12 miscompiles
  // that temporary and frees its strings twice.
  hookd::engine::publish_request event{.account = k_account,
                                       .type = "customer_created",
                                       .payload = std::move(request.body()),
                                       .event_id = std::nullopt};  // hookd makes one
  // The coroutine waits; the io_context's thread serves others while RocksDB writes.
  auto published =
      co_await hookd::engine::async_publish(*engine, std::move(event), net::use_awaitable);
  if (published) co_return answer(request, http::status::accepted, published->event_id);

  const auto& failure = published.error();
  if (failure.code == hookd::errc::invalid_argument ||
      failure.code == hookd::errc::malformed_input) {
    std::string body = failure.message;
    for (const auto& field : failure.details) body += "\n" + field.field + ": " + field.message;
    co_return answer(request, http::status::bad_request, body);
  }
  // storage_full, storage_busy, shutting_down, storage_io: the client may retry later.
  co_return answer(request, http::status::service_unavailable, failure.message);
}

// Everything here lives in main, outlives io_context::run() and is touched only on
// the io_context's one thread.
struct server {
  hookd::engine::engine* engine;
  tcp::acceptor acceptor;
  std::set<beast::tcp_stream*> sessions;  // open connections, so stop() reaches idle ones

  // A session's place in `sessions` while it runs.
  struct registration {
    server* srv;
    beast::tcp_stream* stream;
    registration(server* s, beast::tcp_stream* t) : srv(s), stream(t) { srv->sessions.insert(t); }
    ~registration() { srv->sessions.erase(stream); }
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;
  };

  // No new connections; each session finishes the request it is answering, then reads
  // the end of its input and closes.
  void stop() {
    acceptor.close();
    for (auto* stream : sessions) {
      boost::system::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_receive, ignored);
    }
  }
};

net::awaitable<void> session(server* srv, beast::tcp_stream stream) {
  const server::registration registered(srv, &stream);
  beast::flat_buffer buffer;
  while (srv->acceptor.is_open()) {
    http::request<http::string_body> request;
    stream.expires_after(k_read_timeout);
    auto [read_error, read] =
        co_await http::async_read(stream, buffer, request, net::as_tuple(net::use_awaitable));
    if (read_error) break;  // the client closed, timed out or sent nonsense
    auto response = co_await handle(srv->engine, std::move(request));
    stream.expires_after(k_write_timeout);
    auto [write_error, written] =
        co_await http::async_write(stream, response, net::as_tuple(net::use_awaitable));
    if (write_error || !response.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// A session that threw (a bug, or out of memory) ends alone; the server goes on.
void log_exception(const std::exception_ptr& e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::cerr << "session: " << ex.what() << "\n";
  }
}

net::awaitable<void> listen(server* srv) {
  for (;;) {
    auto [error, socket] = co_await srv->acceptor.async_accept(net::as_tuple(net::use_awaitable));
    if (!srv->acceptor.is_open()) co_return;
    if (error) {
      std::cerr << "accept: " << error.message() << "\n";
      continue;
    }
    net::co_spawn(srv->acceptor.get_executor(), session(srv, beast::tcp_stream(std::move(socket))),
                  log_exception);
  }
}

// NOLINTNEXTLINE(bugprone-exception-escape): a bug thrown out of io.run() ends the process.
int main(int argc, char** argv) {
  unsigned short port = 0;
  if (argc != 4 ||
      std::from_chars(argv[2], argv[2] + std::strlen(argv[2]), port).ec != std::errc{}) {
    std::cerr << "usage: orders_service DATA_DIR PORT RECEIVER_URL\n";
    return 2;
  }
  // Signals from now on stop the server once it runs, not the process at once.
  net::io_context io;  // one thread: the sessions share the server without locks
  net::signal_set signals(io, SIGINT, SIGTERM);

  // Declared before the engine: it must outlive it.
  printing_observer observer;
  hookd::engine::engine_options options;
  options.data_dir = argv[1];
  options.observer = &observer;
  options.http.allow_private_targets = true;  // the receiver of a trial runs on this machine
  auto opened = hookd::engine::engine::open(std::move(options));
  if (!opened) {
    std::cerr << "cannot open the engine: " << opened.error().message << "\n";
    return 1;
  }
  auto engine = std::move(*opened);
  engine->start();
  auto webhook = find_or_create_webhook(*engine, argv[3]);
  if (!webhook) {
    std::cerr << "cannot set up the webhook: " << webhook.error().message << "\n";
    return 1;
  }
  print_line("webhook " + std::to_string(*webhook) + " delivers to " + argv[3]);

  server srv{engine.get(), tcp::acceptor(io, {net::ip::address_v4::loopback(), port}), {}};
  print_line("listening on " + std::to_string(srv.acceptor.local_endpoint().port()));
  net::co_spawn(io, listen(&srv), [](const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);  // a bug: out of run(), and the process ends
  });
  signals.async_wait([&srv](boost::system::error_code, int) { srv.stop(); });
  io.run();  // returns once every session has ended

  // Deliveries still in flight get up to 10 s; the rest wait on disk for the next start.
  engine->stop(std::chrono::seconds(10));
  return 0;
}
