// The admin HTTP server: HTTP/1.1 with keep-alive on Boost.Beast, one coroutine per
// connection, N threads on one io_context. Beast stays inside server.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/router.hpp"
#include "hookd/errc.hpp"

namespace hookd::api {

struct server_options {
  // Address to bind; an IP literal or a host name that resolves locally.
  std::string host = "127.0.0.1";
  // Port to bind; 0 picks a free one (see server::port()). Default 8080.
  std::uint16_t port = 8080;
  // Threads running the io_context; 0 means one per core.
  unsigned threads = 0;
  // How long a keep-alive connection may sit idle before its next request. Default 60 s.
  std::chrono::milliseconds idle_timeout{60'000};
  // How long a client may take to send a request's headers once it started, so a
  // slow client cannot hold a connection forever (slowloris). Default 10 s.
  std::chrono::milliseconds header_timeout{10'000};
  // How long reading the body and writing the response may take. Default 30 s.
  std::chrono::milliseconds io_timeout{30'000};
  // Largest accepted request body; larger ones get 413 and the connection closes.
  std::size_t body_limit = 1024 * 1024;
  // On stop, how long in-flight requests may take before connections are cut.
  std::chrono::milliseconds shutdown_grace{5'000};
};

class server {
 public:
  // The router must outlive the server.
  server(server_options options, const router& router);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds, listens and starts the threads. Errors name the address.
  [[nodiscard]] explained<void> start();
  // The bound port (useful with port 0); valid after start().
  std::uint16_t port() const;
  std::string host() const;
  // Stops accepting, lets in-flight requests finish (up to shutdown_grace), closes
  // idle connections. Thread-safe; returns at once.
  void stop();
  // Blocks until every thread has finished.
  void wait();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hookd::api
