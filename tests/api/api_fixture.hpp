// A real admin server on 127.0.0.1 port 0 over a real RocksDB in a temp folder,
// with two accounts: acme (tok_acme) and beta (tok_beta).
#pragma once

#include <memory>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "api/router.hpp"
#include "api/server.hpp"
#include "api/tokens.hpp"
#include "engine/clock.hpp"
#include "engine/event_catalog.hpp"
#include "engine/random.hpp"
#include "engine/webhook_service.hpp"
#include "store/database.hpp"
#include "store/webhook_registry.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::test {

inline constexpr const char* k_sonar_example = R"({
  "webhook": {
    "name": "webhook to capture customer state changes",
    "active": "true",
    "settings": {
      "customer_state_changed": "true"
    },
    "url": "https://endpoint.com/catch-a-hook",
    "http_method": "POST"
  }
})";

class api_fixture : public ::testing::Test {
 protected:
  void SetUp() override { start(); }
  void TearDown() override { stop(); }

  void start(api::server_options options = {}) {
    db_ = std::move(store::database::open({.path = dir_ / "db"}).value());
    registry_ = std::move(store::webhook_registry::open(*db_).value());
    tokens_ = std::make_unique<api::token_store>(
        api::token_store::load("acme:tok_acme,beta:tok_beta", std::nullopt).value());
    service_ = std::make_unique<engine::webhook_service>(*registry_, catalog_, clock_, random_);
    router_ = std::make_unique<api::router>(*service_, *tokens_);
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    server_ = std::make_unique<api::server>(options, *router_);
    ASSERT_TRUE(server_->start());
  }

  void stop() {
    if (server_) {
      server_->stop();
      server_->wait();
    }
    server_.reset();
    router_.reset();
    service_.reset();
    registry_.reset();
    db_.reset();
  }

  std::uint16_t port() const { return server_->port(); }
  http_client client() const { return http_client("127.0.0.1", port()); }

  // One request on a fresh connection, with X-Token of `token` when not empty.
  http_response call(const std::string& method, const std::string& target,
                     const std::string& body = {}, const std::string& token = "tok_acme",
                     header_list headers = {}) {
    if (!token.empty()) headers.emplace_back("X-Token", token);
    return client().request(method, target, body, headers);
  }

  static boost::json::value json(const http_response& r) { return boost::json::parse(r.body); }

  // Creates a webhook for the token's account and returns its id.
  std::uint64_t create(const std::string& token = "tok_acme", const std::string& name = "hook",
                       const std::string& settings = R"({"customer_created": "true"})") {
    auto r = call("POST", "/api/v1/webhooks",
                  R"({"webhook": {"name": ")" + name + R"(", "active": true, "settings": )" +
                      settings + R"(, "url": "https://example.com/h", "http_method": "post"}})",
                  token);
    EXPECT_EQ(r.status, 201u) << r.body;
    return json(r).at("id").to_number<std::uint64_t>();
  }

  temp_dir dir_;
  engine::event_catalog catalog_ = engine::event_catalog::sonar_default();
  engine::system_clock clock_;
  engine::crypto_random random_;
  std::unique_ptr<store::database> db_;
  std::unique_ptr<store::webhook_registry> registry_;
  std::unique_ptr<api::token_store> tokens_;
  std::unique_ptr<engine::webhook_service> service_;
  std::unique_ptr<api::router> router_;
  std::unique_ptr<api::server> server_;
};

}  // namespace hookd::test
