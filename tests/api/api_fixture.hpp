// A real admin server on 127.0.0.1 port 0 over a real RocksDB in a temp folder,
// with two accounts, acme (tok_acme) and beta (tok_beta), and an operator token
// (tok_ops).
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "api/router.hpp"
#include "api/server.hpp"
#include "api/tokens.hpp"
#include "hookd/engine/engine.hpp"
#include "hookd/engine/event_catalog.hpp"
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

  // Engine options for the fixture; subclasses adjust them before start().
  virtual engine::engine_options engine_options() {
    engine::engine_options o;
    o.data_dir = dir_ / "db";
    o.threads = 1;
    o.http.allow_private_targets = true;
    return o;
  }

  // The portal's options (hookd serve's --portal-frame-origins).
  virtual api::portal_options portal_options() { return {}; }

  void start(api::server_options options = {}) {
    engine_ = std::move(engine::engine::open(engine_options()).value());
    engine_->start();
    tokens_ = std::make_unique<api::token_store>(
        api::token_store::load("acme:tok_acme,beta:tok_beta,@operator:tok_ops", std::nullopt)
            .value());
    portal_ = std::make_unique<api::portal_sessions>([this] { return engine_->now_ms(); },
                                                     portal_options());
    router_ = std::make_unique<api::router>(*engine_, *tokens_, *portal_);
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
    if (engine_) engine_->stop();
    engine_.reset();
  }

  // How many webhooks an account has stored.
  std::size_t stored_webhooks(const std::string& account = "acme") {
    return engine_->webhooks().list(account, 0, engine::k_max_page_size).value().webhooks.size();
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
  std::unique_ptr<engine::engine> engine_;
  std::unique_ptr<api::token_store> tokens_;
  std::unique_ptr<api::portal_sessions> portal_;
  std::unique_ptr<api::router> router_;
  std::unique_ptr<api::server> server_;
};

}  // namespace hookd::test
