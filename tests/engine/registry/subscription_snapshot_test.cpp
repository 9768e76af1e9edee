// The in-memory subscription index (engine/subscription_snapshot.hpp): which
// webhooks an event of an account and type goes to, and the prepared targets.
#include "engine/registry/subscription_snapshot.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "engine/encoding.hpp"
#include "store/webhook_record.hpp"

namespace hookd::engine {
namespace {

// 24 bytes 0x00..0x17, base64.
constexpr std::string_view k_secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";

store::webhook_record webhook(std::uint64_t id, std::string account,
                              std::vector<std::string> events, bool active = true,
                              std::string method = "POST") {
  store::webhook_record w;
  w.id = id;
  w.account = std::move(account);
  w.name = "hook " + std::to_string(id);
  w.active = active;
  w.events = std::move(events);
  w.url = "https://example.com/hooks/" + std::to_string(id);
  w.http_method = std::move(method);
  w.secret = std::string(k_secret);
  return w;
}

std::vector<std::uint64_t> ids_of(std::span<const std::shared_ptr<const webhook_target>> targets) {
  std::vector<std::uint64_t> ids;
  for (const auto& t : targets) ids.push_back(t->id);
  return ids;
}

using ids = std::vector<std::uint64_t>;

// Two accounts with overlapping event types, one inactive webhook each, given out of
// id order.
std::shared_ptr<const subscription_snapshot> sample() {
  return subscription_snapshot::build({
      webhook(7, "acme", {"customer.created", "customer.deleted"}),
      webhook(2, "acme", {"customer.created"}),
      webhook(5, "acme", {"customer.created", "order.paid"}, /*active=*/false),
      webhook(3, "globex", {"customer.created"}),
      webhook(4, "acme", {"order.paid"}),
      webhook(11, "acme", {"customer.created"}),
      webhook(9, "globex", {"customer.deleted"}, /*active=*/false),
  });
}

TEST(SubscriptionSnapshot, MatchReturnsActiveSubscribersOfAccountAndTypeInIdOrder) {
  const auto snap = sample();
  EXPECT_EQ(ids_of(snap->match("acme", "customer.created")), (ids{2, 7, 11}));
  EXPECT_EQ(ids_of(snap->match("acme", "order.paid")), (ids{4}));
  EXPECT_EQ(ids_of(snap->match("acme", "customer.deleted")), (ids{7}));
}

TEST(SubscriptionSnapshot, MatchExcludesInactiveWebhooks) {
  const auto snap = sample();
  for (const auto& t : snap->match("acme", "order.paid")) EXPECT_NE(t->id, 5u);
  EXPECT_TRUE(snap->match("globex", "customer.deleted").empty());
}

TEST(SubscriptionSnapshot, MatchDoesNotLeakOtherAccountsWebhooks) {
  const auto snap = sample();
  EXPECT_EQ(ids_of(snap->match("globex", "customer.created")), (ids{3}));
  for (const auto& t : snap->match("acme", "customer.created")) EXPECT_EQ(t->account, "acme");
  EXPECT_TRUE(snap->match("initech", "customer.created").empty());
  // The key joins account and type: neither may bleed into the other.
  EXPECT_TRUE(snap->match("acmecustomer.created", "").empty());
  EXPECT_TRUE(snap->match("", "acme").empty());
  EXPECT_TRUE(snap->match("acm", "ecustomer.created").empty());
}

TEST(SubscriptionSnapshot, MatchReturnsNothingForUnsubscribedType) {
  const auto snap = sample();
  EXPECT_TRUE(snap->match("acme", "invoice.sent").empty());
  EXPECT_TRUE(snap->match("acme", "customer").empty());
  EXPECT_TRUE(snap->match("acme", "").empty());
}

TEST(SubscriptionSnapshot, MatchHandlesAccountAndTypeLongerThanStackBuffer) {
  const std::string account(150, 'a');
  const std::string type = "customer." + std::string(100, 'c');
  const auto snap = subscription_snapshot::build(
      {webhook(1, account, {type}), webhook(2, account, {"customer.created"})});
  EXPECT_EQ(ids_of(snap->match(account, type)), (ids{1}));
  EXPECT_EQ(ids_of(snap->match(account, "customer.created")), (ids{2}));
  EXPECT_TRUE(snap->match(account, type + "x").empty());
}

TEST(SubscriptionSnapshot, FindReturnsActiveAndInactiveWebhooks) {
  const auto snap = sample();
  EXPECT_EQ(snap->size(), 7u);
  const auto active = snap->find(7);
  ASSERT_NE(active, nullptr);
  EXPECT_EQ(active->id, 7u);
  EXPECT_EQ(active->account, "acme");
  EXPECT_EQ(active->url, "https://example.com/hooks/7");
  EXPECT_TRUE(active->active);
  const auto inactive = snap->find(5);
  ASSERT_NE(inactive, nullptr);
  EXPECT_EQ(inactive->id, 5u);
  EXPECT_FALSE(inactive->active);
}

TEST(SubscriptionSnapshot, FindReturnsNullForUnknownId) {
  const auto snap = sample();
  EXPECT_EQ(snap->find(0), nullptr);
  EXPECT_EQ(snap->find(6), nullptr);
  EXPECT_EQ(snap->find(UINT64_MAX), nullptr);
  EXPECT_EQ(subscription_snapshot::build({})->find(1), nullptr);
}

TEST(SubscriptionSnapshot, MatchAndFindShareTheSameTarget) {
  const auto snap = sample();
  const auto matched = snap->match("acme", "order.paid");
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(matched[0], snap->find(4));
}

TEST(SubscriptionSnapshot, BodyMethodIsFalseOnlyForGetAndDelete) {
  const auto snap = subscription_snapshot::build({
      webhook(1, "acme", {"a.b"}, true, "POST"),
      webhook(2, "acme", {"a.b"}, true, "PUT"),
      webhook(3, "acme", {"a.b"}, true, "PATCH"),
      webhook(4, "acme", {"a.b"}, true, "GET"),
      webhook(5, "acme", {"a.b"}, true, "DELETE"),
  });
  EXPECT_TRUE(snap->find(1)->body_method);
  EXPECT_TRUE(snap->find(2)->body_method);
  EXPECT_TRUE(snap->find(3)->body_method);
  EXPECT_FALSE(snap->find(4)->body_method);
  EXPECT_FALSE(snap->find(5)->body_method);
  EXPECT_EQ(snap->find(4)->http_method, "GET");
  EXPECT_EQ(snap->find(5)->http_method, "DELETE");
}

TEST(SubscriptionSnapshot, SigningKeyIsBase64DecodedSecret) {
  const auto snap = sample();
  std::string expected;
  for (int i = 0; i < 24; ++i) expected.push_back(static_cast<char>(i));
  EXPECT_EQ(snap->find(7)->signing_key, expected);
  EXPECT_EQ(snap->find(7)->signing_key, base64_decode(k_secret.substr(6)).value());
}

TEST(SubscriptionSnapshot, TargetCarriesItsUrlParsedOnce) {
  auto w = webhook(1, "acme", {"a.b"});
  w.url = "HTTPS://Example.com:8443/hooks/in?x=1";
  const auto snap = subscription_snapshot::build({w});
  const auto& t = *snap->find(1);
  EXPECT_EQ(t.url, "HTTPS://Example.com:8443/hooks/in?x=1");  // as stored
  EXPECT_TRUE(t.endpoint.https);
  EXPECT_EQ(t.endpoint.origin, "https://example.com:8443");
  EXPECT_EQ(t.endpoint.target, "/hooks/in?x=1");
  EXPECT_TRUE(t.endpoint.undeliverable.empty());
}

TEST(SubscriptionSnapshot, WebhooksWithTheSameOriginShareIt) {
  auto a = webhook(1, "acme", {"a.b"});
  auto b = webhook(2, "acme", {"a.b"});
  a.url = "https://example.com/a";
  b.url = "https://EXAMPLE.com:443/b";
  const auto snap = subscription_snapshot::build({a, b});
  EXPECT_EQ(snap->find(1)->endpoint.origin, snap->find(2)->endpoint.origin);
}

TEST(SubscriptionSnapshot, StoredUrlsTheCurrentRulesRefuseStillBuild) {
  // Saved before today's rules: the first is still delivered (without its user-info
  // and fragment), the second cannot be and says why; both stay matched.
  auto lenient = webhook(1, "acme", {"a.b"});
  lenient.url = "https://user@example.com/in#part";
  auto broken = webhook(2, "acme", {"a.b"});
  broken.url = "https://example.com:0/in";
  const auto snap = subscription_snapshot::build({lenient, broken});
  EXPECT_EQ(ids_of(snap->match("acme", "a.b")), (ids{1, 2}));
  EXPECT_TRUE(snap->find(1)->endpoint.undeliverable.empty());
  EXPECT_EQ(snap->find(1)->endpoint.target, "/in");
  EXPECT_NE(snap->find(2)->endpoint.undeliverable.find("must have a port from 1 to 65535"),
            std::string::npos)
      << snap->find(2)->endpoint.undeliverable;
  EXPECT_EQ(snap->find(2)->url, "https://example.com:0/in");
}

TEST(SubscriptionSnapshot, EmptySnapshotMatchesNothing) {
  const auto snap = subscription_snapshot::build({});
  EXPECT_EQ(snap->size(), 0u);
  EXPECT_TRUE(snap->match("acme", "customer.created").empty());
}

}  // namespace
}  // namespace hookd::engine
