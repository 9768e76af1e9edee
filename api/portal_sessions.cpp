// One-time portal codes and the sessions they open.
#include "api/portal_sessions.hpp"

#include <array>
#include <cstddef>

#include "engine/encoding.hpp"
#include "hookd/engine/random.hpp"

namespace hookd::api {
namespace {

// 32 bytes from OpenSSL's CSPRNG as base64url without padding: unguessable.
std::string random_token() {
  std::array<std::byte, 32> bytes{};
  engine::crypto_random().fill(bytes);
  return engine::base64url_encode(bytes);
}

// Drops the entries of `m` that expired; then, while over `cap`, the one expiring first.
template <class Map>
void trim(Map& m, std::int64_t now, std::size_t cap) {
  for (auto it = m.begin(); it != m.end();) {
    it = it->second.expires_at_ms <= now ? m.erase(it) : std::next(it);
  }
  while (m.size() > cap) {
    auto first = m.begin();
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (it->second.expires_at_ms < first->second.expires_at_ms) first = it;
    }
    m.erase(first);
  }
}

}  // namespace

portal_sessions::portal_sessions(std::function<std::int64_t()> now_ms, portal_options options)
    : now_ms_(std::move(now_ms)), options_(std::move(options)) {}

void portal_sessions::purge(std::int64_t now) {
  // Linear, so only when the maps have grown: issuing stays cheap.
  if (links_.size() + sessions_.size() < 1024 && links_.size() < k_max_held) return;
  trim(links_, now, k_max_held - 1);
  trim(sessions_, now, k_max_held - 1);
}

portal_sessions::link portal_sessions::issue(std::string account, bool read_only,
                                             std::chrono::milliseconds life) {
  const std::int64_t now = now_ms_();
  link out{random_token(), now + life.count()};
  std::lock_guard lock(mutex_);
  purge(now);
  links_.emplace(out.code, pending{std::move(account), read_only, out.expires_at_ms});
  return out;
}

std::optional<std::pair<std::string, portal_identity>> portal_sessions::exchange(
    std::string_view code) {
  const std::int64_t now = now_ms_();
  std::lock_guard lock(mutex_);
  auto it = links_.find(code);
  if (it == links_.end()) return std::nullopt;
  pending p = std::move(it->second);
  links_.erase(it);  // once, whatever happens next
  if (p.expires_at_ms <= now) return std::nullopt;
  purge(now);
  portal_identity who{std::move(p.account), p.read_only, now + k_session_life.count(),
                      random_token()};
  std::string id = random_token();
  sessions_.emplace(id, who);
  return std::make_pair(std::move(id), std::move(who));
}

std::optional<portal_identity> portal_sessions::find(std::string_view session_id) const {
  if (session_id.empty()) return std::nullopt;
  const std::int64_t now = now_ms_();
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end() || it->second.expires_at_ms <= now) return std::nullopt;
  return it->second;
}

bool is_frame_origin(std::string_view text) {
  if (text.starts_with("https://")) {
    text.remove_prefix(8);
  } else if (text.starts_with("http://")) {
    text.remove_prefix(7);
  } else {
    return false;
  }
  if (text.starts_with("*.")) text.remove_prefix(2);
  const auto colon = text.find(':');
  const std::string_view host = text.substr(0, colon);
  if (host.empty() || host.front() == '.' || host.front() == '-' || host.back() == '.') {
    return false;
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  if (colon == std::string_view::npos) return true;
  const std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto end = header.find(';');
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return {};
}

}  // namespace hookd::api
