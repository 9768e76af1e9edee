// The router without the transport: content types, authentication order and
// error mapping, called directly.
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "tests/api/api_fixture.hpp"

namespace hookd::test {
namespace {

class Router : public api_fixture {
 protected:
  api::response handle(std::string_view method, std::string_view target, std::string_view body = {},
                       std::string_view content_type = "application/json",
                       std::string_view token = "tok_acme") {
    return router_->handle({method, target, content_type, token, body, {}});
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
  ASSERT_TRUE(error.at("details").is_array());
  for (const auto& d : error.at("details").as_array()) {
    EXPECT_FALSE(d.at("field").as_string().empty());
    EXPECT_FALSE(d.at("message").as_string().empty());
  }
}

TEST_F(Router, IdsOutsideUint64AreNotFound) {
  EXPECT_EQ(handle("GET", "/api/v1/webhooks/99999999999999999999999").status, 404u);
  EXPECT_EQ(handle("GET", "/api/v1/webhooks/-1").status, 404u);
  EXPECT_EQ(handle("GET", "/api/v1/webhooks/0").status, 404u);
}

}  // namespace
}  // namespace hookd::test
