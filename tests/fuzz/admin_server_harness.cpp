// The admin server fed raw bytes: one non-blocking loopback connection per input, the
// answers read while the input is written so neither side can fill the other's buffers.
#include "tests/fuzz/admin_server_harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace hookd::fuzz {
namespace {

// Enough of an answer to describe a failure; the rest is read and dropped.
constexpr std::size_t k_answer_kept = 64 * 1024;

std::string os_error(std::string_view doing, int error) {
  return std::string(doing) + ": " + std::strerror(error);
}

class socket_guard {
 public:
  explicit socket_guard(int fd) : fd_(fd) {}
  ~socket_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  socket_guard(const socket_guard&) = delete;
  socket_guard& operator=(const socket_guard&) = delete;

 private:
  int fd_;
};

}  // namespace

admin_server_harness::admin_server_harness() {
  std::string folder = (std::filesystem::temp_directory_path() / "hookd-fuzz-XXXXXX").string();
  if (::mkdtemp(folder.data()) == nullptr) {
    throw std::runtime_error(os_error("creating a folder like " + folder, errno));
  }
  dir_ = folder;
  try {
    engine::engine_options options;
    options.data_dir = dir_ / "db";
    options.threads = 1;
    engine_ = engine::engine::open(std::move(options)).value();
    tokens_ = std::make_unique<api::token_store>(
        api::token_store::load(k_fuzz_tokens, std::nullopt).value());
    portal_ = std::make_unique<api::portal_sessions>([this] { return engine_->now_ms(); });
    router_ = std::make_unique<api::router>(*engine_, *tokens_, *portal_);
    api::server_options server_options;
    server_options.host = "127.0.0.1";
    server_options.port = 0;
    server_options.threads = 2;
    server_options.idle_timeout = std::chrono::milliseconds(300);
    server_options.header_timeout = std::chrono::milliseconds(300);
    server_options.io_timeout = std::chrono::milliseconds(300);
    server_options.shutdown_grace = std::chrono::milliseconds(300);
    server_ = std::make_unique<api::server>(server_options, *router_);
    if (auto started = server_->start(); !started) {
      throw std::runtime_error("starting the admin server: " + started.error().message);
    }
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

admin_server_harness::~admin_server_harness() {
  server_->stop();
  server_->wait();
  server_.reset();
  router_.reset();
  engine_->stop();
  engine_.reset();
  std::error_code ignored;  // a folder left in the temp directory is no reason to fail
  std::filesystem::remove_all(dir_, ignored);
}

verdict admin_server_harness::exchange(std::string_view bytes) {
  std::string answer;
  return exchange(bytes, answer);
}

verdict admin_server_harness::healthy() {
  std::string answer;
  if (auto broken =
          exchange("GET /healthz HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n", answer)) {
    return "GET /healthz: " + *broken;
  }
  if (!answer.starts_with("HTTP/1.1 200 ")) {
    return "GET /healthz answered " + answer.substr(0, answer.find('\r'));
  }
  return std::nullopt;
}

verdict admin_server_harness::exchange(std::string_view bytes, std::string& answer) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return os_error("socket", errno);
  const socket_guard guard(fd);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  if (!connected && errno != EINPROGRESS) return os_error("connect", errno);

  const auto deadline = std::chrono::steady_clock::now() + k_close_limit;
  std::size_t sent = 0;
  bool half_closed = false;
  char buffer[16 * 1024];
  for (;;) {
    if (connected && sent == bytes.size() && !half_closed) {
      ::shutdown(fd, SHUT_WR);
      half_closed = true;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return "the server neither closed the connection nor answered within " +
             std::to_string(k_close_limit.count()) + " s; " + std::to_string(sent) + " of " +
             std::to_string(bytes.size()) +
             " bytes written, answer so far: " + answer.substr(0, 300);
    }
    pollfd p{fd, static_cast<short>(POLLIN | (half_closed ? 0 : POLLOUT)), 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return os_error("poll", errno);
    if (ready <= 0) continue;
    if (!connected) {
      int error = 0;
      socklen_t length = sizeof error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0) return os_error("connect", error);
      connected = true;
    }
    if ((p.revents & POLLOUT) != 0 && sent < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // The server answered and closed before reading everything: allowed.
        half_closed = true;
      }
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n == 0) return std::nullopt;
      if (n > 0) {
        const auto room = k_answer_kept - std::min(k_answer_kept, answer.size());
        answer.append(buffer, std::min(room, static_cast<std::size_t>(n)));
      } else if (errno == ECONNRESET || errno == EPIPE) {
        return std::nullopt;  // closed with unread input left: a reset is a close
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return os_error("recv", errno);
      }
    }
  }
}

}  // namespace hookd::fuzz
