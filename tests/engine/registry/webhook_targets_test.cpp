// What a delivery needs of its webhook (engine/registry/webhook_targets.hpp): the
// prepared target read from the registry on first use, kept, dropped on a change,
// and bounded in number.
#include "engine/registry/webhook_targets.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "engine/encoding.hpp"
#include "tests/support/memory_registry.hpp"

namespace hookd::engine {
namespace {

// 24 bytes 0x00..0x17, base64.
constexpr std::string_view k_secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";

class WebhookTargets : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.watch([this](const registry_change& c) { targets_.forget(c.id); });
  }

  std::uint64_t create(std::string url = "https://example.com/hooks", std::string method = "POST",
                       bool active = true) {
    webhook_record w;
    w.account = "acme";
    w.name = "hook";
    w.active = active;
    w.events = {"a.b"};
    w.url = std::move(url);
    w.http_method = std::move(method);
    w.secret = std::string(k_secret);
    auto r = registry_.create(w);
    EXPECT_TRUE(r);
    return r->id;
  }

  std::shared_ptr<const webhook_target> find(std::uint64_t id) {
    auto t = targets_.find(id);
    EXPECT_TRUE(t) << t.error().message();
    return t ? *t : nullptr;
  }

  test::memory_registry registry_;
  webhook_targets targets_{registry_, 0.0, 128};
};

TEST_F(WebhookTargets, FindsActiveAndInactiveWebhooks) {
  const auto on = create();
  const auto off = create("https://example.com/off", "POST", false);
  const auto a = find(on);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->id, on);
  EXPECT_EQ(a->account, "acme");
  EXPECT_EQ(a->url, "https://example.com/hooks");
  EXPECT_TRUE(a->active);
  const auto b = find(off);
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->active);
}

TEST_F(WebhookTargets, UnknownOrDeletedWebhookIsNull) {
  EXPECT_EQ(find(42), nullptr);
  const auto id = create();
  ASSERT_NE(find(id), nullptr);
  ASSERT_TRUE(registry_.remove(id));
  EXPECT_EQ(find(id), nullptr);
}

TEST_F(WebhookTargets, KeepsATargetUntilItsWebhookChanges) {
  const auto id = create();
  const auto first = find(id);
  EXPECT_EQ(find(id), first);  // the same prepared object: read once
  EXPECT_EQ(targets_.cached(), 1u);
  ASSERT_TRUE(registry_.update(id, [](webhook_record& w) {
    w.url = "https://example.com/moved";
    return boost::system::error_code();
  }));
  const auto second = find(id);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second, first);
  EXPECT_EQ(second->url, "https://example.com/moved");
  EXPECT_EQ(first->url, "https://example.com/hooks");  // holders keep what they read
}

TEST_F(WebhookTargets, HoldsNoMoreThanItsCapacity) {
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back(create("https://example.com/" + std::to_string(i)));
  for (const auto id : ids) {
    const auto t = find(id);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->id, id);
  }
  EXPECT_LE(targets_.cached(), 128u);
  EXPECT_GT(targets_.cached(), 0u);
  // Dropped ones are read again when needed.
  EXPECT_EQ(find(ids.front())->url, "https://example.com/0");
}

TEST_F(WebhookTargets, BodyMethodIsFalseOnlyForGetAndDelete) {
  EXPECT_TRUE(find(create("https://e.com/", "POST"))->body_method);
  EXPECT_TRUE(find(create("https://e.com/", "PUT"))->body_method);
  EXPECT_TRUE(find(create("https://e.com/", "PATCH"))->body_method);
  const auto get = find(create("https://e.com/", "GET"));
  EXPECT_FALSE(get->body_method);
  EXPECT_EQ(get->http_method, "GET");
  EXPECT_FALSE(find(create("https://e.com/", "DELETE"))->body_method);
}

TEST_F(WebhookTargets, SigningKeyIsBase64DecodedSecret) {
  std::string expected;
  for (int i = 0; i < 24; ++i) expected.push_back(static_cast<char>(i));
  const auto t = find(create());
  EXPECT_EQ(t->signing_key, expected);
  EXPECT_EQ(t->signing_key, base64_decode(k_secret.substr(6)).value());
}

TEST_F(WebhookTargets, TargetCarriesItsUrlParsedOnce) {
  const auto t = find(create("HTTPS://Example.com:8443/hooks/in?x=1"));
  EXPECT_EQ(t->url, "HTTPS://Example.com:8443/hooks/in?x=1");  // as stored
  EXPECT_TRUE(t->endpoint.https);
  EXPECT_EQ(t->endpoint.origin, "https://example.com:8443");
  EXPECT_EQ(t->endpoint.target, "/hooks/in?x=1");
  EXPECT_TRUE(t->endpoint.undeliverable.empty());
}

TEST_F(WebhookTargets, WebhooksWithTheSameOriginShareIt) {
  EXPECT_EQ(find(create("https://example.com/a"))->endpoint.origin,
            find(create("https://EXAMPLE.com:443/b"))->endpoint.origin);
}

TEST_F(WebhookTargets, StoredUrlsTheCurrentRulesRefuseStillBuild) {
  // Saved before today's rules: the first is still delivered (without its user-info
  // and fragment), the second cannot be and says why.
  const auto lenient = find(create("https://user@example.com/in#part"));
  EXPECT_TRUE(lenient->endpoint.undeliverable.empty());
  EXPECT_EQ(lenient->endpoint.target, "/in");
  const auto broken = find(create("https://example.com:0/in"));
  EXPECT_NE(broken->endpoint.undeliverable.find("must have a port from 1 to 65535"),
            std::string::npos)
      << broken->endpoint.undeliverable;
  EXPECT_EQ(broken->url, "https://example.com:0/in");
}

TEST_F(WebhookTargets, OwnRetryScheduleBecomesThePolicy) {
  const auto id = create();
  EXPECT_EQ(find(id)->policy, nullptr);
  ASSERT_TRUE(registry_.update(id, [](webhook_record& w) {
    w.retry_schedule = "1m,1h";
    return boost::system::error_code();
  }));
  const auto t = find(id);
  ASSERT_NE(t->policy, nullptr);
  EXPECT_EQ(t->policy->schedule().size(), 2u);
}

}  // namespace
}  // namespace hookd::engine
