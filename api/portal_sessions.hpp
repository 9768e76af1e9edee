// Portal links and the sessions they open (the delivery portal, issue 12): an account's
// token asks for a link carrying a one-time code; the code, exchanged once before it
// expires, becomes a session cookie scoped to that account, optionally read-only, with
// a CSRF token that state-changing requests must echo. Kept in memory: a restart ends
// every session and makes unexchanged links invalid (they fail closed).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookd::api {

// How `hookd serve` was configured for the portal.
struct portal_options {
  // Origins ("https://app.example.com") whose pages may show the portal in a frame.
  // Empty: no page may (X-Frame-Options: DENY). Otherwise the session cookie is
  // SameSite=None; Secure; Partitioned, so that it works inside the frame: the portal
  // must then be served over https (a TLS-ending proxy in front of hookd).
  std::vector<std::string> frame_origins;
};

struct portal_identity {
  std::string account;
  bool read_only = false;
  std::int64_t expires_at_ms = 0;
  std::string csrf_token;  // sent back in X-CSRF-Token by state-changing requests
};

class portal_sessions {
 public:
  static constexpr std::chrono::milliseconds k_default_link_life = std::chrono::hours(1);
  static constexpr std::chrono::milliseconds k_max_link_life = std::chrono::hours(24);
  static constexpr std::chrono::milliseconds k_session_life = std::chrono::hours(8);
  // At most this many links and sessions are held; beyond, the oldest expiring go.
  static constexpr std::size_t k_max_held = 100'000;
  static constexpr const char* k_cookie = "hookd_portal";

  // `now_ms` reads the clock (the engine's, so tests move it).
  explicit portal_sessions(std::function<std::int64_t()> now_ms, portal_options options = {});

  const portal_options& options() const { return options_; }

  struct link {
    std::string code;  // 43 characters of base64url (32 random bytes)
    std::int64_t expires_at_ms = 0;
  };
  link issue(std::string account, bool read_only, std::chrono::milliseconds life);

  // The code's session (its id, for the cookie, and what it grants); nullopt when the
  // code is unknown, was exchanged already or has expired. A code works once.
  std::optional<std::pair<std::string, portal_identity>> exchange(std::string_view code);

  // The live session of a cookie's id.
  std::optional<portal_identity> find(std::string_view session_id) const;

 private:
  struct pending {
    std::string account;
    bool read_only = false;
    std::int64_t expires_at_ms = 0;
  };
  void purge(std::int64_t now);  // with mutex_ held

  std::function<std::int64_t()> now_ms_;
  portal_options options_;
  mutable std::mutex mutex_;
  std::map<std::string, pending, std::less<>> links_;
  std::map<std::string, portal_identity, std::less<>> sessions_;
};

// Whether `text` is an origin a CSP frame-ancestors list may name: http or https, a
// host (its first label may be *), an optional port, nothing else.
bool is_frame_origin(std::string_view text);

// The value of `name` in a Cookie header ("a=1; hookd_portal=xyz"); empty when absent.
std::string_view cookie_value(std::string_view header, std::string_view name);

}  // namespace hookd::api
