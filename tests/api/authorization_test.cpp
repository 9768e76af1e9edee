// The authorisation matrix over real HTTP: every route of the table × {no token, a
// wrong token, another account's token, the owner's token, an operator token}. A
// route added to api/routes.cpp without a line here fails the test.
#include <map>
#include <string>
#include <vector>

#include "api/routes.hpp"
#include "tests/api/api_fixture.hpp"
#include "tests/support/receiver.hpp"

namespace hookd::test {
namespace {

namespace json = boost::json;

// What each token gets on a route of acme's: the owner's answer, and another
// account's (404 for acme's resources: another account's ids do not exist for it).
struct expectation {
  unsigned owner;
  unsigned other_account;
};

class Authorization : public api_fixture {
 protected:
  engine::engine_options engine_options() override {
    auto o = api_fixture::engine_options();
    o.retry_schedule = {};  // one attempt: the delivery fails at once and can be retried
    return o;
  }

  void SetUp() override {
    api_fixture::SetUp();
    rx_.set_responder([](const received_request&) {
      reply failing;
      failing.status = 500;
      return failing;
    });
    hook_ = std::to_string(create_hook());
    auto published = call("POST", "/api/v1/events", event_body());
    ASSERT_EQ(published.status, 202u) << published.body;
    ASSERT_TRUE(engine_->wait_until([](const auto& s) { return s.failed_deliveries >= 1; },
                                    std::chrono::seconds(30)));
    auto list = json(call("GET", "/api/v1/webhooks/" + hook_ + "/deliveries"));
    uuid_ = std::string(list.at("deliveries").at(0).at("uuid").as_string());
  }

  std::string webhook_body() const {
    return R"({"webhook": {"name": "m", "active": true, "settings": {"customer_created": true},)"
           R"( "url": ")" +
           rx_.url() + R"(", "http_method": "POST"}})";
  }
  static std::string event_body() {
    return R"({"event": {"type": "customer_created", "payload": {"n": 1}}})";
  }
  std::uint64_t create_hook() {
    auto r = call("POST", "/api/v1/webhooks", webhook_body());
    EXPECT_EQ(r.status, 201u) << r.body;
    return json(r).at("id").to_number<std::uint64_t>();
  }

  // The route's pattern with acme's webhook and delivery in it.
  std::string path_of(std::string_view pattern) const {
    std::string p(pattern);
    if (auto at = p.find("{id}"); at != std::string::npos) p.replace(at, 4, hook_);
    if (auto at = p.find("{uuid}"); at != std::string::npos) p.replace(at, 6, uuid_);
    if (auto at = p.find("{path}"); at != std::string::npos) p.replace(at, 6, "app.js");
    return p;
  }

  std::string body_for(std::string_view method, std::string_view pattern) const {
    if (pattern == "/api/v1/events") return event_body();
    if (pattern.ends_with("/recover")) return R"({"since": "2020-01-01T00:00:00Z"})";
    if (method == "POST" && pattern == "/api/v1/webhooks") return webhook_body();
    if (method == "PUT") return webhook_body();
    if (method == "PATCH") return R"({"webhook": {"name": "patched"}})";
    return {};
  }

  receiver rx_;
  std::string hook_;
  std::string uuid_;
};

TEST_F(Authorization, EveryRouteByEveryKindOfToken) {
  // clang-format off
  const std::map<std::string, expectation> account_routes = {
      {"POST /api/v1/events",                     {202, 202}},
      {"GET /api/v1/event-types",                 {200, 200}},
      {"GET /api/v1/overview",                    {200, 200}},
      {"POST /api/v1/portal-sessions",            {201, 201}},
      {"GET /api/v1/portal-session",              {200, 200}},
      {"GET /api/v1/webhooks",                    {200, 200}},
      {"POST /api/v1/webhooks",                   {201, 201}},
      {"GET /api/v1/webhooks/{id}",               {200, 404}},
      {"PUT /api/v1/webhooks/{id}",               {200, 404}},
      {"PATCH /api/v1/webhooks/{id}",             {200, 404}},
      {"DELETE /api/v1/webhooks/{id}",            {204, 404}},
      {"GET /api/v1/webhooks/{id}/secret",        {200, 404}},
      {"POST /api/v1/webhooks/{id}/secret/rotate", {200, 404}},
      {"GET /api/v1/webhooks/{id}/deliveries",    {200, 404}},
      {"POST /api/v1/webhooks/{id}/recover",      {202, 404}},
      {"GET /api/v1/webhooks/{id}/stats",         {200, 404}},
      {"GET /api/v1/deliveries/{uuid}",           {200, 404}},
      {"POST /api/v1/deliveries/{uuid}/retry",    {202, 404}},
  };
  // clang-format on
  std::size_t covered = 0;
  std::vector<const api::route*> deletes;  // the owner's delete goes last
  for (const auto& r : api::admin_routes().routes()) {
    const std::string key = std::string(r.method) + " " + std::string(r.pattern);
    SCOPED_TRACE(key);
    const std::string method(r.method);
    const std::string path = path_of(r.pattern);
    const std::string body = body_for(r.method, r.pattern);
    auto status = [&](const std::string& token) { return call(method, path, body, token).status; };

    if (r.access == api::route_access::open) {
      ++covered;
      // A portal link answers on its code alone (here none: 410), whatever the token.
      const unsigned expected = r.pattern == "/portal/session" ? 410u
                                : r.pattern == "/portal"       ? 308u
                                                               : 200u;
      for (const char* token : {"", "tok_wrong", "tok_beta", "tok_acme", "tok_ops"}) {
        EXPECT_EQ(status(token), expected) << "token " << token;
      }
      continue;
    }
    EXPECT_EQ(status(""), 401u) << "no token";
    EXPECT_EQ(status("tok_wrong"), 401u) << "wrong token";
    if (r.access == api::route_access::operator_token) {
      ++covered;
      EXPECT_EQ(status("tok_acme"), 403u) << "an account's token";
      EXPECT_EQ(status("tok_beta"), 403u) << "another account's token";
      EXPECT_EQ(status("tok_ops"), 200u) << "operator token";
      continue;
    }
    const auto e = account_routes.find(key);
    ASSERT_NE(e, account_routes.end()) << "a route without a line in this matrix";
    ++covered;
    EXPECT_EQ(status("tok_ops"), 403u) << "an operator token acts on no account";
    EXPECT_EQ(status("tok_beta"), e->second.other_account) << "another account's token";
    if (method == "DELETE") {
      deletes.push_back(&r);
      continue;
    }
    EXPECT_EQ(status("tok_acme"), e->second.owner) << "the owner's token";
  }
  for (const auto* r : deletes) {
    EXPECT_EQ(call(std::string(r->method), path_of(r->pattern)).status,
              account_routes.at(std::string(r->method) + " " + std::string(r->pattern)).owner);
  }
  EXPECT_EQ(covered, api::admin_routes().routes().size());
  EXPECT_EQ(account_routes.size() + 6, covered) << "a line for a route that no longer exists";

  // Another account's writes went to its own account, never to acme's.
  auto beta = json(call("GET", "/api/v1/webhooks", {}, "tok_beta"));
  for (const auto& w : beta.at("webhooks").as_array()) {
    EXPECT_NE(std::to_string(w.at("id").to_number<std::uint64_t>()), hook_);
  }
  EXPECT_EQ(call("GET", "/api/v1/webhooks/" + hook_).status, 404u) << "the owner deleted it";
}

}  // namespace
}  // namespace hookd::test
