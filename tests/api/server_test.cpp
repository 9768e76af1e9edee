// The admin API over real HTTP on a port-0 server: every route, every error status,
// and account isolation.
#include <regex>
#include <set>

#include "tests/api/api_fixture.hpp"

namespace hookd::test {
namespace {

namespace json = boost::json;

using AdminApi = api_fixture;

void expect_error(const http_response& r, unsigned status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto v = json::parse(r.body);
  EXPECT_EQ(v.at("error").at("code").as_string(), code) << r.body;
  EXPECT_FALSE(v.at("error").at("message").as_string().empty());
}

std::set<std::string> detail_fields(const http_response& r) {
  std::set<std::string> out;
  const json::value v = json::parse(r.body);
  for (const auto& d : v.at("error").at("details").as_array()) {
    out.insert(std::string(d.at("field").as_string()));
  }
  return out;
}

TEST_F(AdminApi, HealthzAnswersOkWithoutToken) {
  auto r = call("GET", "/healthz", {}, "");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json(r), json::parse(R"({"status":"ok"})"));
}

TEST_F(AdminApi, UnavailableAnswersSayWhenToTryAgain) {
  engine_->stop();  // a stopping engine refuses to publish: 503
  auto r =
      call("POST", "/api/v1/events", R"({"event": {"type": "customer_created", "payload": {}}})");
  ASSERT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(json(r).at("error").at("code").as_string(), "unavailable");
}

TEST_F(AdminApi, CreateSonarExampleReturnsFlatObject) {
  auto r = call("POST", "/api/v1/webhooks", k_sonar_example);
  ASSERT_EQ(r.status, 201u) << r.body;
  auto v = json(r).as_object();
  EXPECT_TRUE(v.at("id").is_int64() || v.at("id").is_uint64());
  EXPECT_GE(v.at("id").to_number<std::int64_t>(), 1);
  EXPECT_EQ(v.at("name").as_string(), "webhook to capture customer state changes");
  EXPECT_EQ(v.at("active"), json::value(true));
  EXPECT_EQ(v.at("url").as_string(), "https://endpoint.com/catch-a-hook");
  EXPECT_EQ(v.at("http_method").as_string(), "POST");
  EXPECT_TRUE(std::regex_match(std::string(v.at("secret").as_string()),
                               std::regex("whsec_[A-Za-z0-9+/]{32}")));
  const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)");
  EXPECT_TRUE(std::regex_match(std::string(v.at("created_at").as_string()), rfc3339));
  EXPECT_TRUE(std::regex_match(std::string(v.at("updated_at").as_string()), rfc3339));
  // Settings list every catalog type with a boolean.
  const auto& settings = v.at("settings").as_object();
  EXPECT_EQ(settings.size(), catalog_.types().size());
  for (const auto& type : catalog_.types()) {
    EXPECT_EQ(settings.at(type), json::value(type == "customer_state_changed")) << type;
  }
}

TEST_F(AdminApi, MetricsAreInPrometheusTextFormat) {
  // No webhook subscribes to the type, so nothing is sent anywhere.
  auto published =
      call("POST", "/api/v1/events", R"({"event": {"type": "outbound_message", "payload": {}}})");
  ASSERT_EQ(published.status, 202u) << published.body;
  auto r = call("GET", "/metrics", {}, "tok_ops");
  ASSERT_EQ(r.status, 200u);
  EXPECT_TRUE(r.header("content-type").starts_with("text/plain")) << r.header("content-type");
  EXPECT_NE(
      r.body.find("# TYPE hookd_events_published_total counter\nhookd_events_published_total 1\n"),
      std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("hookd_deliveries_created_total 0\n"), std::string::npos) << r.body;
}

TEST_F(AdminApi, MetricsNeedAnOperatorTokenAndAnOperatorTokenActsOnNoAccount) {
  expect_error(call("GET", "/metrics", {}, ""), 401, "unauthorized");
  expect_error(call("GET", "/metrics", {}, "tok_nope"), 401, "unauthorized");
  // Process-wide numbers are not an account's to read.
  expect_error(call("GET", "/metrics", {}, "tok_acme"), 403, "forbidden");
  expect_error(call("GET", "/metrics", {}, "tok_beta"), 403, "forbidden");
  EXPECT_EQ(call("GET", "/metrics", {}, "tok_ops").status, 200u);
  expect_error(call("GET", "/api/v1/webhooks", {}, "tok_ops"), 403, "forbidden");
  expect_error(call("POST", "/api/v1/webhooks", k_sonar_example, "tok_ops"), 403, "forbidden");
  EXPECT_EQ(stored_webhooks(api::k_operator.data()), 0u);
}

TEST_F(AdminApi, MissingOrUnknownTokenIs401) {
  expect_error(call("GET", "/api/v1/webhooks", {}, ""), 401, "unauthorized");
  expect_error(call("GET", "/api/v1/webhooks", {}, "tok_nope"), 401, "unauthorized");
  expect_error(call("POST", "/api/v1/webhooks", k_sonar_example, "tok_acm"), 401, "unauthorized");
  EXPECT_EQ(stored_webhooks(), 0u) << "an unauthenticated create stored something";
}

TEST_F(AdminApi, ShowReturnsWebhookWithoutSecretAndSecretRouteReturnsIt) {
  auto created = json(call("POST", "/api/v1/webhooks", k_sonar_example));
  const auto id = created.at("id").to_number<std::uint64_t>();
  auto shown = call("GET", "/api/v1/webhooks/" + std::to_string(id));
  ASSERT_EQ(shown.status, 200u);
  auto v = json(shown).as_object();
  EXPECT_FALSE(v.contains("secret"));
  for (const char* key :
       {"id", "name", "active", "settings", "url", "http_method", "created_at", "updated_at"}) {
    EXPECT_EQ(v.at(key), created.at(key)) << key;
  }
  auto secret = call("GET", "/api/v1/webhooks/" + std::to_string(id) + "/secret");
  ASSERT_EQ(secret.status, 200u);
  EXPECT_EQ(json(secret).at("secret"), created.at("secret"));
}

TEST_F(AdminApi, RotatingTheSecretReturnsTheNewOneAndWhenTheOldStopsSigning) {
  const auto id = create();
  const std::string path = "/api/v1/webhooks/" + std::to_string(id) + "/secret";
  const std::string before(json(call("GET", path)).at("secret").as_string());
  EXPECT_EQ(json(call("GET", path)).at("previous_secret_expires_at"), json::value(nullptr));

  auto rotated = call("POST", path + "/rotate", R"({"grace": "2h"})");
  ASSERT_EQ(rotated.status, 200u) << rotated.body;
  const auto v = json(rotated);
  const std::string after(v.at("secret").as_string());
  EXPECT_NE(after, before);
  EXPECT_TRUE(after.starts_with("whsec_"));
  EXPECT_TRUE(v.at("previous_secret_expires_at").is_string()) << rotated.body;
  EXPECT_EQ(json(call("GET", path)), v) << "the secret route shows the rotation";

  // Without a body: a generated secret, a day of grace.
  auto again = call("POST", path + "/rotate", "");
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_NE(json(again).at("secret").as_string(), after);

  auto bad = call("POST", path + "/rotate", R"({"grace": "1y"})");
  ASSERT_EQ(bad.status, 422u) << bad.body;
  EXPECT_EQ(detail_fields(bad), std::set<std::string>{"grace"});
  EXPECT_EQ(call("POST", path + "/rotate", "grace=1h", "tok_acme",
                 {{"Content-Type", "application/x-www-form-urlencoded"}})
                .status,
            415u);
  EXPECT_EQ(call("POST", path + "/rotate", "", "tok_beta").status, 404u);
}

TEST_F(AdminApi, ListPaginatesInIdOrder) {
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(create("tok_acme", "hook" + std::to_string(i)));
  create("tok_beta", "other");

  std::vector<std::uint64_t> seen;
  std::string target = "/api/v1/webhooks?limit=2";
  for (int page = 0; page < 10; ++page) {
    auto r = call("GET", target);
    ASSERT_EQ(r.status, 200u) << r.body;
    auto v = json(r);
    const auto& items = v.at("webhooks").as_array();
    EXPECT_LE(items.size(), 2u);
    for (const auto& w : items) {
      EXPECT_FALSE(w.as_object().contains("secret"));
      seen.push_back(w.at("id").to_number<std::uint64_t>());
    }
    if (v.at("next_after").is_null()) break;
    target = "/api/v1/webhooks?limit=2&after=" +
             std::to_string(v.at("next_after").to_number<std::uint64_t>());
  }
  EXPECT_EQ(seen, ids);

  auto all = json(call("GET", "/api/v1/webhooks"));
  EXPECT_EQ(all.at("webhooks").as_array().size(), 5u);
  EXPECT_TRUE(all.at("next_after").is_null());
  auto after = json(call("GET", "/api/v1/webhooks?after=" + std::to_string(ids[2])));
  ASSERT_EQ(after.at("webhooks").as_array().size(), 2u);
  EXPECT_EQ(after.at("webhooks").as_array()[0].at("id").to_number<std::uint64_t>(), ids[3]);
}

TEST_F(AdminApi, ListDefaultsTo50AndRejectsBadLimits) {
  for (int i = 0; i < 51; ++i) create();
  auto v = json(call("GET", "/api/v1/webhooks"));
  EXPECT_EQ(v.at("webhooks").as_array().size(), 50u);
  EXPECT_FALSE(v.at("next_after").is_null());

  for (const char* bad : {"limit=0", "limit=501", "limit=abc", "limit=-1"}) {
    auto r = call("GET", std::string("/api/v1/webhooks?") + bad);
    expect_error(r, 422, "validation_failed");
    EXPECT_EQ(detail_fields(r), std::set<std::string>{"limit"}) << bad;
  }
  auto r = call("GET", "/api/v1/webhooks?after=x&limit=0");
  expect_error(r, 422, "validation_failed");
  EXPECT_EQ(detail_fields(r), (std::set<std::string>{"after", "limit"}));
  EXPECT_EQ(call("GET", "/api/v1/webhooks?limit=500").status, 200u);
}

TEST_F(AdminApi, PutReplacesWholeWebhookAndKeepsSecret) {
  auto created = json(call("POST", "/api/v1/webhooks", k_sonar_example));
  const std::string path = "/api/v1/webhooks/" + std::to_string(created.at("id").to_number<int>());
  auto r =
      call("PUT", path, R"({"webhook": {"name": "renamed", "settings": {"customer_created": true},
                                 "url": "http://example.org/x", "http_method": "get"}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto v = json(r);
  EXPECT_EQ(v.at("name").as_string(), "renamed");
  EXPECT_EQ(v.at("active"), json::value(false)) << "omitted active means false on PUT";
  EXPECT_EQ(v.at("http_method").as_string(), "GET");
  EXPECT_EQ(v.at("settings").at("customer_created"), json::value(true));
  EXPECT_EQ(v.at("settings").at("customer_state_changed"), json::value(false));
  EXPECT_EQ(v.at("created_at"), created.at("created_at"));
  EXPECT_EQ(json(call("GET", path + "/secret")).at("secret"), created.at("secret"));

  auto invalid = call("PUT", path, R"({"webhook": {"name": "only a name"}})");
  expect_error(invalid, 422, "validation_failed");
  EXPECT_EQ(detail_fields(invalid),
            (std::set<std::string>{"webhook.settings", "webhook.url", "webhook.http_method"}));
  EXPECT_EQ(json(call("GET", path)).at("name").as_string(), "renamed") << "a failed PUT changed it";
}

TEST_F(AdminApi, PatchChangesOnlyGivenFields) {
  auto created = json(call("POST", "/api/v1/webhooks", k_sonar_example));
  const std::string path = "/api/v1/webhooks/" + std::to_string(created.at("id").to_number<int>());
  auto r = call("PATCH", path, R"({"webhook": {"settings": {"customer_created": "true"}}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto v = json(r);
  EXPECT_EQ(v.at("name"), created.at("name"));
  EXPECT_EQ(v.at("url"), created.at("url"));
  EXPECT_EQ(v.at("active"), json::value(true));
  EXPECT_EQ(v.at("settings").at("customer_created"), json::value(true));
  EXPECT_EQ(v.at("settings").at("customer_state_changed"), json::value(true));

  auto off = json(call("PATCH", path, R"({"webhook": {"active": "false"}})"));
  EXPECT_EQ(off.at("active"), json::value(false));
  EXPECT_EQ(off.at("settings").at("customer_created"), json::value(true));
  expect_error(call("PATCH", path, R"({"webhook": {"url": "not a url"}})"), 422,
               "validation_failed");
}

TEST_F(AdminApi, DeleteRemovesWebhook) {
  const auto id = create();
  const std::string path = "/api/v1/webhooks/" + std::to_string(id);
  auto r = call("DELETE", path);
  EXPECT_EQ(r.status, 204u);
  EXPECT_TRUE(r.body.empty());
  expect_error(call("GET", path), 404, "not_found");
  expect_error(call("DELETE", path), 404, "not_found");
  EXPECT_TRUE(json(call("GET", "/api/v1/webhooks")).at("webhooks").as_array().empty());
}

TEST_F(AdminApi, AnotherAccountCannotSeeOrChangeWebhooks) {
  const auto id = create("tok_acme", "acme-hook");
  const std::string path = "/api/v1/webhooks/" + std::to_string(id);
  const auto before = json(call("GET", path));

  expect_error(call("GET", path, {}, "tok_beta"), 404, "not_found");
  expect_error(call("GET", path + "/secret", {}, "tok_beta"), 404, "not_found");
  expect_error(call("PUT", path, k_sonar_example, "tok_beta"), 404, "not_found");
  expect_error(call("PATCH", path, R"({"webhook": {"name": "stolen"}})", "tok_beta"), 404,
               "not_found");
  expect_error(call("DELETE", path, {}, "tok_beta"), 404, "not_found");
  EXPECT_TRUE(
      json(call("GET", "/api/v1/webhooks", {}, "tok_beta")).at("webhooks").as_array().empty());

  EXPECT_EQ(json(call("GET", path)), before) << "another account's request changed the webhook";
}

TEST_F(AdminApi, MalformedJsonIs400) {
  expect_error(call("POST", "/api/v1/webhooks", R"({"webhook": )"), 400, "malformed_json");
  expect_error(
      call("POST", "/api/v1/webhooks", "", "tok_acme", {{"Content-Type", "application/json"}}), 400,
      "malformed_json");
}

TEST_F(AdminApi, ValidationErrorsReportEveryFieldWith422) {
  auto r = call("POST", "/api/v1/webhooks",
                R"({"webhook": {"name": "", "active": "yes", "settings": {"nope": "true"},
                               "url": "ftp://x", "http_method": "FETCH"}})");
  expect_error(r, 422, "validation_failed");
  EXPECT_EQ(detail_fields(r),
            (std::set<std::string>{"webhook.name", "webhook.active", "webhook.settings.nope",
                                   "webhook.url", "webhook.http_method"}));
  EXPECT_EQ(stored_webhooks(), 0u) << "an invalid create stored something";
}

TEST_F(AdminApi, WrongMethodIs405WithAllow) {
  auto r = call("DELETE", "/api/v1/webhooks");
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(r.header("allow"), "GET, POST");
  const auto id = create();
  r = call("POST", "/api/v1/webhooks/" + std::to_string(id), "{}");
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(r.header("allow"), "GET, PUT, PATCH, DELETE");
  expect_error(call("POST", "/healthz", "{}", ""), 405, "method_not_allowed");
}

TEST_F(AdminApi, BodyOverOneMebibyteIs413) {
  const std::string big = R"({"webhook": {"name": ")" + std::string(1024 * 1024, 'x') + R"("}})";
  auto r = call("POST", "/api/v1/webhooks", big);
  expect_error(r, 413, "payload_too_large");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(stored_webhooks(), 0u);
}

TEST_F(AdminApi, ChunkedBodyOverLimitIs413) {
  raw_connection c("127.0.0.1", port());
  std::string req =
      "POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Token: tok_acme\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(64 * 1024, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  c.send(req);
  std::string reply;
  try {
    for (int i = 0; i < 17; ++i) c.send(size_line + chunk + "\r\n");
    c.send("0\r\n\r\n");
  } catch (const std::exception&) {
    // The server may close while we are still sending; the reply is what counts.
  }
  reply = c.read_until_close();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 413")) << reply.substr(0, 200);
}

TEST_F(AdminApi, NonJsonContentTypeIs415) {
  expect_error(call("POST", "/api/v1/webhooks", k_sonar_example, "tok_acme",
                    {{"Content-Type", "text/plain"}}),
               415, "unsupported_media_type");
  const auto id = create();
  expect_error(call("PATCH", "/api/v1/webhooks/" + std::to_string(id), "{}", "tok_acme",
                    {{"Content-Type", "application/x-www-form-urlencoded"}}),
               415, "unsupported_media_type");
  auto ok = call("POST", "/api/v1/webhooks", k_sonar_example, "tok_acme",
                 {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(ok.status, 201u) << ok.body;
}

TEST_F(AdminApi, UnknownRoutesAndIdsAre404) {
  expect_error(call("GET", "/api/v1/nothing"), 404, "not_found");
  expect_error(call("GET", "/api/v1/webhooks/abc"), 404, "not_found");
  expect_error(call("GET", "/api/v1/webhooks/999"), 404, "not_found");
  expect_error(call("GET", "/api/v1/webhooks/1/unknown"), 404, "not_found");
}

TEST_F(AdminApi, KeepAliveServesManyRequestsOnOneConnection) {
  auto c = client();
  for (int i = 0; i < 20; ++i) {
    auto r = c.request("GET", "/api/v1/webhooks", {}, {{"X-Token", "tok_acme"}});
    ASSERT_EQ(r.status, 200u);
    EXPECT_TRUE(r.keep_alive);
  }
  auto r = c.request("POST", "/api/v1/webhooks", k_sonar_example, {{"X-Token", "tok_acme"}});
  EXPECT_EQ(r.status, 201u);
  EXPECT_EQ(c.connections_opened(), 1);
}

TEST_F(AdminApi, ExpectContinueIsAnswered) {
  raw_connection c("127.0.0.1", port());
  const std::string body = k_sonar_example;
  c.send(
      "POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Token: tok_acme\r\n"
      "Content-Type: application/json\r\nExpect: 100-continue\r\nConnection: close\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  // The body is sent only after the interim response, as curl does for large bodies.
  const std::string interim = c.read_until("\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  c.send(body);
  const std::string got = interim + c.read_until_close();
  EXPECT_TRUE(got.starts_with("HTTP/1.1 100 Continue\r\n")) << got.substr(0, 100);
  EXPECT_NE(got.find("HTTP/1.1 201 Created"), std::string::npos) << got;
}

class AdminApiTimeouts : public api_fixture {
 protected:
  void SetUp() override {
    api::server_options options;
    options.header_timeout = std::chrono::milliseconds(300);
    options.idle_timeout = std::chrono::milliseconds(300);
    start(options);
  }
};

TEST_F(AdminApiTimeouts, SlowHeadersAreCutOff) {
  raw_connection c("127.0.0.1", port());
  // Headers started but never finished: the server must close the connection itself.
  c.send("GET /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Tok");
  EXPECT_EQ(c.read_until_close(), "");
}

TEST_F(AdminApiTimeouts, IdleKeepAliveConnectionIsClosed) {
  raw_connection c("127.0.0.1", port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string got = c.read_until_close();
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK")) << got;
}

TEST_F(AdminApi, WebhooksSurviveServerRestartOnSameData) {
  auto created = json(call("POST", "/api/v1/webhooks", k_sonar_example));
  stop();
  start();
  auto list = json(call("GET", "/api/v1/webhooks"));
  ASSERT_EQ(list.at("webhooks").as_array().size(), 1u);
  auto w = list.at("webhooks").as_array()[0];
  created.as_object().erase("secret");
  EXPECT_EQ(w, created);
}

TEST_F(AdminApi, StopClosesIdleConnections) {
  raw_connection c("127.0.0.1", port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string got = c.read_until(R"({"status":"ok"})");
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK")) << got;
  // The connection now waits idle for its next request; stopping closes it.
  server_->stop();
  server_->wait();
  EXPECT_EQ(c.read_until_close(), "");
}

}  // namespace
}  // namespace hookd::test
