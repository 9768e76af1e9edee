// The real engine on a temporary RocksDB folder, delivering to local receivers on
// port 0. Private targets are allowed (receivers are on loopback) unless a test
// says otherwise.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "hookd/engine/engine.hpp"
#include "tests/support/receiver.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::test {

class engine_fixture : public ::testing::Test {
 protected:
  void TearDown() override {
    if (engine_) engine_->stop();
  }

  virtual engine::engine_options options() {
    engine::engine_options o;
    o.data_dir = dir_ / "db";
    o.threads = 2;
    o.http.allow_private_targets = true;
    o.http.connect_timeout = std::chrono::seconds(5);
    o.http.attempt_timeout = std::chrono::seconds(10);
    o.retry_schedule = {std::chrono::milliseconds(20)};
    o.retry_jitter = 0;
    return o;
  }

  void open(engine::engine_options o) {
    engine_ = std::move(engine::engine::open(std::move(o)).value());
    engine_->start();
  }
  void open() { open(options()); }

  // Stops the engine: in-flight attempts finish and every outcome is written.
  void settle() { engine_->stop(std::chrono::seconds(10)); }

  std::uint64_t create_webhook(const std::string& url, const std::string& method = "POST",
                               const std::string& account = "acme",
                               const std::string& type = "customer_created", bool active = true) {
    const std::string body = R"({"webhook": {"name": "test", "active": )" +
                             std::string(active ? "true" : "false") + R"(, "settings": {")" + type +
                             R"(": "true"}, "url": ")" + url + R"(", "http_method": ")" + method +
                             R"("}})";
    auto created = engine_->webhooks().create(account, body);
    EXPECT_TRUE(created) << (created ? "" : created.error().message);
    return created ? created->id : 0;
  }

  std::string secret_of(std::uint64_t id, const std::string& account = "acme") {
    return engine_->webhooks().get(account, id).value().secret;
  }

  engine::publish_result publish(const std::string& payload = R"({"customer": {"id": 42}})",
                                 const std::string& type = "customer_created",
                                 const std::string& account = "acme",
                                 std::optional<std::string> id = std::nullopt) {
    std::optional<std::string_view> event_id;
    if (id) event_id = *id;
    auto r = engine_->publish(account, type, payload, event_id);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : engine::publish_result{};
  }

  temp_dir dir_;
  std::unique_ptr<engine::engine> engine_;
};

// HMAC-SHA256 signature check written independently of engine/signer.cpp, the way a
// receiver following the Standard Webhooks spec does it.
bool verify_standard_webhooks_signature(const std::string& secret, const std::string& id,
                                        const std::string& timestamp, const std::string& content,
                                        const std::string& signature_header);

}  // namespace hookd::test
