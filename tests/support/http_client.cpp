#include "tests/support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace hookd::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct http_client::impl {
  std::string host;
  std::uint16_t port;
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  int opened = 0;

  void connect() {
    stream.emplace(ioc);
    tcp::resolver resolver(ioc);
    stream->connect(resolver.resolve(host, std::to_string(port)));
    buffer.clear();
    ++opened;
  }
};

http_client::http_client(std::string host, std::uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

http_client::~http_client() = default;

int http_client::connections_opened() const noexcept { return impl_->opened; }

http_response http_client::request(const std::string& method, const std::string& target,
                                   const std::string& body, const header_list& headers) {
  auto& i = *impl_;
  if (!i.stream) i.connect();
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  if (req.method() == http::verb::unknown) req.method_string(method);
  req.set(http::field::host, i.host + ":" + std::to_string(i.port));
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    req.set(name, value);
    if (beast::iequals(name, "content-type")) has_content_type = true;
  }
  if (!body.empty() && !has_content_type) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();

  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  i.stream->expires_after(std::chrono::seconds(30));
  http::write(*i.stream, req);
  http::read(*i.stream, i.buffer, parser);
  auto& res = parser.get();

  http_response out;
  out.status = res.result_int();
  out.body = res.body();
  out.keep_alive = res.keep_alive();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  if (!out.keep_alive) {
    beast::error_code ignored;
    i.stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    i.stream.reset();
  }
  return out;
}

raw_connection::raw_connection(const std::string& host, std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    throw std::runtime_error("raw_connection needs an IPv4 literal, got " + host);
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error(std::string("connect failed: ") + std::strerror(errno));
  }
}

raw_connection::~raw_connection() {
  if (fd_ >= 0) ::close(fd_);
}

void raw_connection::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
}

std::string raw_connection::read_until(const std::string& marker, std::chrono::seconds limit) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char c = 0;
  while (out.find(marker) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("marker did not arrive in time: " + marker);
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    // One byte at a time, so nothing after the marker is consumed.
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    if (n <= 0) throw std::runtime_error("connection closed before marker: " + marker);
    out.push_back(c);
  }
  return out;
}

std::string raw_connection::read_until_close(std::chrono::seconds limit) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("peer did not close the connection in time");
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready == 0) continue;
    if (ready < 0) throw std::runtime_error("poll failed");
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return out;
    if (n < 0) {
      if (errno == ECONNRESET) return out;
      throw std::runtime_error(std::string("recv failed: ") + std::strerror(errno));
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace hookd::test
