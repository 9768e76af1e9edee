// The router without the transport: content types, authentication order, error
// mapping and the route table's 404/405 answers, called directly.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "api/routes.hpp"
#include "tests/api/api_fixture.hpp"

namespace hookd::test {
namespace {

class Router : public api_fixture {
 protected:
  api::response handle(std::string_view method, std::string_view target, std::string_view body = {},
                       std::string_view content_type = "application/json",
                       std::string_view token = "tok_acme") {
    return router_->handle({method, target, content_type, token, body, {}, {}, {}, {}});
  }
};

TEST_F(Router, AcceptsJsonContentTypeVariants) {
  for (const char* ct : {"application/json", "Application/JSON", "application/json; charset=utf-8",
                         "application/merge-patch+json"}) {
    EXPECT_EQ(handle("POST", "/api/v1/webhooks", k_sonar_example, ct).status, 201u) << ct;
  }
  for (const char* ct : {"", "text/json", "application/jsonx", "multipart/form-data"}) {
    EXPECT_EQ(handle("POST", "/api/v1/webhooks", k_sonar_example, ct).status, 415u) << ct;
  }
}

TEST_F(Router, AuthenticatesBeforeRouting) {
  EXPECT_EQ(handle("GET", "/api/v1/nothing", {}, {}, "").status, 401u);
  EXPECT_EQ(handle("DELETE", "/api/v1/webhooks", {}, {}, "bad").status, 401u);
  EXPECT_EQ(handle("GET", "/api/v1/nothing").status, 404u);
}

TEST_F(Router, TrailingSlashOnCollectionIsAccepted) {
  EXPECT_EQ(handle("GET", "/api/v1/webhooks/").status, 200u);
}

TEST_F(Router, ErrorBodiesHaveTheDesignShape) {
  auto r = handle("POST", "/api/v1/webhooks", R"({"webhook": {"name": 5}})");
  ASSERT_EQ(r.status, 422u);
  auto v = boost::json::parse(r.body);
  const auto& error = v.at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "validation_failed");
  EXPECT_FALSE(error.at("message").as_string().empty());

  // The name has the wrong type; the other fields a create requires (active is
  // optional) are missing, each reported once.
  std::vector<std::string> expected = {"webhook.name", "webhook.settings", "webhook.url",
                                       "webhook.http_method"};
  std::vector<std::string> fields;
  for (const auto& d : error.at("details").as_array()) {
    fields.emplace_back(d.at("field").as_string());
    EXPECT_FALSE(d.at("message").as_string().empty()) << fields.back();
  }
  std::sort(expected.begin(), expected.end());
  std::sort(fields.begin(), fields.end());
  EXPECT_EQ(fields, expected);
}

TEST_F(Router, StorageAndShutdownFailuresKeepTheirMessage) {
  // A stopped engine refuses to publish: a real 503 path, no fake storage needed.
  engine_->stop();
  const auto refused = engine_->publish("acme", "customer_created", "{}");
  ASSERT_FALSE(refused);
  ASSERT_FALSE(refused.error().message.empty());

  auto r =
      handle("POST", "/api/v1/events", R"({"event": {"type": "customer_created", "payload": {}}})");
  ASSERT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(r.retry_after, "1") << "a 503 says when to try again";
  auto v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("error").at("code").as_string(), "unavailable");
  EXPECT_EQ(v.at("error").at("message").as_string(), refused.error().message);
  // What the server's log line of a 5xx carries: the route's pattern and the cause.
  EXPECT_EQ(r.route, "/api/v1/events");
  EXPECT_EQ(r.error_message, refused.error().message);
}

TEST_F(Router, IdsOutsideUint64AreNotFound) {
  EXPECT_EQ(handle("GET", "/api/v1/webhooks/99999999999999999999999").status, 404u);
  EXPECT_EQ(handle("GET", "/api/v1/webhooks/-1").status, 404u);
  EXPECT_EQ(handle("GET", "/api/v1/webhooks/0").status, 404u);
}

// Every pattern of the contract with its methods in Allow order; a route added to
// the table without a line here fails RouteTableIsTheContract.
struct contract_path {
  std::string pattern;
  std::string allow;
};
const std::vector<contract_path> k_contract = {
    {"/healthz", "GET"},
    {"/metrics", "GET"},
    {"/api/v1/openapi.json", "GET"},
    {"/portal", "GET"},
    {"/portal/session", "GET"},
    {"/portal/{path}", "GET"},
    {"/api/v1/portal-sessions", "POST"},
    {"/api/v1/portal-session", "GET"},
    {"/api/v1/events", "POST"},
    {"/api/v1/event-types", "GET"},
    {"/api/v1/overview", "GET"},
    {"/api/v1/webhooks", "GET, POST"},
    {"/api/v1/webhooks/{id}", "GET, PUT, PATCH, DELETE"},
    {"/api/v1/webhooks/{id}/secret", "GET"},
    {"/api/v1/webhooks/{id}/secret/rotate", "POST"},
    {"/api/v1/webhooks/{id}/deliveries", "GET"},
    {"/api/v1/webhooks/{id}/recover", "POST"},
    {"/api/v1/webhooks/{id}/stats", "GET"},
    {"/api/v1/deliveries/{uuid}", "GET"},
    {"/api/v1/deliveries/{uuid}/retry", "POST"},
};

// A concrete path for a pattern: any id and any uuid, since methods are checked
// before a handler looks anything up.
std::string concrete(std::string pattern) {
  for (auto [param, value] :
       {std::pair{"{id}", "7"}, std::pair{"{uuid}", "0190163d-8694-739b-aea5-966c26f8ad91"},
        std::pair{"{path}", "app.js"}}) {
    if (auto at = pattern.find(param); at != std::string::npos) {
      pattern.replace(at, std::string_view(param).size(), value);
    }
  }
  return pattern;
}

bool allows(const std::string& allow, std::string_view method) {
  std::string_view rest = allow;
  while (!rest.empty()) {
    const auto comma = rest.find(", ");
    if (rest.substr(0, comma) == method) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 2);
  }
  return false;
}

TEST_F(Router, RouteTableIsTheContract) {
  std::vector<std::pair<std::string, std::string>> table;  // pattern, allow; first-seen order
  for (const auto& r : api::admin_routes().routes()) {
    auto it = std::find_if(table.begin(), table.end(),
                           [&](const auto& p) { return p.first == r.pattern; });
    if (it == table.end()) {
      table.emplace_back(std::string(r.pattern), std::string(r.method));
    } else {
      it->second += ", " + std::string(r.method);
    }
  }
  std::vector<std::pair<std::string, std::string>> expected;
  expected.reserve(k_contract.size());
  for (const auto& c : k_contract) expected.emplace_back(c.pattern, c.allow);
  EXPECT_EQ(table, expected);
}

TEST_F(Router, EveryRouteAnswersOtherMethodsWith405AndAllow) {
  for (const auto& c : k_contract) {
    for (const std::string& path : {concrete(c.pattern), concrete(c.pattern) + "/"}) {
      for (std::string_view method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
        SCOPED_TRACE(std::string(method) + " " + path);
        const std::string_view token = c.pattern == "/metrics" ? "tok_ops" : "tok_acme";
        auto r = handle(method, path, "{}", "application/json", token);
        EXPECT_EQ(r.route, c.pattern) << "answered by another route";
        if (allows(c.allow, method)) {
          EXPECT_NE(r.status, 405u) << r.body;
          continue;
        }
        ASSERT_EQ(r.status, 405u) << r.body;
        EXPECT_EQ(r.allow, c.allow);
        auto v = boost::json::parse(r.body);
        EXPECT_EQ(v.at("error").at("code").as_string(), "method_not_allowed");
      }
    }
  }
}

TEST_F(Router, UnknownPathsAndSubPathsAre404WhateverTheMethod) {
  for (const char* path : {
           "/",
           "/api",
           "/api/v1",
           "/api/v1/webhooksx",
           "/api/v1/webhooks/7/nope",
           "/api/v1/webhooks/7/secret/rotate/x",
           "/api/v1/webhooks/7/deliveries/x",
           "/api/v1/webhooks/7/recover/x",
           "/api/v1/webhooks/7//",
           "/api/v1/webhooks//deliveries",
           "/api/v1/webhooks/abc",
           "/api/v1/webhooks/abc/deliveries",
           "/api/v1/webhooks/18446744073709551616/secret",
           "/api/v1/deliveries",
           "/api/v1/deliveries//retry",
           "/api/v1/deliveries/x/nope",
           "/api/v1/deliveries/x/retry/now",
           "/api/v1/events/x",
           "/metrics/x",
           "/healthz/x",
       }) {
    for (std::string_view method : {"GET", "POST", "DELETE"}) {
      SCOPED_TRACE(std::string(method) + " " + path);
      auto r = handle(method, path, "{}");
      EXPECT_EQ(r.status, 404u) << r.body;
      EXPECT_TRUE(r.allow.empty());
      EXPECT_EQ(boost::json::parse(r.body).at("error").at("code").as_string(), "not_found");
    }
  }
}

TEST_F(Router, OnlyHealthzTheOpenApiDocumentAndThePortalAreAnsweredWithoutToken) {
  EXPECT_EQ(handle("GET", "/healthz", {}, {}, "").status, 200u);
  EXPECT_EQ(handle("POST", "/healthz", {}, {}, "").status, 405u);
  EXPECT_EQ(handle("GET", "/healthz/x", {}, {}, "").status, 401u);
  EXPECT_EQ(handle("GET", "/api/v1/openapi.json", {}, {}, "").status, 200u);
  EXPECT_EQ(handle("POST", "/api/v1/openapi.json", {}, {}, "").status, 405u);
  EXPECT_EQ(handle("GET", "/api/v1/openapi.yaml", {}, {}, "").status, 401u);
  // A portal link's code is its own credential: without one that works, 410.
  EXPECT_EQ(handle("GET", "/portal/session?code=nope", {}, {}, "").status, 410u);
  // The portal's page and files hold no data: whoever asks gets them, and signs in.
  EXPECT_EQ(handle("GET", "/portal/", {}, {}, "").status, 200u);
  EXPECT_EQ(handle("GET", "/portal/app.js", {}, {}, "").status, 200u);
  for (const auto& c : k_contract) {
    if (c.pattern == "/healthz" || c.pattern == "/api/v1/openapi.json" ||
        c.pattern.starts_with("/portal")) {
      continue;
    }
    EXPECT_EQ(handle("GET", concrete(c.pattern), {}, {}, "").status, 401u) << c.pattern;
  }
}

}  // namespace
}  // namespace hookd::test
