// Framing checks, the router's view and request ids of the admin server's requests.
#include "api/request_head.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

namespace hookd::api {

namespace http = boost::beast::http;

std::optional<std::string> framing_problem(const http::request_header<>& head, bool chunked) {
  const auto te = head.equal_range(http::field::transfer_encoding);
  if (te.first == te.second) return std::nullopt;
  if (std::next(te.first) != te.second) {
    return "Transfer-Encoding must appear once, as exactly \"chunked\"";
  }
  std::string_view value = te.first->value();
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (!boost::beast::iequals(value, "chunked")) {
    return "Transfer-Encoding \"" + std::string(value) + "\" is not supported: only \"chunked\"";
  }
  if (head.version() < 11) return "Transfer-Encoding is not allowed in an HTTP/1.0 request";
  if (head.count(http::field::content_length) != 0 || !chunked) {
    return "a request cannot have both Transfer-Encoding and Content-Length";
  }
  return std::nullopt;
}

request request_of(const http::request_header<>& head, std::string_view body) {
  return {
      .method = head.method_string(),
      .target = head.target(),
      .content_type = head[http::field::content_type],
      .token = head["X-Token"],
      .body = body,
      .idempotency_key = head["Idempotency-Key"],
      .cookie = head[http::field::cookie],
      .csrf_token = head["X-CSRF-Token"],
      .host = head[http::field::host],
      .accept = head[http::field::accept],
      .accept_encoding = head[http::field::accept_encoding],
      .if_none_match = head[http::field::if_none_match],
      .forwarded_proto = head["X-Forwarded-Proto"],
  };
}

std::string new_request_id() {
  static std::atomic<std::uint64_t> counter{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  // splitmix64 of a counter: distinct for every request, not a visible sequence.
  std::uint64_t z = counter.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  constexpr std::string_view hex = "0123456789abcdef";
  std::string id = "req_";
  for (int shift = 60; shift >= 0; shift -= 4) id += hex[(z >> shift) & 15];
  return id;
}

bool usable_request_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == ':' || ch == '-';
  });
}

}  // namespace hookd::api
