// Portal links over real HTTP: an account's token makes a link; its code opens a
// session cookie once, before it expires; the session acts for that account only, a
// read-only one only reads, and its state-changing requests need its CSRF token.
#include <string>

#include <gtest/gtest.h>

#include "tests/api/api_fixture.hpp"

namespace hookd::test {
namespace {

using namespace std::chrono_literals;

class PortalSession : public api_fixture {
 protected:
  engine::engine_options engine_options() override {
    auto o = api_fixture::engine_options();
    o.time_source = &clock_;
    return o;
  }

  // A link of the token's account; returns its path ("/portal/session?code=...").
  std::string link(const std::string& body = {}, const std::string& token = "tok_acme") {
    auto r = call("POST", "/api/v1/portal-sessions", body, token);
    EXPECT_EQ(r.status, 201u) << r.body;
    if (r.status != 201) return {};
    const std::string url(json(r).at("url").as_string());
    EXPECT_TRUE(url.starts_with("http://127.0.0.1:")) << url;
    return url.substr(url.find("/portal/session?code="));
  }

  // Opens a link and returns the cookie's "hookd_portal=..." pair.
  std::string open_link(const std::string& path) {
    auto r = call("GET", path, {}, "");
    EXPECT_EQ(r.status, 303u) << r.body;
    EXPECT_EQ(r.header("location"), "/portal/");
    const std::string cookie = r.header("set-cookie");
    return cookie.substr(0, cookie.find(';'));
  }

  http_response as_session(const std::string& cookie, const std::string& method,
                           const std::string& target, const std::string& body = {},
                           const std::string& csrf = {}) {
    header_list headers{{"Cookie", "theme=dark; " + cookie}};
    if (!csrf.empty()) headers.emplace_back("X-CSRF-Token", csrf);
    return call(method, target, body, "", headers);
  }

  engine::manual_clock clock_{1'800'000'000'000};
};

TEST_F(PortalSession, ALinkOpensASessionCookieOnceAndOnlyForItsAccount) {
  const auto acme_hook = create("tok_acme", "acme's");
  create("tok_beta", "beta's");
  const std::string path = link();
  auto opened = call("GET", path, {}, "");
  ASSERT_EQ(opened.status, 303u) << opened.body;
  const std::string set_cookie = opened.header("set-cookie");
  EXPECT_TRUE(set_cookie.starts_with("hookd_portal=")) << set_cookie;
  EXPECT_NE(set_cookie.find("; HttpOnly"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("; SameSite=Strict"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("; Path=/"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("; Max-Age=28800"), std::string::npos) << set_cookie;
  EXPECT_EQ(opened.header("cache-control"), "no-store");
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));

  // Never twice.
  auto again = call("GET", path, {}, "");
  EXPECT_EQ(again.status, 410u);
  EXPECT_EQ(json(again).at("error").at("code"), "gone");

  // The session sees acme's webhooks only, and says who it is.
  auto list = as_session(cookie, "GET", "/api/v1/webhooks");
  ASSERT_EQ(list.status, 200u) << list.body;
  const auto listed = json(list);
  const auto& hooks = listed.at("webhooks").as_array();
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0].at("id").to_number<std::uint64_t>(), acme_hook);
  auto me = as_session(cookie, "GET", "/api/v1/portal-session");
  ASSERT_EQ(me.status, 200u);
  EXPECT_EQ(json(me).at("account"), "acme");
  EXPECT_EQ(json(me).at("via"), "portal_session");
  EXPECT_EQ(json(me).at("read_only"), false);
  // Not for another account's webhook, not /metrics, not a new link.
  EXPECT_EQ(as_session(cookie, "GET", "/api/v1/webhooks/" + std::to_string(acme_hook + 1)).status,
            404u);
  EXPECT_EQ(as_session(cookie, "GET", "/metrics").status, 403u);
  const std::string csrf(json(me).at("csrf_token").as_string());
  EXPECT_EQ(as_session(cookie, "POST", "/api/v1/portal-sessions", {}, csrf).status, 403u);
  // A token, when sent, is what counts.
  auto with_token = call("GET", "/api/v1/portal-session", {}, "tok_beta", {{"Cookie", cookie}});
  EXPECT_EQ(json(with_token).at("account"), "beta");
  EXPECT_EQ(json(with_token).at("via"), "token");
}

TEST_F(PortalSession, StateChangesNeedTheSessionsCsrfTokenAndAWritableSession) {
  const auto hook = create();
  const std::string cookie = open_link(link());
  const std::string csrf(
      json(as_session(cookie, "GET", "/api/v1/portal-session")).at("csrf_token").as_string());
  const std::string patch = R"({"webhook": {"name": "renamed in the portal"}})";
  const std::string target = "/api/v1/webhooks/" + std::to_string(hook);
  auto without = as_session(cookie, "PATCH", target, patch);
  EXPECT_EQ(without.status, 403u);
  EXPECT_NE(without.body.find("X-CSRF-Token"), std::string::npos) << without.body;
  EXPECT_EQ(as_session(cookie, "PATCH", target, patch, "not-the-token").status, 403u);
  auto with = as_session(cookie, "PATCH", target, patch, csrf);
  ASSERT_EQ(with.status, 200u) << with.body;
  EXPECT_EQ(json(with).at("name"), "renamed in the portal");

  const std::string viewer = open_link(link(R"({"read_only": true})"));
  const std::string viewer_csrf(
      json(as_session(viewer, "GET", "/api/v1/portal-session")).at("csrf_token").as_string());
  EXPECT_EQ(as_session(viewer, "GET", target).status, 200u);
  auto refused = as_session(viewer, "PATCH", target, patch, viewer_csrf);
  EXPECT_EQ(refused.status, 403u);
  EXPECT_NE(refused.body.find("read-only"), std::string::npos) << refused.body;
}

TEST_F(PortalSession, LinksAndSessionsExpire) {
  const std::string path = link(R"({"expires_in": "10m"})");
  clock_.advance(10min);
  EXPECT_EQ(call("GET", path, {}, "").status, 410u) << "a link past its time";

  const std::string cookie = open_link(link());
  EXPECT_EQ(as_session(cookie, "GET", "/api/v1/webhooks").status, 200u);
  clock_.advance(8h);
  auto ended = as_session(cookie, "GET", "/api/v1/webhooks");
  EXPECT_EQ(ended.status, 401u);
  EXPECT_NE(ended.body.find("portal link"), std::string::npos) << ended.body;
  EXPECT_EQ(as_session("hookd_portal=made-up", "GET", "/api/v1/webhooks").status, 401u);
}

TEST_F(PortalSession, BadLinkRequestsNameTheField) {
  auto r = call("POST", "/api/v1/portal-sessions", R"({"read_only": "yes", "expires_in": "2d"})");
  ASSERT_EQ(r.status, 422u) << r.body;
  const auto answer = json(r);
  const auto& details = answer.at("error").at("details").as_array();
  ASSERT_EQ(details.size(), 2u);
  EXPECT_EQ(details[0].at("field"), "read_only");
  EXPECT_EQ(details[1].at("field"), "expires_in");
  EXPECT_EQ(
      call("POST", "/api/v1/portal-sessions", R"({"read_only": true, "read_only": false})").status,
      400u);
}

}  // namespace
}  // namespace hookd::test
