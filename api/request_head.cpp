// Framing checks, the router's view and request ids of the admin server's requests.
#include "api/request_head.hpp"

#include <algorithm>
#include <array>
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
  request r{
      .method = head.method_string(),
      .target = head.target(),
      .content_type = {},
      .token = {},
      .body = body,
      .idempotency_key = {},
  };
  // One pass over the fields, each slot taking the first field of its name, as
  // head[name] would (a name looked up by name is a search of the fields each time).
  struct slot {
    std::string_view* value;
    bool seen = false;
  };
  std::array<slot, 10> slots{{{&r.content_type},
                              {&r.cookie},
                              {&r.host},
                              {&r.accept},
                              {&r.accept_encoding},
                              {&r.if_none_match},
                              {&r.token},
                              {&r.idempotency_key},
                              {&r.csrf_token},
                              {&r.forwarded_proto}}};
  auto which = [](const auto& f) -> int {
    switch (f.name()) {
      case http::field::content_type:
        return 0;
      case http::field::cookie:
        return 1;
      case http::field::host:
        return 2;
      case http::field::accept:
        return 3;
      case http::field::accept_encoding:
        return 4;
      case http::field::if_none_match:
        return 5;
      default:
        break;
    }
    const auto name = f.name_string();
    if (boost::beast::iequals(name, "X-Token")) return 6;
    if (boost::beast::iequals(name, "Idempotency-Key")) return 7;
    if (boost::beast::iequals(name, "X-CSRF-Token")) return 8;
    if (boost::beast::iequals(name, "X-Forwarded-Proto")) return 9;
    return -1;
  };
  for (const auto& f : head) {
    const int i = which(f);
    if (i < 0 || slots[static_cast<std::size_t>(i)].seen) continue;
    slots[static_cast<std::size_t>(i)].seen = true;
    *slots[static_cast<std::size_t>(i)].value = f.value();
  }
  return r;
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
