// The in-memory subscription index (engine/registry/subscription_snapshot.hpp): which
// webhooks an event of an account and type goes to, and how a registry change makes
// the next version without disturbing the one publish may be reading.
#include "engine/registry/subscription_snapshot.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "hookd/webhook_record.hpp"

namespace hookd::engine {
namespace {

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
  return w;
}

using subscriber = subscription_snapshot::subscriber;

std::vector<std::uint64_t> ids_of(std::span<const subscriber> matched) {
  std::vector<std::uint64_t> ids;
  for (const auto& t : matched) ids.push_back(t.id);
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
  for (const auto& t : snap->match("acme", "order.paid")) EXPECT_NE(t.id, 5u);
  EXPECT_TRUE(snap->match("globex", "customer.deleted").empty());
}

TEST(SubscriptionSnapshot, MatchDoesNotLeakOtherAccountsWebhooks) {
  const auto snap = sample();
  EXPECT_EQ(ids_of(snap->match("globex", "customer.created")), (ids{3}));
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

TEST(SubscriptionSnapshot, BodyMethodIsFalseOnlyForGetAndDelete) {
  const auto snap = subscription_snapshot::build({
      webhook(1, "acme", {"a.b"}, true, "POST"),
      webhook(2, "acme", {"a.b"}, true, "PUT"),
      webhook(3, "acme", {"a.b"}, true, "PATCH"),
      webhook(4, "acme", {"a.b"}, true, "GET"),
      webhook(5, "acme", {"a.b"}, true, "DELETE"),
  });
  const auto matched = snap->match("acme", "a.b");
  ASSERT_EQ(matched.size(), 5u);
  EXPECT_TRUE(matched[0].body_method);
  EXPECT_TRUE(matched[1].body_method);
  EXPECT_TRUE(matched[2].body_method);
  EXPECT_FALSE(matched[3].body_method);
  EXPECT_FALSE(matched[4].body_method);
}

TEST(SubscriptionSnapshot, SizeCountsSubscriptionsOfActiveWebhooks) {
  // acme customer.created {2, 7, 11}, customer.deleted {7}, order.paid {4}; globex {3}.
  EXPECT_EQ(sample()->size(), 6u);
}

TEST(SubscriptionSnapshot, ApplyCreatedWebhookAddsItsSubscriptionsInIdOrder) {
  const auto before = sample();
  const auto w = webhook(6, "acme", {"customer.created", "invoice.sent"});
  const auto after = before->apply(nullptr, &w);
  EXPECT_EQ(ids_of(after->match("acme", "customer.created")), (ids{2, 6, 7, 11}));
  EXPECT_EQ(ids_of(after->match("acme", "invoice.sent")), (ids{6}));
  EXPECT_EQ(after->size(), before->size() + 2);
}

TEST(SubscriptionSnapshot, ApplyLeavesThePreviousVersionAsItWas) {
  const auto before = sample();
  const auto held = before->match("acme", "customer.created");
  const auto w = webhook(6, "acme", {"customer.created"});
  const auto after = before->apply(nullptr, &w);
  // A publish still holding the old version reads what it read, unchanged.
  EXPECT_EQ(ids_of(held), (ids{2, 7, 11}));
  EXPECT_EQ(ids_of(before->match("acme", "customer.created")), (ids{2, 7, 11}));
  EXPECT_EQ(ids_of(after->match("acme", "customer.created")), (ids{2, 6, 7, 11}));
}

TEST(SubscriptionSnapshot, ApplyDeletedWebhookRemovesItEverywhere) {
  const auto w7 = webhook(7, "acme", {"customer.created", "customer.deleted"});
  const auto after = sample()->apply(&w7, nullptr);
  EXPECT_EQ(ids_of(after->match("acme", "customer.created")), (ids{2, 11}));
  EXPECT_TRUE(after->match("acme", "customer.deleted").empty());
  EXPECT_EQ(after->size(), 4u);
}

TEST(SubscriptionSnapshot, ApplyDeactivationAndReactivation) {
  const auto on = webhook(4, "acme", {"order.paid"});
  const auto off = webhook(4, "acme", {"order.paid"}, /*active=*/false);
  const auto deactivated = sample()->apply(&on, &off);
  EXPECT_TRUE(deactivated->match("acme", "order.paid").empty());
  const auto reactivated = deactivated->apply(&off, &on);
  EXPECT_EQ(ids_of(reactivated->match("acme", "order.paid")), (ids{4}));
}

TEST(SubscriptionSnapshot, ApplyChangedEventsAndMethodMovesTheSubscriptions) {
  const auto was = webhook(7, "acme", {"customer.created", "customer.deleted"});
  const auto now = webhook(7, "acme", {"customer.deleted", "order.paid"}, true, "GET");
  const auto after = sample()->apply(&was, &now);
  EXPECT_EQ(ids_of(after->match("acme", "customer.created")), (ids{2, 11}));
  EXPECT_EQ(ids_of(after->match("acme", "order.paid")), (ids{4, 7}));
  const auto deleted = after->match("acme", "customer.deleted");
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_FALSE(deleted[0].body_method);
  EXPECT_EQ(after->size(), 6u);
}

TEST(SubscriptionSnapshot, ApplyIsIdempotentForARepeatedChange) {
  const auto w = webhook(6, "acme", {"customer.created"});
  const auto once = sample()->apply(nullptr, &w);
  const auto twice = once->apply(nullptr, &w);
  EXPECT_EQ(ids_of(twice->match("acme", "customer.created")), (ids{2, 6, 7, 11}));
  EXPECT_EQ(twice->size(), once->size());
  const auto gone = twice->apply(&w, nullptr)->apply(&w, nullptr);
  EXPECT_EQ(ids_of(gone->match("acme", "customer.created")), (ids{2, 7, 11}));
}

TEST(SubscriptionSnapshot, ManyChangesMatchWhatABuildFromTheResultGives) {
  // Enough keys to fill many leaves of the trie; every other webhook deleted again.
  auto snap = subscription_snapshot::empty();
  std::vector<store::webhook_record> kept;
  for (std::uint64_t id = 1; id <= 3000; ++id) {
    const auto w = webhook(id, "account-" + std::to_string(id % 97),
                           {"type." + std::to_string(id % 13), "type.all"});
    snap = snap->apply(nullptr, &w);
    if (id % 2 == 0) {
      snap = snap->apply(&w, nullptr);
    } else {
      kept.push_back(w);
    }
  }
  const auto built = subscription_snapshot::build(kept);
  EXPECT_EQ(snap->size(), built->size());
  EXPECT_EQ(snap->size(), 3000u);
  for (int a = 0; a < 97; ++a) {
    const std::string account = "account-" + std::to_string(a);
    for (int t = 0; t < 13; ++t) {
      const std::string type = "type." + std::to_string(t);
      EXPECT_EQ(ids_of(snap->match(account, type)), ids_of(built->match(account, type)));
    }
    EXPECT_EQ(ids_of(snap->match(account, "type.all")), ids_of(built->match(account, "type.all")));
  }
}

TEST(SubscriptionSnapshot, BuilderAddsSubscriptionsGivenInAnyOrder) {
  subscription_snapshot::builder b;
  b.add("acme", "a.b", {9, true});
  b.add("globex", "a.b", {4, false});
  b.add("acme", "a.b", {3, true});
  const auto snap = b.finish();
  EXPECT_EQ(ids_of(snap->match("acme", "a.b")), (ids{3, 9}));
  ASSERT_EQ(snap->match("globex", "a.b").size(), 1u);
  EXPECT_FALSE(snap->match("globex", "a.b")[0].body_method);
  EXPECT_EQ(snap->size(), 3u);
}

TEST(SubscriptionSnapshot, EmptySnapshotMatchesNothing) {
  const auto snap = subscription_snapshot::empty();
  EXPECT_EQ(snap->size(), 0u);
  EXPECT_TRUE(snap->match("acme", "customer.created").empty());
}

}  // namespace
}  // namespace hookd::engine
