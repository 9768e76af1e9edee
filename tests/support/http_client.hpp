// A blocking HTTP/1.1 client for tests, on Beast but with Beast kept out of this
// header. One object is one keep-alive connection, reopened when the server closes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hookd::test {

struct http_response {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool keep_alive = false;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

using header_list = std::vector<std::pair<std::string, std::string>>;

class http_client {
 public:
  http_client(std::string host, std::uint16_t port);
  ~http_client();

  // Sends one request on the connection (opening one if needed) and reads the reply.
  // Throws on transport errors. Adds Content-Type: application/json when a body is
  // given and no Content-Type is in `headers`.
  http_response request(const std::string& method, const std::string& target,
                        const std::string& body = {}, const header_list& headers = {});

  // Connections opened so far: 1 while keep-alive holds.
  int connections_opened() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A raw TCP connection for tests of the transport itself (slow clients, framing).
class raw_connection {
 public:
  raw_connection(const std::string& host, std::uint16_t port);
  ~raw_connection();
  void send(const std::string& bytes);
  // Reads until the peer closes the connection; throws if it has not closed within
  // `limit` (a safety net so a broken server fails the test instead of hanging it).
  std::string read_until_close(std::chrono::seconds limit = std::chrono::seconds(20));
  // Reads until what arrived contains `marker`; returns everything read so far.
  std::string read_until(const std::string& marker,
                         std::chrono::seconds limit = std::chrono::seconds(20));

 private:
  int fd_ = -1;
};

}  // namespace hookd::test
