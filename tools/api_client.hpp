// A small blocking HTTP/1.1 client for the hookd CLI's commands against a running
// server (`--server URL`): one request per call on one keep-alive connection. Plain
// http only; Beast stays out of this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hookd/errc.hpp"

namespace hookd::cli {

// Where the server is: "http://HOST[:PORT][/PREFIX]".
struct server_url {
  std::string host;
  std::string port = "80";
  std::string prefix;  // a path the API is mounted under, without a trailing '/'
  std::string text;    // as given, for messages
};

// Errors name the URL and say why it is not one this client can use.
[[nodiscard]] explained<server_url> parse_server_url(const std::string& text);

struct api_response {
  unsigned status = 0;
  std::string body;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

class api_client {
 public:
  // `timeout` bounds each of resolve, connect, write and read.
  api_client(server_url server, std::string token,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~api_client();
  api_client(const api_client&) = delete;
  api_client& operator=(const api_client&) = delete;

  // Sends one request ("/api/v1/..." target) with X-Token and, when `body` is given,
  // Content-Type: application/json. Any HTTP answer, 4xx and 5xx included, is a value;
  // the error is the transport's (DNS, refused, timeout, a broken answer) and names
  // the URL and the step that failed.
  [[nodiscard]] explained<api_response> request(const std::string& method,
                                                const std::string& target,
                                                const std::string& body = {},
                                                const header_list& headers = {});

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hookd::cli
