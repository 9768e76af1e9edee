// A local HTTP(S) receiver for integration tests: listens on 127.0.0.1 port 0 on its
// own thread, records every request, answers as the test tells it, and counts the
// connections it accepted. Waiting for requests uses a condition variable, never a
// sleep.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookd::test {

struct received_request {
  std::string method;
  std::string target;  // path and query as sent
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::uint64_t connection = 0;                // 1-based number of the connection it came on

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct reply {
  unsigned status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // "Connection: close" is honoured
  bool never_answer = false;  // keep the connection open and never respond
  // Answer (keep-alive as far as the client can tell), then close the connection: a
  // server whose idle timeout closes a pooled connection between requests.
  bool close_after_reply = false;
  // When set, these bytes are written as-is instead of a formatted response (for
  // malformed responses); an empty string writes nothing.
  std::optional<std::string> raw;
};

struct receiver_options {
  // Serve https with this certificate chain and key (PEM files); plain http if empty.
  std::string cert_file;
  std::string key_file;
};

class receiver {
 public:
  explicit receiver(receiver_options options = {});
  ~receiver();
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

  std::uint16_t port() const noexcept;
  // "http://127.0.0.1:PORT/path" (https when serving TLS).
  std::string url(std::string_view path = "/hook") const;

  // Decides the reply to each request; default: 200 with an empty body. Thread-safe.
  using responder = std::function<reply(const received_request&)>;
  void set_responder(responder r);

  std::vector<received_request> requests() const;
  std::size_t request_count() const;
  std::uint64_t connections_accepted() const;
  // Blocks until at least n requests arrived; throws std::runtime_error after `limit`
  // (a safety net so a broken engine fails the test rather than hanging it).
  void wait_for_requests(std::size_t n,
                         std::chrono::milliseconds limit = std::chrono::seconds(30)) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hookd::test
