#include "tests/support/receiver.hpp"

#include <condition_variable>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace hookd::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto k_tuple = net::as_tuple(net::use_awaitable);
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

void crash_on_exception(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);  // a bug in the receiver: fail loudly
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

}  // namespace

struct receiver::impl {
  explicit impl(receiver_options o) : options(std::move(o)) {}

  net::awaitable<void> accept_loop();
  template <class Stream>
  net::awaitable<void> serve(std::unique_ptr<Stream> stream, std::uint64_t number);

  receiver_options options;
  // Declared before the io_context so it outlives every stream destroyed with it.
  std::optional<net::ssl::context> tls;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  std::uint16_t bound_port = 0;

  // Touched only on the receiver's thread.
  std::list<beast::tcp_stream*> live;  // open connections, closed on shutdown
  bool stopping = false;

  // Shared with the test thread.
  mutable std::mutex mutex;
  mutable std::condition_variable arrived;
  std::vector<received_request> received;
  std::uint64_t accepted = 0;
  responder respond;
};

receiver::receiver(receiver_options options) : impl_(std::make_unique<impl>(std::move(options))) {
  auto& i = *impl_;
  if (!i.options.cert_file.empty()) {
    i.tls.emplace(net::ssl::context::tls_server);
    i.tls->use_certificate_chain_file(i.options.cert_file);
    i.tls->use_private_key_file(i.options.key_file, net::ssl::context::pem);
  }
  const tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), 0);
  i.acceptor.open(endpoint.protocol());
  i.acceptor.set_option(net::socket_base::reuse_address(true));
  i.acceptor.bind(endpoint);
  i.acceptor.listen(net::socket_base::max_listen_connections);
  i.bound_port = i.acceptor.local_endpoint().port();
  net::co_spawn(i.ioc, i.accept_loop(), crash_on_exception);
  i.thread = std::thread([&i] { i.ioc.run(); });
}

receiver::~receiver() {
  auto& i = *impl_;
  // Closing the acceptor and every connection ends all coroutines; run() then
  // returns for want of work.
  net::post(i.ioc, [&i] {
    i.stopping = true;
    boost::system::error_code ignored;
    i.acceptor.close(ignored);
    for (auto* stream : i.live) stream->close();
  });
  i.thread.join();
}

std::uint16_t receiver::port() const noexcept { return impl_->bound_port; }

std::string receiver::url(std::string_view path) const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) +
         std::string(path);
}

void receiver::set_responder(responder r) {
  std::lock_guard lock(impl_->mutex);
  impl_->respond = std::move(r);
}

std::vector<received_request> receiver::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received;
}

std::size_t receiver::request_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received.size();
}

std::uint64_t receiver::connections_accepted() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

void receiver::wait_for_requests(std::size_t n, std::chrono::milliseconds limit) const {
  std::unique_lock lock(impl_->mutex);
  if (!impl_->arrived.wait_for(lock, limit, [&] { return impl_->received.size() >= n; })) {
    throw std::runtime_error("receiver: " + std::to_string(impl_->received.size()) + " of " +
                             std::to_string(n) + " requests arrived within " +
                             std::to_string(limit.count()) + " ms");
  }
}

net::awaitable<void> receiver::impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(k_tuple);
    if (ec) {
      if (stopping || ec == net::error::operation_aborted) break;
      continue;
    }
    std::uint64_t number = 0;
    {
      std::lock_guard lock(mutex);
      number = ++accepted;
    }
    if (tls) {
      net::co_spawn(ioc, serve(std::make_unique<tls_stream>(std::move(socket), *tls), number),
                    crash_on_exception);
    } else {
      net::co_spawn(ioc, serve(std::make_unique<beast::tcp_stream>(std::move(socket)), number),
                    crash_on_exception);
    }
  }
}

template <class Stream>
net::awaitable<void> receiver::impl::serve(std::unique_ptr<Stream> stream, std::uint64_t number) {
  auto& lowest = beast::get_lowest_layer(*stream);
  const auto position = live.insert(live.end(), &lowest);
  bool ok = true;
  if constexpr (std::is_same_v<Stream, tls_stream>) {
    lowest.expires_after(std::chrono::seconds(10));
    auto [ec] = co_await stream->async_handshake(net::ssl::stream_base::server, k_tuple);
    ok = !ec;  // e.g. the client refused the certificate
  }
  beast::flat_buffer buffer;
  while (ok && !stopping) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    lowest.expires_never();  // an idle keep-alive connection waits for the client
    auto [ec, n] = co_await http::async_read(*stream, buffer, parser, k_tuple);
    if (ec) break;
    const auto& req = parser.get();

    received_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    r.connection = number;
    for (const auto& field : req) {
      auto& value = r.headers[lower(field.name_string())];
      if (!value.empty()) value.append(", ");
      value.append(field.value());
    }
    responder respond_now;
    {
      std::lock_guard lock(mutex);
      respond_now = respond;
    }
    const reply rep = respond_now ? respond_now(r) : reply{};
    {
      std::lock_guard lock(mutex);
      received.push_back(std::move(r));
    }
    arrived.notify_all();

    if (rep.never_answer) {
      // Hold the connection until the client gives up or the receiver stops.
      char scratch[512];
      for (;;) {
        auto [rec, rn] = co_await stream->async_read_some(net::buffer(scratch), k_tuple);
        if (rec) break;
      }
      break;
    }
    bool keep_alive = req.keep_alive() && !rep.close_after_reply;
    lowest.expires_after(std::chrono::seconds(10));
    if (rep.raw) {
      auto [wec, wn] = co_await net::async_write(*stream, net::buffer(*rep.raw), k_tuple);
      if (wec) break;
    } else {
      http::response<http::string_body> res;
      res.version(req.version());
      res.result(rep.status);
      for (const auto& [name, value] : rep.headers) {
        if (beast::iequals(name, "connection")) {
          if (beast::iequals(value, "close")) keep_alive = false;
          continue;
        }
        res.set(name, value);
      }
      res.body() = rep.body;
      res.keep_alive(req.keep_alive() && (keep_alive || rep.close_after_reply));
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(*stream, res, k_tuple);
      if (wec) break;
    }
    if (!keep_alive) break;
  }
  boost::system::error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
  lowest.close();
  live.erase(position);
}

}  // namespace hookd::test
