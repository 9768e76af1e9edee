// The portal's page and files over real HTTP: served from the binary to anyone, each
// with a strict Content-Security-Policy and no framing (or framing by the configured
// origins only), revalidated by ETag, gzip-compressed on request; a used portal link
// shows a browser a page; the link and cookie follow the proxy's https.
#include <string>

#include <gtest/gtest.h>

#include "api/portal_assets.hpp"
#include "tests/api/api_fixture.hpp"

namespace hookd::test {
namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class PortalPages : public api_fixture {};

TEST_F(PortalPages, EveryFileIsServedFromTheBinaryWithAStrictPolicyAndNoToken) {
  ASSERT_FALSE(api::portal_assets().empty());
  for (const auto& file : api::portal_assets()) {
    SCOPED_TRACE(std::string(file.path));
    auto r = call("GET", "/portal/" + std::string(file.path), {}, "");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body, file.body);
    EXPECT_EQ(r.header("content-type"), file.content_type);
    const std::string csp = r.header("content-security-policy");
    EXPECT_TRUE(has(csp, "default-src 'none'")) << csp;
    EXPECT_TRUE(has(csp, "script-src 'self';")) << csp;
    EXPECT_TRUE(has(csp, "style-src 'self';")) << csp;
    EXPECT_TRUE(has(csp, "connect-src 'self';")) << csp;
    EXPECT_TRUE(has(csp, "frame-ancestors 'none'")) << csp;
    EXPECT_FALSE(has(csp, "unsafe")) << csp;
    EXPECT_EQ(r.header("x-frame-options"), "DENY");
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
    EXPECT_EQ(r.header("cache-control"), "no-cache");
    EXPECT_EQ(r.header("etag"), file.etag);
  }
}

TEST_F(PortalPages, ThePortalsAddressServesItsPage) {
  const auto* page = api::find_portal_asset("index.html");
  ASSERT_NE(page, nullptr);
  auto r = call("GET", "/portal/", {}, "");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, page->body);
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  // Without the slash, the page's relative addresses would miss: moved there.
  auto bare = call("GET", "/portal", {}, "");
  EXPECT_EQ(bare.status, 308u);
  EXPECT_EQ(bare.header("location"), "/portal/");
}

TEST_F(PortalPages, ACurrentCopyIsA304AndGzipIsSentOnlyWhenAccepted) {
  const auto* script = api::find_portal_asset("app.js");
  ASSERT_NE(script, nullptr);
  const std::string etag(script->etag);
  auto same = call("GET", "/portal/app.js", {}, "", {{"If-None-Match", etag}});
  EXPECT_EQ(same.status, 304u);
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(same.header("etag"), etag);
  auto weak = call("GET", "/portal/app.js", {}, "", {{"If-None-Match", "\"x\", W/" + etag}});
  EXPECT_EQ(weak.status, 304u);
  auto stale = call("GET", "/portal/app.js", {}, "", {{"If-None-Match", "\"old\""}});
  EXPECT_EQ(stale.status, 200u);
  EXPECT_EQ(stale.body, script->body);

  auto packed = call("GET", "/portal/app.js", {}, "", {{"Accept-Encoding", "br, gzip"}});
  ASSERT_EQ(packed.status, 200u);
  EXPECT_EQ(packed.header("content-encoding"), "gzip");
  EXPECT_EQ(packed.body, script->gzip);
  EXPECT_EQ(packed.body.substr(0, 2), "\x1f\x8b");  // gzip's magic
  EXPECT_EQ(packed.header("vary"), "Accept-Encoding");
  // The compressed bytes are another representation: another strong ETag, which also
  // revalidates.
  const std::string packed_etag = packed.header("etag");
  EXPECT_EQ(packed_etag, etag.substr(0, etag.size() - 1) + "-gz\"");
  auto same_packed = call("GET", "/portal/app.js", {}, "",
                          {{"Accept-Encoding", "gzip"}, {"If-None-Match", packed_etag}});
  EXPECT_EQ(same_packed.status, 304u);
  auto refused = call("GET", "/portal/app.js", {}, "", {{"Accept-Encoding", "gzip;q=0, br"}});
  EXPECT_EQ(refused.header("content-encoding"), "");
  EXPECT_EQ(refused.body, script->body);
}

TEST_F(PortalPages, NoOtherPathIsAFileOfThePortal) {
  for (const char* path : {"/portal/nothing.js", "/portal/../api/v1/webhooks",
                           "/portal/%2e%2e/api/v1/webhooks", "/portal/vendor", "/portal/LICENSE"}) {
    auto r = call("GET", path, {}, "");
    EXPECT_EQ(r.status, 404u) << path << ": " << r.body;
    EXPECT_EQ(json(r).at("error").at("code"), "not_found") << path;
  }
  auto posted = call("POST", "/portal/app.js", "{}", "");
  EXPECT_EQ(posted.status, 405u);
  EXPECT_EQ(posted.header("allow"), "GET");
}

TEST_F(PortalPages, AUsedLinkShowsABrowserAPageAndAClientAnError) {
  auto made = call("POST", "/api/v1/portal-sessions", {});
  ASSERT_EQ(made.status, 201u) << made.body;
  const std::string url(json(made).at("url").as_string());
  const std::string path = url.substr(url.find("/portal/session"));
  ASSERT_EQ(call("GET", path, {}, "").status, 303u);

  const auto* gone = api::find_portal_asset("gone.html");
  ASSERT_NE(gone, nullptr);
  auto browser =
      call("GET", path, {}, "", {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}});
  EXPECT_EQ(browser.status, 410u);
  EXPECT_EQ(browser.body, gone->body);
  EXPECT_EQ(browser.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(browser.header("x-frame-options"), "DENY");
  EXPECT_EQ(browser.header("cache-control"), "no-store");
  EXPECT_EQ(browser.header("etag"), "") << "a refusal is not a copy to keep";

  auto client = call("GET", path, {}, "", {{"Accept", "application/json"}});
  EXPECT_EQ(client.status, 410u);
  EXPECT_EQ(json(client).at("error").at("code"), "gone");
}

TEST_F(PortalPages, BehindAnHttpsProxyTheLinkIsHttpsAndTheCookieSecure) {
  auto made = call("POST", "/api/v1/portal-sessions", {}, "tok_acme",
                   {{"X-Forwarded-Proto", "https, http"}, {"Host", "hooks.example.com"}});
  ASSERT_EQ(made.status, 201u) << made.body;
  const std::string url(json(made).at("url").as_string());
  EXPECT_TRUE(url.starts_with("https://hooks.example.com/portal/session?code=")) << url;
  auto opened = call("GET", url.substr(url.find("/portal/session")), {}, "",
                     {{"X-Forwarded-Proto", "https"}});
  ASSERT_EQ(opened.status, 303u);
  const std::string cookie = opened.header("set-cookie");
  EXPECT_TRUE(cookie.ends_with("; HttpOnly; Secure; SameSite=Strict")) << cookie;
}

class FramedPortal : public api_fixture {
 protected:
  api::portal_options portal_options() override {
    return {.frame_origins = {"https://app.example.com", "https://*.partner.example:8443"}};
  }
};

TEST_F(FramedPortal, OnlyTheConfiguredOriginsMayFrameItAndTheCookieWorksInTheirFrames) {
  auto page = call("GET", "/portal/", {}, "");
  ASSERT_EQ(page.status, 200u);
  EXPECT_TRUE(has(page.header("content-security-policy"),
                  "frame-ancestors 'self' https://app.example.com https://*.partner.example:8443"))
      << page.header("content-security-policy");
  // X-Frame-Options cannot name origins; the CSP decides.
  EXPECT_EQ(page.header("x-frame-options"), "");

  auto made = call("POST", "/api/v1/portal-sessions", {});
  const std::string url(json(made).at("url").as_string());
  auto opened = call("GET", url.substr(url.find("/portal/session")), {}, "");
  ASSERT_EQ(opened.status, 303u);
  EXPECT_TRUE(
      opened.header("set-cookie").ends_with("; HttpOnly; Secure; SameSite=None; Partitioned"))
      << opened.header("set-cookie");
}

TEST(PortalFrameOrigin, OnlyOriginsACspListCanHoldAreAccepted) {
  for (const char* ok : {"https://app.example.com", "http://localhost:3000",
                         "https://*.example.com", "https://10.0.0.1:8443"}) {
    EXPECT_TRUE(api::is_frame_origin(ok)) << ok;
  }
  for (const char* bad :
       {"", "app.example.com", "https://", "https://app.example.com/path", "ftp://x.example",
        "https://a.example; script-src *", "https://a.example,https://b.example", "'self'", "*",
        "https://a.example:", "https://a.example:123456", "https://*", "https://.example.com"}) {
    EXPECT_FALSE(api::is_frame_origin(bad)) << bad;
  }
}

}  // namespace
}  // namespace hookd::test
