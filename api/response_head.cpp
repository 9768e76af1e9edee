#include "api/response_head.hpp"

#include <boost/beast/http/status.hpp>

#include "hookd/version.hpp"

namespace hookd::api {
namespace {

void add(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

bool carries_body(unsigned status) { return status / 100 != 1 && status != 204 && status != 304; }

std::string response_head(const response& out, unsigned version, bool keep_alive,
                          std::string_view request_id) {
  namespace http = boost::beast::http;
  const auto reason = http::obsolete_reason(static_cast<http::status>(out.status));
  std::string head;
  head.reserve(256);
  head += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head += std::to_string(out.status);
  head += ' ';
  head.append(reason.data(), reason.size());
  head += "\r\n";
  if (!out.allow.empty()) add(head, "Allow", out.allow);
  if (!out.retry_after.empty()) add(head, "Retry-After", out.retry_after);
  for (const auto& [name, value] : out.headers) add(head, name, value);
  const bool no_content = out.status == 204;  // no Content-Type either
  if (!no_content && !out.content_type.empty()) add(head, "Content-Type", out.content_type);
  // HTTP/1.1 is persistent unless it says close; HTTP/1.0 only when it says keep-alive.
  if (version >= 11 && !keep_alive) add(head, "Connection", "close");
  if (version < 11 && keep_alive) add(head, "Connection", "keep-alive");
  add(head, "Server", engine::k_user_agent);
  if (!request_id.empty()) add(head, "X-Request-Id", request_id);
  if (!no_content && out.content_type.empty()) add(head, "Content-Type", "application/json");
  if (carries_body(out.status)) {
    add(head, "Content-Length", std::to_string(out.body.size()));
  }
  head += "\r\n";
  return head;
}

}  // namespace hookd::api
