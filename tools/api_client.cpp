#include "tools/api_client.hpp"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace hookd::cli {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

explained<server_url> parse_server_url(const std::string& text) {
  constexpr std::string_view scheme = "http://";
  if (text.starts_with("https://")) {
    return explained_error("server URL \"" + text +
                           "\": https is not supported by this client; use http://");
  }
  if (!text.starts_with(scheme)) {
    return explained_error("server URL \"" + text + "\" does not start with http://");
  }
  server_url out;
  out.text = text;
  std::string rest = text.substr(scheme.size());
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    out.prefix = rest.substr(slash);
    while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  }
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string::npos) {
      return explained_error("server URL \"" + text + "\": unclosed [ in the host");
    }
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return explained_error("server URL \"" + text + "\": expected :PORT after ]");
      }
      out.port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  } else {
    out.host = authority;
  }
  const bool port_ok = !out.port.empty() && out.port.size() <= 5 &&
                       out.port.find_first_not_of("0123456789") == std::string::npos &&
                       std::stoul(out.port) >= 1 && std::stoul(out.port) <= 65535;
  if (out.host.empty() || !port_ok) {
    return explained_error("server URL \"" + text + "\" is not http://HOST[:PORT]");
  }
  return out;
}

struct api_client::impl {
  server_url server;
  std::string token;
  std::chrono::milliseconds timeout;
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  std::string fail(const char* step, const beast::error_code& ec) const {
    return "cannot reach " + server.text + ": " + step + ": " + ec.message();
  }

  // Opens the connection; empty on success, else the message.
  std::string connect() {
    stream.emplace(ioc);
    buffer.clear();
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    // Resolve has no deadline of its own in Asio's blocking API; the system resolver's
    // timeout applies.
    auto endpoints = resolver.resolve(server.host, server.port, ec);
    if (ec) return fail("resolve", ec);
    stream->expires_after(timeout);
    stream->connect(endpoints, ec);
    if (ec) {
      stream.reset();
      return fail("connect", ec);
    }
    return {};
  }
};

api_client::api_client(server_url server, std::string token, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  impl_->server = std::move(server);
  impl_->token = std::move(token);
  impl_->timeout = timeout;
}

api_client::~api_client() = default;

explained<api_response> api_client::request(const std::string& method, const std::string& target,
                                            const std::string& body, const header_list& headers) {
  auto& i = *impl_;
  if (!i.stream) {
    if (auto message = i.connect(); !message.empty()) return explained_error(std::move(message));
  }
  http::request<http::string_body> req{http::string_to_verb(method), i.server.prefix + target, 11};
  const bool v6 = i.server.host.find(':') != std::string::npos;
  req.set(http::field::host,
          (v6 ? "[" + i.server.host + "]" : i.server.host) + ":" + i.server.port);
  req.set(http::field::user_agent, "hookd-cli");
  if (!i.token.empty()) req.set("X-Token", i.token);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();

  beast::error_code ec;
  i.stream->expires_after(i.timeout);
  http::write(*i.stream, req, ec);
  if (ec) {
    i.stream.reset();
    return explained_error(i.fail("send", ec));
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{64} << 20);  // 64 MiB: far above any answer of the API
  i.stream->expires_after(i.timeout);
  http::read(*i.stream, i.buffer, parser, ec);
  if (ec) {
    i.stream.reset();
    return explained_error(
        i.fail(ec == beast::error::timeout ? "no answer in time" : "read the answer", ec));
  }
  auto& res = parser.get();
  api_response out{res.result_int(), std::move(res.body())};
  if (!res.keep_alive()) {
    beast::error_code ignored;
    i.stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    i.stream.reset();
  }
  return out;
}

}  // namespace hookd::cli
