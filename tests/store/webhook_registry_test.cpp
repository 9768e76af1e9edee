// Tests of the RocksDB webhook registry: records, the per-account index and the
// subscription index, checked through the public API and, where the contract is
// about what is stored, through the raw column families.
#include "store/webhook_registry.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <latch>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include "hookd/errc.hpp"
#include "hookd/webhook_record.hpp"
#include "store/database.hpp"
#include "store/database_impl.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using hookd::errc;
using hookd::store::database;
using hookd::store::webhook_page;
using hookd::store::webhook_record;
using hookd::store::webhook_registry;

using column_family = rocksdb::ColumnFamilyHandle* database::impl::*;
using raw_entries = std::vector<std::pair<std::string, std::string>>;
using id_list = std::vector<std::uint64_t>;
using names = std::vector<std::string>;

// Index keys as documented in store/database_impl.hpp, built here independently of
// store/key_codec.hpp: text parts each followed by 0x00, then the id in big-endian.
std::string index_key(std::initializer_list<std::string_view> parts, std::uint64_t id) {
  std::string k;
  for (auto part : parts) {
    k.append(part);
    k.push_back('\0');
  }
  for (int shift = 56; shift >= 0; shift -= 8) {
    k.push_back(static_cast<char>((id >> shift) & 0xff));
  }
  return k;
}

std::string subscription_key(std::string_view account, std::string_view type, std::uint64_t id) {
  return index_key({account, type}, id);
}

std::string account_key(std::string_view account, std::uint64_t id) {
  return index_key({account}, id);
}

// Expected raw contents of an index column family: the keys, in bytewise order,
// each with an empty value.
raw_entries empty_valued(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  raw_entries out;
  for (auto& k : keys) out.emplace_back(std::move(k), std::string());
  return out;
}

// Expected raw contents of the subscription index: keys of webhooks whose method
// carries a body ("b"; "q" for GET and DELETE).
raw_entries body_valued(std::vector<std::string> keys, std::string value = "b") {
  auto out = empty_valued(std::move(keys));
  for (auto& e : out) e.second = value;
  return out;
}

webhook_record sample(std::string account = "acme",
                      std::vector<std::string> events = {"customer_created"}, bool active = true) {
  webhook_record r;
  r.account = std::move(account);
  r.name = "orders hook";
  r.active = active;
  r.events = std::move(events);
  r.url = "https://example.com/hooks?x=1";
  r.http_method = "POST";
  r.secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";
  r.created_at_ms = 1'700'000'000'123;
  r.updated_at_ms = 1'700'000'000'456;
  return r;
}

boost::system::error_code no_error() { return {}; }

class WebhookRegistry : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(reopen()); }

  // Closes the registry and the database, then opens both again on the same files,
  // as a restart of the process would.
  void reopen() {
    registry_.reset();
    db_.reset();
    auto db = database::open({.path = dir_ / "db"});
    ASSERT_TRUE(db.has_value()) << db.error().message;
    db_ = std::move(*db);
    auto registry = webhook_registry::open(*db_);
    ASSERT_TRUE(registry.has_value()) << registry.error().message();
    registry_ = std::move(*registry);
  }

  // Every key and value of one column family, in key order.
  raw_entries raw(column_family family) {
    auto& d = db_->internals();
    raw_entries out;
    std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.*family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }

  raw_entries raw_subscriptions() { return raw(&database::impl::subscriptions); }
  raw_entries raw_account_index() { return raw(&database::impl::account_webhooks); }
  raw_entries raw_webhooks() { return raw(&database::impl::webhooks); }

  std::vector<std::uint64_t> subscribers(std::string_view account, std::string_view type) {
    return registry_->subscribers(account, type).value();
  }

  std::vector<std::uint64_t> ids_of(const webhook_page& page) {
    std::vector<std::uint64_t> ids;
    for (const auto& w : page.webhooks) ids.push_back(w.id);
    return ids;
  }

  hookd::test::temp_dir dir_;
  std::unique_ptr<database> db_;
  std::unique_ptr<webhook_registry> registry_;
};

TEST_F(WebhookRegistry, CreateAssignsSequentialIdsStartingAtOne) {
  EXPECT_EQ(registry_->next_id(), 1u);
  EXPECT_EQ(registry_->create(sample()).value().id, 1u);
  EXPECT_EQ(registry_->create(sample("beta")).value().id, 2u);
  EXPECT_EQ(registry_->create(sample("acme", {}, false)).value().id, 3u);
  EXPECT_EQ(registry_->next_id(), 4u);
}

TEST_F(WebhookRegistry, CreateIgnoresIdSetByCaller) {
  webhook_record r = sample();
  r.id = 42;
  EXPECT_EQ(registry_->create(r).value().id, 1u);
  EXPECT_EQ(registry_->get(42).error(), errc::not_found);
}

TEST_F(WebhookRegistry, GetReturnsExactlyWhatWasStored) {
  webhook_record input = sample("acme", {"tag_added_to_message", "customer_created",
                                         "tag_added_to_message", "outbound_message"});
  input.disabled_reason = "410 Gone from https://example.com/hooks";
  const webhook_record created = registry_->create(input).value();

  webhook_record expected = input;
  expected.id = 1;
  expected.events = {"customer_created", "outbound_message", "tag_added_to_message"};
  EXPECT_EQ(created, expected);

  auto got = registry_->get(1);
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(got->id, 1u);
  EXPECT_EQ(got->account, "acme");
  EXPECT_EQ(got->name, "orders hook");
  EXPECT_TRUE(got->active);
  EXPECT_EQ(got->events, (names{"customer_created", "outbound_message", "tag_added_to_message"}));
  EXPECT_EQ(got->url, "https://example.com/hooks?x=1");
  EXPECT_EQ(got->http_method, "POST");
  EXPECT_EQ(got->secret, "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0");
  EXPECT_EQ(got->created_at_ms, 1'700'000'000'123);
  EXPECT_EQ(got->updated_at_ms, 1'700'000'000'456);
  EXPECT_EQ(got->disabled_reason, "410 Gone from https://example.com/hooks");
  EXPECT_EQ(*got, expected);
}

TEST_F(WebhookRegistry, GetOfUnknownIdIsNotFound) {
  (void)registry_->create(sample()).value();
  auto got = registry_->get(2);
  ASSERT_TRUE(got.has_error());
  EXPECT_EQ(got.error(), errc::not_found);
}

TEST_F(WebhookRegistry, CreateActiveWritesOneSubscriptionKeyPerEvent) {
  (void)registry_
      ->create(sample("acme", {"outbound_message", "customer_created", "outbound_message"}))
      .value();

  EXPECT_EQ(raw_subscriptions(), body_valued({subscription_key("acme", "customer_created", 1),
                                              subscription_key("acme", "outbound_message", 1)}));
  EXPECT_EQ(raw_account_index(), empty_valued({account_key("acme", 1)}));
  ASSERT_EQ(raw_webhooks().size(), 1u);
  EXPECT_EQ(raw_webhooks()[0].first, index_key({}, 1));
}

TEST_F(WebhookRegistry, CreateInactiveWritesNoSubscriptionKeys) {
  (void)registry_->create(sample("acme", {"outbound_message", "customer_created"}, false)).value();

  EXPECT_TRUE(raw_subscriptions().empty());
  // Inactive webhooks are still listed.
  EXPECT_EQ(raw_account_index(), empty_valued({account_key("acme", 1)}));
  EXPECT_TRUE(subscribers("acme", "customer_created").empty());
}

TEST_F(WebhookRegistry, DeactivateRemovesSubscriptionKeys) {
  (void)registry_->create(sample("acme", {"customer_created", "outbound_message"})).value();
  (void)registry_->create(sample("acme", {"customer_created"})).value();

  auto updated = registry_->update(1, [](webhook_record& r) {
    r.active = false;
    return no_error();
  });
  ASSERT_TRUE(updated.has_value()) << updated.error().message();
  EXPECT_FALSE(updated->active);

  EXPECT_EQ(raw_subscriptions(), body_valued({subscription_key("acme", "customer_created", 2)}));
  EXPECT_EQ(raw_account_index(), empty_valued({account_key("acme", 1), account_key("acme", 2)}));
  EXPECT_FALSE(registry_->get(1).value().active);
  // The subscriptions themselves are kept on the record for a later reactivation.
  EXPECT_EQ(registry_->get(1).value().events, (names{"customer_created", "outbound_message"}));
}

TEST_F(WebhookRegistry, UnsettingOneEventRemovesOnlyThatSubscriptionKey) {
  (void)registry_->create(sample("acme", {"customer_created", "outbound_message"})).value();
  (void)registry_->create(sample("acme", {"outbound_message"})).value();

  auto updated = registry_->update(1, [](webhook_record& r) {
    r.events = {"customer_created"};
    return no_error();
  });
  ASSERT_TRUE(updated.has_value()) << updated.error().message();

  EXPECT_EQ(raw_subscriptions(), body_valued({subscription_key("acme", "customer_created", 1),
                                              subscription_key("acme", "outbound_message", 2)}));
  EXPECT_EQ(subscribers("acme", "outbound_message"), (id_list{2u}));
  EXPECT_EQ(subscribers("acme", "customer_created"), (id_list{1u}));
}

TEST_F(WebhookRegistry, AddingAnEventWritesItsSubscriptionKey) {
  (void)registry_->create(sample("acme", {"customer_created"})).value();

  auto updated = registry_->update(1, [](webhook_record& r) {
    r.events.push_back("user_assignment");
    r.events.push_back("customer_created");
    return no_error();
  });
  ASSERT_TRUE(updated.has_value()) << updated.error().message();
  EXPECT_EQ(updated->events, (names{"customer_created", "user_assignment"}));

  EXPECT_EQ(raw_subscriptions(), body_valued({subscription_key("acme", "customer_created", 1),
                                              subscription_key("acme", "user_assignment", 1)}));
}

TEST_F(WebhookRegistry, ReactivationRestoresSubscriptionKeys) {
  (void)registry_->create(sample("acme", {"customer_created", "outbound_message"})).value();
  const raw_entries active_keys = raw_subscriptions();
  ASSERT_EQ(active_keys.size(), 2u);

  ASSERT_TRUE(registry_
                  ->update(1,
                           [](webhook_record& r) {
                             r.active = false;
                             r.disabled_reason = "receiver answered 410";
                             return no_error();
                           })
                  .has_value());
  ASSERT_TRUE(raw_subscriptions().empty());

  auto reactivated = registry_->update(1, [](webhook_record& r) {
    r.active = true;
    r.disabled_reason.clear();
    return no_error();
  });
  ASSERT_TRUE(reactivated.has_value()) << reactivated.error().message();
  EXPECT_EQ(raw_subscriptions(), active_keys);
  EXPECT_EQ(subscribers("acme", "outbound_message"), (id_list{1u}));
  EXPECT_TRUE(registry_->get(1).value().disabled_reason.empty());
}

TEST_F(WebhookRegistry, UpdateWhoseChangeFailsWritesNothing) {
  const webhook_record original =
      registry_->create(sample("acme", {"customer_created", "outbound_message"})).value();
  const raw_entries webhooks_before = raw_webhooks();
  const raw_entries index_before = raw_account_index();
  const raw_entries subscriptions_before = raw_subscriptions();

  auto updated = registry_->update(1, [](webhook_record& r) {
    r.name = "changed";
    r.active = false;
    r.events = {"user_assignment"};
    r.url = "https://changed.example.com/";
    return boost::system::error_code(errc::invalid_argument);
  });
  ASSERT_TRUE(updated.has_error());
  EXPECT_EQ(updated.error(), errc::invalid_argument);

  EXPECT_EQ(registry_->get(1).value(), original);
  EXPECT_EQ(raw_webhooks(), webhooks_before);
  EXPECT_EQ(raw_account_index(), index_before);
  EXPECT_EQ(raw_subscriptions(), subscriptions_before);
}

TEST_F(WebhookRegistry, UpdateCannotChangeIdAccountOrCreatedAt) {
  const webhook_record original = registry_->create(sample("acme", {"customer_created"})).value();

  auto updated = registry_->update(1, [](webhook_record& r) {
    r.id = 99;
    r.account = "intruder";
    r.created_at_ms = 5;
    r.name = "renamed";
    r.updated_at_ms = 1'800'000'000'000;
    return no_error();
  });
  ASSERT_TRUE(updated.has_value()) << updated.error().message();
  EXPECT_EQ(updated->id, 1u);
  EXPECT_EQ(updated->account, "acme");
  EXPECT_EQ(updated->created_at_ms, original.created_at_ms);
  EXPECT_EQ(updated->name, "renamed");
  EXPECT_EQ(updated->updated_at_ms, 1'800'000'000'000);

  EXPECT_EQ(registry_->get(1).value(), *updated);
  EXPECT_EQ(registry_->get(99).error(), errc::not_found);
  EXPECT_TRUE(registry_->list("intruder", 0, 10).value().webhooks.empty());
  EXPECT_EQ(raw_account_index(), empty_valued({account_key("acme", 1)}));
  EXPECT_EQ(raw_subscriptions(), body_valued({subscription_key("acme", "customer_created", 1)}));
}

TEST_F(WebhookRegistry, UpdateOfUnknownIdIsNotFoundAndDoesNotCallChange) {
  bool called = false;
  auto updated = registry_->update(7, [&](webhook_record&) {
    called = true;
    return no_error();
  });
  ASSERT_TRUE(updated.has_error());
  EXPECT_EQ(updated.error(), errc::not_found);
  EXPECT_FALSE(called);
  EXPECT_TRUE(raw_webhooks().empty());
}

TEST_F(WebhookRegistry, RemoveDeletesRecordAccountIndexAndSubscriptionKeys) {
  (void)registry_->create(sample("acme", {"customer_created", "outbound_message"})).value();
  const webhook_record kept = registry_->create(sample("acme", {"customer_created"})).value();

  auto removed = registry_->remove(1);
  ASSERT_FALSE(removed.has_error()) << removed.error().message();
  EXPECT_EQ(removed->id, 1u);  // what it was, for the change feed
  EXPECT_EQ(removed->events, (std::vector<std::string>{"customer_created", "outbound_message"}));

  EXPECT_EQ(registry_->get(1).error(), errc::not_found);
  EXPECT_EQ(registry_->get(2).value(), kept);
  ASSERT_EQ(raw_webhooks().size(), 1u);
  EXPECT_EQ(raw_webhooks()[0].first, index_key({}, 2));
  EXPECT_EQ(raw_account_index(), empty_valued({account_key("acme", 2)}));
  EXPECT_EQ(raw_subscriptions(), body_valued({subscription_key("acme", "customer_created", 2)}));
}

TEST_F(WebhookRegistry, RemoveOfInactiveWebhookDeletesItsAccountIndexEntry) {
  (void)registry_->create(sample("acme", {"customer_created"}, false)).value();

  ASSERT_FALSE(registry_->remove(1).has_error());
  EXPECT_TRUE(raw_webhooks().empty());
  EXPECT_TRUE(raw_account_index().empty());
  EXPECT_TRUE(raw_subscriptions().empty());
}

TEST_F(WebhookRegistry, SecondRemoveIsNotFound) {
  (void)registry_->create(sample()).value();
  ASSERT_FALSE(registry_->remove(1).has_error());

  auto again = registry_->remove(1);
  ASSERT_TRUE(again.has_error());
  EXPECT_EQ(again.error(), errc::not_found);
}

TEST_F(WebhookRegistry, SubscribersReturnsActiveWebhooksOfAccountAndTypeInIdOrder) {
  (void)registry_->create(sample("acme", {"customer_created"})).value();         // 1
  (void)registry_->create(sample("acme", {"outbound_message"})).value();         // 2
  (void)registry_->create(sample("acme", {"customer_created"}, false)).value();  // 3
  (void)registry_->create(sample("beta", {"customer_created"})).value();         // 4
  (void)registry_
      ->create(sample("acme", {"customer_created", "user_assignment"}))  // 5
      .value();
  (void)registry_->create(sample("acme", {"user_assignment"})).value();   // 6
  (void)registry_->create(sample("acme", {"customer_created"})).value();  // 7

  EXPECT_EQ(subscribers("acme", "customer_created"), (id_list{1u, 5u, 7u}));
  EXPECT_EQ(subscribers("acme", "user_assignment"), (id_list{5u, 6u}));
  EXPECT_EQ(subscribers("acme", "outbound_message"), (id_list{2u}));
  EXPECT_EQ(subscribers("beta", "customer_created"), (id_list{4u}));
  EXPECT_TRUE(subscribers("beta", "outbound_message").empty());
  EXPECT_TRUE(subscribers("gamma", "customer_created").empty());
}

TEST_F(WebhookRegistry, SubscribersDoNotLeakAcrossSharedPrefixes) {
  (void)registry_->create(sample("a", {"x"})).value();     // 1
  (void)registry_->create(sample("ab", {"x"})).value();    // 2
  (void)registry_->create(sample("a", {"x_y"})).value();   // 3
  (void)registry_->create(sample("ab", {"x_y"})).value();  // 4
  (void)registry_->create(sample("a", {"xx"})).value();    // 5

  EXPECT_EQ(subscribers("a", "x"), (id_list{1u}));
  EXPECT_EQ(subscribers("ab", "x"), (id_list{2u}));
  EXPECT_EQ(subscribers("a", "x_y"), (id_list{3u}));
  EXPECT_EQ(subscribers("ab", "x_y"), (id_list{4u}));
  EXPECT_EQ(subscribers("a", "xx"), (id_list{5u}));
  EXPECT_TRUE(subscribers("a", "x_").empty());
  EXPECT_TRUE(subscribers("a", "").empty());
  EXPECT_TRUE(subscribers("", "x").empty());

  EXPECT_EQ(ids_of(registry_->list("a", 0, 10).value()), (id_list{1u, 3u, 5u}));
  EXPECT_EQ(ids_of(registry_->list("ab", 0, 10).value()), (id_list{2u, 4u}));
}

TEST_F(WebhookRegistry, ListPaginatesInIdOrderPerAccount) {
  for (int i = 0; i < 7; ++i) {
    (void)registry_->create(sample(i % 3 == 1 ? "beta" : "acme")).value();
  }
  // acme owns 1, 3, 4, 6, 7; beta owns 2, 5.

  auto first = registry_->list("acme", 0, 2).value();
  EXPECT_EQ(ids_of(first), (id_list{1u, 3u}));
  ASSERT_TRUE(first.next_after.has_value());
  EXPECT_EQ(*first.next_after, 3u);

  auto second = registry_->list("acme", *first.next_after, 2).value();
  EXPECT_EQ(ids_of(second), (id_list{4u, 6u}));
  ASSERT_TRUE(second.next_after.has_value());
  EXPECT_EQ(*second.next_after, 6u);

  auto last = registry_->list("acme", *second.next_after, 2).value();
  EXPECT_EQ(ids_of(last), (id_list{7u}));
  EXPECT_FALSE(last.next_after.has_value());

  auto beta = registry_->list("beta", 0, 10).value();
  EXPECT_EQ(ids_of(beta), (id_list{2u, 5u}));
  EXPECT_FALSE(beta.next_after.has_value());
  EXPECT_EQ(beta.webhooks[0], registry_->get(2).value());
}

TEST_F(WebhookRegistry, ListPageThatEndsExactlyAtLastWebhookHasNoNextAfter) {
  for (int i = 0; i < 4; ++i) (void)registry_->create(sample()).value();

  auto page = registry_->list("acme", 0, 4).value();
  EXPECT_EQ(ids_of(page), (id_list{1u, 2u, 3u, 4u}));
  EXPECT_FALSE(page.next_after.has_value());
}

TEST_F(WebhookRegistry, ListSkipsIdsUpToAfter) {
  for (int i = 0; i < 5; ++i) (void)registry_->create(sample()).value();
  ASSERT_FALSE(registry_->remove(3).has_error());

  EXPECT_EQ(ids_of(registry_->list("acme", 2, 10).value()), (id_list{4u, 5u}));
  // `after` need not be an existing id.
  EXPECT_EQ(ids_of(registry_->list("acme", 3, 10).value()), (id_list{4u, 5u}));
  EXPECT_TRUE(ids_of(registry_->list("acme", 5, 10).value()).empty());
  EXPECT_TRUE(ids_of(registry_->list("acme", 1000, 10).value()).empty());
  EXPECT_TRUE(ids_of(registry_->list("acme", std::numeric_limits<std::uint64_t>::max(), 10).value())
                  .empty());
}

TEST_F(WebhookRegistry, ListWithLimitZeroReturnsEmptyPage) {
  for (int i = 0; i < 3; ++i) (void)registry_->create(sample()).value();

  auto page = registry_->list("acme", 0, 0).value();
  EXPECT_TRUE(page.webhooks.empty());
  EXPECT_FALSE(page.next_after.has_value());
}

TEST_F(WebhookRegistry, ListOfAccountWithoutWebhooksIsEmpty) {
  (void)registry_->create(sample("acme")).value();

  auto page = registry_->list("acm", 0, 10).value();
  EXPECT_TRUE(page.webhooks.empty());
  EXPECT_FALSE(page.next_after.has_value());
}

TEST_F(WebhookRegistry, ReopenKeepsRecordsIndexesSubscriptionsAndNextId) {
  const webhook_record one =
      registry_->create(sample("acme", {"customer_created", "outbound_message"})).value();
  const webhook_record two = registry_->create(sample("beta", {"customer_created"}, false)).value();
  const webhook_record three = registry_->create(sample("acme", {"outbound_message"})).value();
  const raw_entries subscriptions_before = raw_subscriptions();
  const raw_entries index_before = raw_account_index();

  ASSERT_NO_FATAL_FAILURE(reopen());

  EXPECT_EQ(registry_->get(1).value(), one);
  EXPECT_EQ(registry_->get(2).value(), two);
  EXPECT_EQ(registry_->get(3).value(), three);
  EXPECT_EQ(raw_subscriptions(), subscriptions_before);
  EXPECT_EQ(raw_account_index(), index_before);
  EXPECT_EQ(subscribers("acme", "outbound_message"), (id_list{1u, 3u}));
  EXPECT_EQ(ids_of(registry_->list("acme", 0, 10).value()), (id_list{1u, 3u}));
  EXPECT_EQ(registry_->next_id(), 4u);
  EXPECT_EQ(registry_->create(sample()).value().id, 4u);
}

TEST_F(WebhookRegistry, IdsAreNeverReusedAfterRemovingNewestAndReopening) {
  for (int i = 0; i < 3; ++i) (void)registry_->create(sample()).value();
  ASSERT_FALSE(registry_->remove(3).has_error());
  EXPECT_EQ(registry_->create(sample()).value().id, 4u);

  ASSERT_FALSE(registry_->remove(4).has_error());
  ASSERT_NO_FATAL_FAILURE(reopen());

  EXPECT_EQ(registry_->next_id(), 5u);
  EXPECT_EQ(registry_->create(sample()).value().id, 5u);
  EXPECT_EQ(registry_->get(3).error(), errc::not_found);
  EXPECT_EQ(registry_->get(4).error(), errc::not_found);
}

TEST_F(WebhookRegistry, ForEachVisitsAllWebhooksInIdOrder) {
  for (int i = 0; i < 12; ++i) {
    (void)registry_->create(sample(i % 2 == 0 ? "acme" : "beta", {"customer_created"}, i % 3 != 0))
        .value();
  }
  ASSERT_FALSE(registry_->remove(5).has_error());

  std::vector<webhook_record> visited;
  auto walked = registry_->for_each([&](const webhook_record& r) { visited.push_back(r); });
  ASSERT_FALSE(walked.has_error()) << walked.error().message();

  std::vector<std::uint64_t> ids;
  for (const auto& r : visited) {
    ids.push_back(r.id);
    EXPECT_EQ(r, registry_->get(r.id).value());
  }
  EXPECT_EQ(ids, (id_list{1u, 2u, 3u, 4u, 6u, 7u, 8u, 9u, 10u, 11u, 12u}));
}

TEST_F(WebhookRegistry, SubscriptionKeysOfQueryMethodsSayQ) {
  auto get = sample("acme", {"customer_created"});
  get.http_method = "GET";
  (void)registry_->create(get).value();
  EXPECT_EQ(raw_subscriptions(),
            body_valued({subscription_key("acme", "customer_created", 1)}, "q"));
}

TEST_F(WebhookRegistry, UpdateReportsTheRecordAsItWas) {
  (void)registry_->create(sample("acme", {"customer_created"})).value();
  webhook_record before;
  auto after = registry_->update(
      1,
      [](webhook_record& r) {
        r.url = "https://example.com/moved";
        return boost::system::error_code();
      },
      &before);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(before.url, sample().url);
  EXPECT_EQ(after->url, "https://example.com/moved");
}

TEST_F(WebhookRegistry, ForEachSubscriptionVisitsTheIndexInKeyOrderWithTheMethod) {
  (void)registry_->create(sample("beta", {"customer_created"})).value();                      // 1
  (void)registry_->create(sample("acme", {"outbound_message", "customer_created"})).value();  // 2
  auto get = sample("acme", {"customer_created"});
  get.http_method = "DELETE";
  (void)registry_->create(get).value();                                                     // 3
  (void)registry_->create(sample("acme", {"customer_created"}, /*active=*/false)).value();  // 4

  std::vector<std::tuple<std::string, std::string, std::uint64_t, bool>> seen;
  auto walked = registry_->for_each_subscription(
      [&](std::string_view account, std::string_view type, std::uint64_t id, bool body) {
        seen.emplace_back(account, type, id, body);
      });
  ASSERT_FALSE(walked.has_error()) << walked.error().message();
  using row = std::tuple<std::string, std::string, std::uint64_t, bool>;
  EXPECT_EQ(seen, (std::vector<row>{{"acme", "customer_created", 2, true},
                                    {"acme", "customer_created", 3, false},
                                    {"acme", "outbound_message", 2, true},
                                    {"beta", "customer_created", 1, true}}));
}

TEST_F(WebhookRegistry, ForEachSubscriptionReadsTheMethodOfEntriesWrittenWithoutIt) {
  auto get = sample("acme", {"customer_created"});
  get.http_method = "GET";
  (void)registry_->create(get).value();
  (void)registry_->create(sample("acme", {"customer_created"})).value();
  // As an older hookd wrote them: empty values.
  auto& d = db_->internals();
  for (const auto& [key, value] : raw_subscriptions()) {
    ASSERT_TRUE(d.db->Put(rocksdb::WriteOptions(), d.subscriptions, key, "").ok());
  }
  std::vector<std::pair<std::uint64_t, bool>> seen;
  ASSERT_FALSE(registry_
                   ->for_each_subscription([&](std::string_view, std::string_view, std::uint64_t id,
                                               bool body) { seen.emplace_back(id, body); })
                   .has_error());
  EXPECT_EQ(seen, (std::vector<std::pair<std::uint64_t, bool>>{{1, false}, {2, true}}));
}

TEST_F(WebhookRegistry, FailureRunsAreStoredReadBackClearedAndGoWithTheWebhook) {
  (void)registry_->create(sample()).value();  // 1
  (void)registry_->create(sample()).value();  // 2
  ASSERT_TRUE(registry_->set_failing_since(2, 1'800'000'000'000).has_value());
  ASSERT_TRUE(registry_->set_failing_since(1, 1'700'000'000'000).has_value());
  using runs = std::vector<std::pair<std::uint64_t, std::int64_t>>;
  EXPECT_EQ(registry_->failing().value(), (runs{{1, 1'700'000'000'000}, {2, 1'800'000'000'000}}));
  ASSERT_NO_FATAL_FAILURE(reopen());
  EXPECT_EQ(registry_->failing().value(), (runs{{1, 1'700'000'000'000}, {2, 1'800'000'000'000}}));
  ASSERT_TRUE(registry_->set_failing_since(1, std::nullopt).has_value());
  ASSERT_TRUE(registry_->remove(2).has_value());
  EXPECT_TRUE(registry_->failing().value().empty());
  // A late write for a removed webhook stores nothing.
  ASSERT_TRUE(registry_->set_failing_since(2, 1).has_value());
  EXPECT_TRUE(registry_->failing().value().empty());
}

TEST_F(WebhookRegistry, ForEachOnEmptyRegistryVisitsNothing) {
  int visits = 0;
  ASSERT_FALSE(registry_->for_each([&](const webhook_record&) { ++visits; }).has_error());
  EXPECT_EQ(visits, 0);
}

TEST_F(WebhookRegistry, ConcurrentCreatesGetDistinctIdsAndAreAllStored) {
  constexpr int k_threads = 4;
  constexpr int k_per_thread = 50;
  std::latch start(k_threads);
  std::vector<std::vector<webhook_record>> created(k_threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < k_per_thread; ++i) {
        webhook_record r = sample("account" + std::to_string(t), {"customer_created"});
        r.name = "hook " + std::to_string(i);
        auto c = registry_->create(std::move(r));
        if (c) created[t].push_back(std::move(*c));
      }
    });
  }
  for (auto& th : threads) th.join();

  std::vector<std::uint64_t> ids;
  for (int t = 0; t < k_threads; ++t) {
    ASSERT_EQ(created[t].size(), static_cast<std::size_t>(k_per_thread)) << "thread " << t;
    for (const auto& r : created[t]) {
      ids.push_back(r.id);
      EXPECT_EQ(registry_->get(r.id).value(), r);
    }
    // Each thread saw its own ids increase.
    EXPECT_TRUE(std::is_sorted(created[t].begin(), created[t].end(),
                               [](const auto& a, const auto& b) { return a.id < b.id; }));
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::uint64_t> expected(k_threads * k_per_thread);
  std::iota(expected.begin(), expected.end(), 1u);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(registry_->next_id(), expected.size() + 1);
  EXPECT_EQ(raw_webhooks().size(), expected.size());
  EXPECT_EQ(raw_subscriptions().size(), expected.size());
  for (int t = 0; t < k_threads; ++t) {
    auto account = "account" + std::to_string(t);
    EXPECT_EQ(subscribers(account, "customer_created").size(),
              static_cast<std::size_t>(k_per_thread));
  }
}

TEST(WebhookRecordEncoding, EncodeThenDecodeRoundTrips) {
  webhook_record r = sample("acme", {"customer_created", "outbound_message"});
  r.id = 0x0102030405060708;
  r.disabled_reason = "too many failures";
  r.name = std::string("bytes \0\xff kept", 13);

  auto decoded = hookd::store::decode_webhook(hookd::store::encode_webhook(r));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
  EXPECT_EQ(*decoded, r);

  webhook_record empty;
  auto decoded_empty = hookd::store::decode_webhook(hookd::store::encode_webhook(empty));
  ASSERT_TRUE(decoded_empty.has_value()) << decoded_empty.error().message();
  EXPECT_EQ(*decoded_empty, empty);

  webhook_record extremes = sample();
  extremes.created_at_ms = std::numeric_limits<std::int64_t>::min();
  extremes.updated_at_ms = std::numeric_limits<std::int64_t>::max();
  extremes.active = false;
  auto decoded_extremes = hookd::store::decode_webhook(hookd::store::encode_webhook(extremes));
  ASSERT_TRUE(decoded_extremes.has_value()) << decoded_extremes.error().message();
  EXPECT_EQ(*decoded_extremes, extremes);
}

TEST_F(WebhookRegistry, CountsByStateAreKeptWithEachChangeAndBuiltOnceForOlderData) {
  const auto a = registry_->create(sample()).value();
  const auto b = registry_->create(sample("acme", {"customer_created"}, false)).value();
  const auto c = registry_->create(sample()).value();
  ASSERT_TRUE(registry_->update(c.id, [](webhook_record& r) -> boost::system::error_code {
    r.active = false;
    r.disabled_reason = "failing";
    return {};
  }));
  auto n = registry_->counts();
  EXPECT_EQ(n.active, 1u);
  EXPECT_EQ(n.inactive, 1u);
  EXPECT_EQ(n.disabled, 1u);
  ASSERT_TRUE(registry_->remove(b.id));
  EXPECT_EQ(registry_->counts().inactive, 0u);

  reopen();
  n = registry_->counts();
  EXPECT_EQ(n.active, 1u);
  EXPECT_EQ(n.inactive, 0u);
  EXPECT_EQ(n.disabled, 1u);

  // A database from before the counts were kept: counted once at open, then kept.
  auto& d = db_->internals();
  ASSERT_TRUE(d.db->Delete(rocksdb::WriteOptions(), d.meta, "webhooks.counts").ok());
  reopen();
  n = registry_->counts();
  EXPECT_EQ(n.active, 1u);
  EXPECT_EQ(n.disabled, 1u);
  ASSERT_TRUE(registry_->remove(a.id));
  reopen();
  EXPECT_EQ(registry_->counts().active, 0u);
}

TEST(WebhookRecordEncoding, ARotationRoundTripsAndAVersion2RecordHasNone) {
  webhook_record r = sample();
  r.previous_secret = "whsec_previous";
  r.previous_secret_until_ms = 1'800'000'000'000;
  auto decoded = hookd::store::decode_webhook(hookd::store::encode_webhook(r));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
  EXPECT_EQ(*decoded, r);

  // Version 2 ended after the retry schedule: the same bytes without an (empty)
  // previous secret (8-byte length) and its end (8 bytes) read as no rotation.
  webhook_record plain = sample();
  std::string v2 = hookd::store::encode_webhook(plain);
  v2.resize(v2.size() - 16);
  v2[0] = 2;
  auto old = hookd::store::decode_webhook(v2);
  ASSERT_TRUE(old.has_value()) << old.error().message();
  EXPECT_EQ(*old, plain);
  EXPECT_TRUE(old->previous_secret.empty());
  EXPECT_EQ(old->previous_secret_until_ms, 0);
}

TEST(WebhookRecordEncoding, DecodeOfTruncatedBytesIsStorageCorruption) {
  webhook_record r = sample("acme", {"customer_created", "outbound_message"});
  r.disabled_reason = "reason";
  const std::string bytes = hookd::store::encode_webhook(r);
  ASSERT_GT(bytes.size(), 0u);

  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto decoded = hookd::store::decode_webhook(std::string_view(bytes).substr(0, n));
    ASSERT_TRUE(decoded.has_error()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(decoded.error(), errc::storage_corruption) << "prefix of " << n << " bytes";
  }
}

TEST(WebhookRecordEncoding, DecodeOfGarbageIsStorageCorruption) {
  const std::string valid = hookd::store::encode_webhook(sample());

  std::string wrong_version = valid;
  wrong_version[0] = static_cast<char>(wrong_version[0] + 1);
  std::string trailing = valid + "x";
  // The id is 8 bytes after the version byte; the account length follows it.
  std::string huge_length = valid;
  for (std::size_t i = 9; i < 17; ++i) huge_length[i] = '\xff';

  const std::vector<std::string> inputs = {
      "",
      "not a webhook record at all",
      std::string(64, '\xff'),
      std::string(64, '\0'),
      wrong_version,
      trailing,
      huge_length,
  };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto decoded = hookd::store::decode_webhook(inputs[i]);
    ASSERT_TRUE(decoded.has_error()) << "input " << i << " decoded";
    EXPECT_EQ(decoded.error(), errc::storage_corruption) << "input " << i;
  }
}

TEST(Database, OpenFailsWithLockErrorWhileAnotherHandleIsOpen) {
  hookd::test::temp_dir dir;
  auto first = database::open({.path = dir / "db"});
  ASSERT_TRUE(first.has_value()) << first.error().message;

  auto second = database::open({.path = dir / "db"});
  ASSERT_TRUE(second.has_error());
  std::string message = second.error().message;
  std::transform(message.begin(), message.end(), message.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_NE(message.find("lock"), std::string::npos) << message;
  EXPECT_NE(second.error().message.find((dir / "db").string()), std::string::npos)
      << second.error().message;

  // Once the first handle is gone the database opens again.
  first->reset();
  auto third = database::open({.path = dir / "db"});
  EXPECT_TRUE(third.has_value()) << third.error().message;
}

TEST(Database, OpenCreatesMissingDirectories) {
  hookd::test::temp_dir dir;
  auto db = database::open({.path = dir / "nested" / "deeper" / "db"});
  ASSERT_TRUE(db.has_value()) << db.error().message;
  EXPECT_TRUE(std::filesystem::is_directory(dir / "nested" / "deeper" / "db"));
}

}  // namespace
