// Small helpers the benchmark programs share (scale_bench, latency_bench,
// delivery_throughput_bench): the process's memory as /proc reports it, and the pieces
// of their minimal loopback HTTP servers.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hookd::bench {

// A field of /proc/self/status in KiB (VmRSS: resident now; VmHWM: the peak resident
// size since the process began or since reset_peak_rss); 0 when unreadable.
inline std::uint64_t status_kib(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

// Sets VmHWM back to the current RSS (Linux's clear_refs, value 5).
inline bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

// A non-blocking listening socket on 127.0.0.1, port chosen by the system (in `port`).
inline int listen_loopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd, SOMAXCONN) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("listen on 127.0.0.1: " + std::string(std::strerror(errno)));
  }
  port = ntohs(a.sin_port);
  return fd;
}

// The length of the body the request head announces (Content-Length), 0 without one.
inline std::size_t content_length(std::string_view head) {
  constexpr std::string_view k_name = "content-length:";
  std::size_t at = 0;
  while (at < head.size()) {
    const std::size_t eol = std::min(head.find("\r\n", at), head.size());
    const std::string_view line = head.substr(at, eol - at);
    if (line.size() > k_name.size() &&
        std::equal(k_name.begin(), k_name.end(), line.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      return std::strtoull(std::string(line.substr(k_name.size())).c_str(), nullptr, 10);
    }
    at = eol + 2;
  }
  return 0;
}

}  // namespace hookd::bench
