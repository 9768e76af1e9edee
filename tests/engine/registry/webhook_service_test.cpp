// webhook_service over a real RocksDB registry, with a manual clock and a
// deterministic random source: ids, secrets, timestamps, PUT vs PATCH semantics,
// account isolation, the subscription index and pagination.
#include "hookd/engine/webhook_service.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "engine/registry/local_registry.hpp"
#include "hookd/engine/clock.hpp"
#include "hookd/engine/event_catalog.hpp"
#include "hookd/engine/random.hpp"
#include "store/database.hpp"
#include "store/webhook_registry.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::store {
// Readable failure output for record comparisons.
void PrintTo(const webhook_record& r, std::ostream* os) {
  *os << "{id=" << r.id << " account=" << r.account << " name=\"" << r.name
      << "\" active=" << r.active << " events=[";
  for (std::size_t i = 0; i < r.events.size(); ++i) *os << (i ? "," : "") << r.events[i];
  *os << "] url=" << r.url << " method=" << r.http_method << " secret=" << r.secret
      << " created=" << r.created_at_ms << " updated=" << r.updated_at_ms << " disabled=\""
      << r.disabled_reason << "\"}";
}
}  // namespace hookd::store

namespace hookd::engine {
namespace {

using ids = std::vector<std::uint64_t>;
using events = std::vector<std::string>;

constexpr std::string_view k_alice = "acct_alice";
constexpr std::string_view k_bob = "acct_bob";

// Hands out 0, 1, 2, ... as bytes, one byte per byte asked for, and remembers every
// request, so a secret can be checked against exactly the bytes it was made from.
class counting_random final : public random_source {
 public:
  void fill(std::span<std::byte> out) override {
    for (auto& b : out) b = static_cast<std::byte>(next_++);
    draws.emplace_back(out.begin(), out.end());
  }

  std::vector<std::vector<std::byte>> draws;

 private:
  std::uint8_t next_ = 0;
};

// Standard base64 decoding, independent of engine/encoding.cpp; nullopt when the text
// is not canonical padded base64.
std::optional<std::vector<std::byte>> reference_base64_decode(std::string_view text) {
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<std::byte> out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t v = 0;
    int pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      const auto pos = alphabet.find(c);
      if (pos == std::string_view::npos || pad > 0) return std::nullopt;
      v = (v << 6) | static_cast<std::uint32_t>(pos);
    }
    out.push_back(static_cast<std::byte>(v >> 16));
    if (pad < 2) out.push_back(static_cast<std::byte>(v >> 8));
    if (pad < 1) out.push_back(static_cast<std::byte>(v));
  }
  return out;
}

std::string describe(const failure& f) {
  std::string out = f.code.message() + ": " + f.message;
  for (const auto& d : f.details) out += "\n  " + d.field + ": " + d.message;
  return out;
}

// A valid create/replace body; `settings` is the raw JSON object.
std::string webhook_json(std::string_view name, std::string_view settings, bool active = true,
                         std::string_view url = "https://receiver.example.com/hook",
                         std::string_view method = "POST") {
  return std::string(R"({"webhook": {"name": ")") + std::string(name) + R"(", "active": ")" +
         (active ? "true" : "false") + R"(", "settings": )" + std::string(settings) +
         R"(, "url": ")" + std::string(url) + R"(", "http_method": ")" + std::string(method) +
         R"("}})";
}

class WebhookServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::database::open({.path = dir_ / "db"});
    ASSERT_TRUE(db) << "cannot open the test database";
    db_ = std::move(*db);
    auto registry = store::webhook_registry::open(*db_);
    ASSERT_TRUE(registry) << registry.error().message();
    registry_ = std::make_unique<engine::local_registry>(std::move(*registry));
    service_ = std::make_unique<webhook_service>(*registry_, catalog_, clock_, random_);
  }

  webhook_service& service() { return *service_; }

  // Creates a webhook that must be valid, failing the test otherwise.
  webhook_record create(std::string_view account, const std::string& body) {
    auto r = service().create(account, body);
    EXPECT_TRUE(r) << describe(r.error());
    return r ? *r : webhook_record{};
  }

  webhook_record create_subscribed(std::string_view account, std::string_view settings,
                                   bool active = true) {
    return create(account, webhook_json("hook", settings, active));
  }

  webhook_record get(std::string_view account, std::uint64_t id) {
    auto r = service().get(account, id);
    EXPECT_TRUE(r) << describe(r.error());
    return r ? *r : webhook_record{};
  }

  webhook_record patch(std::string_view account, std::uint64_t id, const std::string& body) {
    auto r = service().patch(account, id, body);
    EXPECT_TRUE(r) << describe(r.error());
    return r ? *r : webhook_record{};
  }

  webhook_record replace(std::string_view account, std::uint64_t id, const std::string& body) {
    auto r = service().replace(account, id, body);
    EXPECT_TRUE(r) << describe(r.error());
    return r ? *r : webhook_record{};
  }

  ids subscribers(std::string_view account, std::string_view type) {
    auto r = service().subscribers(account, type);
    EXPECT_TRUE(r) << describe(r.error());
    return r ? *r : ids{};
  }

  engine::webhook_page list(std::string_view account, std::uint64_t after, std::size_t limit) {
    auto r = service().list(account, after, limit);
    EXPECT_TRUE(r) << describe(r.error());
    return r ? *r : engine::webhook_page{};
  }

  static ids ids_of(const engine::webhook_page& page) {
    ids out;
    for (const auto& w : page.webhooks) out.push_back(w.id);
    return out;
  }

  test::temp_dir dir_;
  event_catalog catalog_ = event_catalog::sonar_default();
  manual_clock clock_{1'700'000'000'000};
  counting_random random_;
  std::unique_ptr<store::database> db_;
  std::unique_ptr<engine::local_registry> registry_;
  std::unique_ptr<webhook_service> service_;
};

// --- create ------------------------------------------------------------------------------

TEST_F(WebhookServiceTest, CreateAssignsIncreasingIds) {
  const auto first = create_subscribed(k_alice, R"({"customer_created": "true"})");
  const auto second = create_subscribed(k_bob, R"({"customer_created": "true"})");
  const auto third = create_subscribed(k_alice, R"({"customer_created": "true"})");
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(second.id, 2u);
  EXPECT_EQ(third.id, 3u);
}

TEST_F(WebhookServiceTest, CreateNeverReusesTheIdOfADeletedWebhook) {
  const auto first = create_subscribed(k_alice, "{}");
  const auto second = create_subscribed(k_alice, "{}");
  ASSERT_TRUE(service().remove(k_alice, second.id));
  const auto third = create_subscribed(k_alice, "{}");
  EXPECT_GT(second.id, first.id);
  EXPECT_GT(third.id, second.id);
}

TEST_F(WebhookServiceTest, CreateStoresTheValidatedRequestForTheAccount) {
  const auto created = create(k_alice, R"({"webhook": {
      "name": "webhook to capture customer state changes",
      "active": "true",
      "settings": {"customer_state_changed": "true", "outbound_message": true,
                   "customer_created": "false"},
      "url": "https://endpoint.com/catch-a-hook",
      "http_method": "put"}})");
  EXPECT_EQ(created.account, k_alice);
  EXPECT_EQ(created.name, "webhook to capture customer state changes");
  EXPECT_TRUE(created.active);
  // Only the types set to true are subscriptions.
  EXPECT_EQ(created.events, (events{"customer_state_changed", "outbound_message"}));
  EXPECT_EQ(created.url, "https://endpoint.com/catch-a-hook");
  EXPECT_EQ(created.http_method, "PUT");
  EXPECT_TRUE(created.disabled_reason.empty());
  EXPECT_EQ(get(k_alice, created.id), created);
}

TEST_F(WebhookServiceTest, CreateWithoutActiveStoresAnInactiveWebhook) {
  const auto created = create(k_alice, R"({"webhook": {"name": "n",
      "settings": {"customer_created": "true"}, "url": "https://example.com/",
      "http_method": "POST"}})");
  EXPECT_FALSE(created.active);
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{});
}

TEST_F(WebhookServiceTest, CreateGeneratesSecretFrom24RandomBytes) {
  const auto created = create_subscribed(k_alice, "{}");
  ASSERT_EQ(random_.draws.size(), 1u);
  ASSERT_EQ(random_.draws[0].size(), 24u);
  ASSERT_EQ(created.secret.substr(0, 6), "whsec_");
  const std::string encoded = created.secret.substr(6);
  EXPECT_EQ(encoded.size(), 32u);  // 24 bytes in base64, no padding
  const auto decoded = reference_base64_decode(encoded);
  ASSERT_TRUE(decoded) << encoded;
  EXPECT_EQ(*decoded, random_.draws[0]);
}

TEST_F(WebhookServiceTest, CreateGivesEachWebhookItsOwnSecret) {
  const auto first = create_subscribed(k_alice, "{}");
  const auto second = create_subscribed(k_alice, "{}");
  const auto third = create_subscribed(k_bob, "{}");
  EXPECT_NE(first.secret, second.secret);
  EXPECT_NE(second.secret, third.secret);
  EXPECT_NE(first.secret, third.secret);
  ASSERT_EQ(random_.draws.size(), 3u);
  EXPECT_EQ(reference_base64_decode(second.secret.substr(6)), random_.draws[1]);
}

TEST_F(WebhookServiceTest, GenerateSecretIsWhsecPrefixAndBase64Of24Bytes) {
  counting_random random;
  const std::string secret = webhook_service::generate_secret(random);
  // Bytes 0..23 in base64.
  EXPECT_EQ(secret, "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX");
}

TEST_F(WebhookServiceTest, CreateSetsBothTimestampsFromTheClock) {
  clock_.set_ms(1'709'210'096'789);
  const auto created = create_subscribed(k_alice, "{}");
  EXPECT_EQ(created.created_at_ms, 1'709'210'096'789);
  EXPECT_EQ(created.updated_at_ms, 1'709'210'096'789);
  clock_.advance(std::chrono::seconds(3));
  const auto later = create_subscribed(k_alice, "{}");
  EXPECT_EQ(later.created_at_ms, 1'709'210'099'789);
}

TEST_F(WebhookServiceTest, CreateRejectsInvalidBodyAndStoresNothing) {
  const std::uint64_t next_id = registry_->storage().next_id();
  auto r = service().create(k_alice, R"({"webhook": {"name": "", "url": "ftp://x/",
      "http_method": "FETCH", "settings": {"nope": "true"}, "active": "maybe"}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(r.error().details.size(), 5u) << describe(r.error());
  EXPECT_EQ(registry_->storage().next_id(), next_id);
  EXPECT_TRUE(list(k_alice, 0, 50).webhooks.empty());
}

TEST_F(WebhookServiceTest, CreateRejectsMalformedJson) {
  auto r = service().create(k_alice, R"({"webhook": )");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::malformed_input);
}

// --- get and remove ----------------------------------------------------------------------

TEST_F(WebhookServiceTest, GetOfUnknownIdIsNotFound) {
  auto r = service().get(k_alice, 42);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
  EXPECT_EQ(r.error().message, "webhook 42 not found");
}

TEST_F(WebhookServiceTest, RemoveDeletesTheWebhookAndItsSubscriptions) {
  const auto kept = create_subscribed(k_alice, R"({"customer_created": "true"})");
  const auto removed = create_subscribed(k_alice, R"({"customer_created": "true"})");
  ASSERT_TRUE(service().remove(k_alice, removed.id));
  auto r = service().get(k_alice, removed.id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{kept.id});
  EXPECT_EQ(ids_of(list(k_alice, 0, 50)), ids{kept.id});
}

TEST_F(WebhookServiceTest, RemoveTwiceIsNotFound) {
  const auto created = create_subscribed(k_alice, "{}");
  ASSERT_TRUE(service().remove(k_alice, created.id));
  auto again = service().remove(k_alice, created.id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::not_found);
}

// --- replace (PUT) -----------------------------------------------------------------------

TEST_F(WebhookServiceTest, ReplaceReplacesSettingsEntirely) {
  const auto created =
      create_subscribed(k_alice, R"({"customer_created": "true", "outbound_message": "true"})");
  const auto replaced =
      replace(k_alice, created.id, webhook_json("hook", R"({"user_assignment": "true"})"));
  EXPECT_EQ(replaced.events, events{"user_assignment"});
  EXPECT_EQ(get(k_alice, created.id).events, events{"user_assignment"});
}

TEST_F(WebhookServiceTest, ReplaceWithEmptySettingsUnsubscribesFromEverything) {
  const auto created = create_subscribed(k_alice, R"({"customer_created": "true"})");
  const auto replaced = replace(k_alice, created.id, webhook_json("hook", "{}"));
  EXPECT_TRUE(replaced.events.empty());
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{});
}

TEST_F(WebhookServiceTest, ReplaceChangesEveryFieldButKeepsIdSecretAndCreatedAt) {
  const auto created = create(k_alice, webhook_json("before", R"({"customer_created": "true"})",
                                                    true, "https://a.example.com/", "POST"));
  clock_.advance(std::chrono::minutes(5));
  const auto replaced = replace(k_alice, created.id,
                                webhook_json("after", R"({"outbound_message": true})", false,
                                             "http://b.example.com:8080/in?x=1", "delete"));
  EXPECT_EQ(replaced.id, created.id);
  EXPECT_EQ(replaced.account, created.account);
  EXPECT_EQ(replaced.name, "after");
  EXPECT_FALSE(replaced.active);
  EXPECT_EQ(replaced.events, events{"outbound_message"});
  EXPECT_EQ(replaced.url, "http://b.example.com:8080/in?x=1");
  EXPECT_EQ(replaced.http_method, "DELETE");
  EXPECT_EQ(replaced.secret, created.secret);
  EXPECT_EQ(replaced.created_at_ms, created.created_at_ms);
  EXPECT_EQ(replaced.updated_at_ms, created.created_at_ms + 5 * 60 * 1000);
  EXPECT_EQ(get(k_alice, created.id), replaced);
  EXPECT_EQ(random_.draws.size(), 1u) << "replace must not draw a new secret";
}

TEST_F(WebhookServiceTest, ReplaceWithoutActiveDeactivates) {
  const auto created = create_subscribed(k_alice, R"({"customer_created": "true"})");
  ASSERT_TRUE(created.active);
  const auto replaced = replace(k_alice, created.id, R"({"webhook": {"name": "n",
      "settings": {"customer_created": "true"}, "url": "https://example.com/",
      "http_method": "POST"}})");
  EXPECT_FALSE(replaced.active);
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{});
}

TEST_F(WebhookServiceTest, ReplaceRequiresEveryFieldAndLeavesTheWebhookUnchanged) {
  const auto created = create_subscribed(k_alice, R"({"customer_created": "true"})");
  clock_.advance(std::chrono::seconds(1));
  auto r = service().replace(k_alice, created.id, R"({"webhook": {"name": "only a name"}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(r.error().details.size(), 3u) << describe(r.error());  // settings, url, http_method
  EXPECT_EQ(get(k_alice, created.id), created);
}

TEST_F(WebhookServiceTest, ReplaceOfUnknownIdIsNotFound) {
  auto r = service().replace(k_alice, 99, webhook_json("hook", "{}"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
}

TEST_F(WebhookServiceTest, ReplaceClearsTheReasonHookdDisabledTheWebhookFor) {
  const auto created = create_subscribed(k_alice, R"({"customer_created": "true"})");
  auto disabled = registry_->update(created.id, [](webhook_record& r) {
    r.active = false;
    r.disabled_reason = "receiver answered 410 Gone";
    return boost::system::error_code();
  });
  ASSERT_TRUE(disabled);
  const auto replaced =
      replace(k_alice, created.id, webhook_json("hook", R"({"customer_created": "true"})"));
  EXPECT_TRUE(replaced.active);
  EXPECT_TRUE(replaced.disabled_reason.empty());
}

// --- patch -------------------------------------------------------------------------------

TEST_F(WebhookServiceTest, PatchChangesOnlyTheGivenFields) {
  const auto created = create(k_alice, webhook_json("before", R"({"customer_created": "true"})",
                                                    true, "https://a.example.com/", "POST"));
  clock_.advance(std::chrono::seconds(10));

  auto expected = created;
  expected.name = "after";
  expected.updated_at_ms = created.updated_at_ms + 10'000;
  EXPECT_EQ(patch(k_alice, created.id, R"({"webhook": {"name": "after"}})"), expected);

  expected.url = "https://b.example.com/new";
  EXPECT_EQ(patch(k_alice, created.id, R"({"webhook": {"url": "https://b.example.com/new"}})"),
            expected);

  expected.http_method = "GET";
  EXPECT_EQ(patch(k_alice, created.id, R"({"webhook": {"http_method": "get"}})"), expected);

  expected.active = false;
  EXPECT_EQ(patch(k_alice, created.id, R"({"webhook": {"active": false}})"), expected);

  EXPECT_EQ(get(k_alice, created.id), expected);
}

TEST_F(WebhookServiceTest, PatchMergesSettingsKeyByKey) {
  const auto created =
      create_subscribed(k_alice, R"({"customer_created": "true", "outbound_message": "true"})");
  const auto patched = patch(k_alice, created.id, R"({"webhook": {"settings": {
      "outbound_message": "false", "tag_added_to_message": "true"}}})");
  // customer_created was not mentioned and stays; the other two follow the patch.
  EXPECT_EQ(patched.events, (events{"customer_created", "tag_added_to_message"}));
  EXPECT_EQ(get(k_alice, created.id).events, patched.events);
}

TEST_F(WebhookServiceTest, PatchWithEmptySettingsKeepsEverySubscription) {
  const auto created =
      create_subscribed(k_alice, R"({"customer_created": "true", "outbound_message": "true"})");
  const auto patched = patch(k_alice, created.id, R"({"webhook": {"settings": {}}})");
  EXPECT_EQ(patched.events, created.events);
}

TEST_F(WebhookServiceTest, PatchSettingATypeTwiceKeepsOneSubscription) {
  const auto created = create_subscribed(k_alice, R"({"customer_created": "true"})");
  const auto patched =
      patch(k_alice, created.id, R"({"webhook": {"settings": {"customer_created": true}}})");
  EXPECT_EQ(patched.events, events{"customer_created"});
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{created.id});
}

TEST_F(WebhookServiceTest, PatchKeepsSecretAndCreatedAt) {
  const auto created = create_subscribed(k_alice, "{}");
  clock_.advance(std::chrono::hours(1));
  const auto patched = patch(k_alice, created.id, R"({"webhook": {"name": "renamed"}})");
  EXPECT_EQ(patched.secret, created.secret);
  EXPECT_EQ(patched.created_at_ms, created.created_at_ms);
}

TEST_F(WebhookServiceTest, InvalidPatchLeavesTheWebhookUnchanged) {
  const auto created = create_subscribed(k_alice, R"({"customer_created": "true"})");
  clock_.advance(std::chrono::seconds(1));
  auto r =
      service().patch(k_alice, created.id, R"({"webhook": {"name": "fine", "url": "not a url"}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  ASSERT_EQ(r.error().details.size(), 1u) << describe(r.error());
  EXPECT_EQ(r.error().details[0].field, "webhook.url");
  EXPECT_EQ(get(k_alice, created.id), created);
}

TEST_F(WebhookServiceTest, PatchOfUnknownIdIsNotFound) {
  auto r = service().patch(k_alice, 99, R"({"webhook": {"name": "x"}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
}

TEST_F(WebhookServiceTest, PatchActivatingClearsTheReasonHookdDisabledTheWebhookFor) {
  const auto created = create_subscribed(k_alice, R"({"customer_created": "true"})");
  auto disabled = registry_->update(created.id, [](webhook_record& r) {
    r.active = false;
    r.disabled_reason = "receiver answered 410 Gone";
    return boost::system::error_code();
  });
  ASSERT_TRUE(disabled);
  const auto renamed = patch(k_alice, created.id, R"({"webhook": {"name": "renamed"}})");
  EXPECT_EQ(renamed.disabled_reason, "receiver answered 410 Gone");
  const auto activated = patch(k_alice, created.id, R"({"webhook": {"active": "true"}})");
  EXPECT_TRUE(activated.active);
  EXPECT_TRUE(activated.disabled_reason.empty());
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{created.id});
}

// --- updated_at --------------------------------------------------------------------------

TEST_F(WebhookServiceTest, UpdatedAtMovesWithTheClock) {
  const auto created = create_subscribed(k_alice, "{}");
  clock_.advance(std::chrono::milliseconds(1500));
  EXPECT_EQ(patch(k_alice, created.id, R"({"webhook": {"name": "a"}})").updated_at_ms,
            created.created_at_ms + 1500);
  clock_.advance(std::chrono::minutes(2));
  EXPECT_EQ(replace(k_alice, created.id, webhook_json("b", "{}")).updated_at_ms,
            created.created_at_ms + 1500 + 120'000);
  EXPECT_EQ(get(k_alice, created.id).updated_at_ms, created.created_at_ms + 121'500);
  EXPECT_EQ(get(k_alice, created.id).created_at_ms, created.created_at_ms);
}

TEST_F(WebhookServiceTest, UpdatedAtNeverMovesBackwardsWhenTheClockDoes) {
  const auto created = create_subscribed(k_alice, "{}");
  clock_.advance(std::chrono::seconds(30));
  const auto patched = patch(k_alice, created.id, R"({"webhook": {"name": "a"}})");
  clock_.set_ms(created.created_at_ms - 60'000);  // a wall clock stepped back
  const auto again = patch(k_alice, created.id, R"({"webhook": {"name": "b"}})");
  EXPECT_EQ(again.updated_at_ms, patched.updated_at_ms);
  EXPECT_EQ(again.name, "b");
}

// --- account isolation -------------------------------------------------------------------

TEST_F(WebhookServiceTest, AnotherAccountsWebhookIsNotFoundAndStaysUnchanged) {
  const auto owned = create_subscribed(k_alice, R"({"customer_created": "true"})");
  clock_.advance(std::chrono::seconds(5));

  auto got = service().get(k_bob, owned.id);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, errc::not_found);

  auto replaced = service().replace(k_bob, owned.id, webhook_json("stolen", "{}", false));
  ASSERT_FALSE(replaced);
  EXPECT_EQ(replaced.error().code, errc::not_found);

  auto patched = service().patch(k_bob, owned.id, R"({"webhook": {"active": "false"}})");
  ASSERT_FALSE(patched);
  EXPECT_EQ(patched.error().code, errc::not_found);

  auto removed = service().remove(k_bob, owned.id);
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, errc::not_found);

  EXPECT_EQ(get(k_alice, owned.id), owned);
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{owned.id});
  EXPECT_TRUE(list(k_bob, 0, 50).webhooks.empty());
}

TEST_F(WebhookServiceTest, AnotherAccountsWebhookLooksLikeAnAbsentOne) {
  const auto owned = create_subscribed(k_alice, "{}");
  auto foreign = service().get(k_bob, owned.id);
  ASSERT_FALSE(foreign);
  ASSERT_TRUE(service().remove(k_alice, owned.id));
  auto absent = service().get(k_bob, owned.id);
  ASSERT_FALSE(absent);
  EXPECT_EQ(foreign.error().code, absent.error().code);
  EXPECT_EQ(foreign.error().message, absent.error().message);
}

// --- subscribers -------------------------------------------------------------------------

TEST_F(WebhookServiceTest, SubscribersAreTheAccountsActiveWebhooksForTheType) {
  const auto a1 = create_subscribed(k_alice, R"({"customer_created": "true"})");
  const auto a2 = create_subscribed(
      k_alice, R"({"customer_created": "true", "customer_state_changed": "true"})");
  create_subscribed(k_alice, R"({"customer_created": "true"})", /*active=*/false);
  create_subscribed(k_alice, R"({"customer_created": "false"})");
  const auto b1 = create_subscribed(k_bob, R"({"customer_created": "true"})");

  EXPECT_EQ(subscribers(k_alice, "customer_created"), (ids{a1.id, a2.id}));
  EXPECT_EQ(subscribers(k_alice, "customer_state_changed"), ids{a2.id});
  EXPECT_EQ(subscribers(k_alice, "outbound_message"), ids{});
  EXPECT_EQ(subscribers(k_bob, "customer_created"), ids{b1.id});
  EXPECT_EQ(subscribers("acct_nobody", "customer_created"), ids{});
}

TEST_F(WebhookServiceTest, SubscribersFollowDeactivationAndReactivation) {
  const auto hook =
      create_subscribed(k_alice, R"({"customer_created": "true", "outbound_message": "true"})");
  ASSERT_EQ(subscribers(k_alice, "customer_created"), ids{hook.id});

  patch(k_alice, hook.id, R"({"webhook": {"active": "false"}})");
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{});
  EXPECT_EQ(subscribers(k_alice, "outbound_message"), ids{});
  EXPECT_EQ(get(k_alice, hook.id).events, (events{"customer_created", "outbound_message"}))
      << "an inactive webhook keeps its settings";

  patch(k_alice, hook.id, R"({"webhook": {"active": true}})");
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{hook.id});
  EXPECT_EQ(subscribers(k_alice, "outbound_message"), ids{hook.id});
}

TEST_F(WebhookServiceTest, SubscribersFollowSettingsChanges) {
  const auto hook = create_subscribed(k_alice, R"({"customer_created": "true"})");

  patch(k_alice, hook.id,
        R"({"webhook": {"settings": {"customer_created": "false", "user_assignment": "true"}}})");
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{});
  EXPECT_EQ(subscribers(k_alice, "user_assignment"), ids{hook.id});

  replace(k_alice, hook.id, webhook_json("hook", R"({"tag_added_to_message": "true"})"));
  EXPECT_EQ(subscribers(k_alice, "user_assignment"), ids{});
  EXPECT_EQ(subscribers(k_alice, "tag_added_to_message"), ids{hook.id});
}

TEST_F(WebhookServiceTest, SubscribersDropADeletedWebhook) {
  const auto kept = create_subscribed(k_alice, R"({"customer_created": "true"})");
  const auto deleted = create_subscribed(k_alice, R"({"customer_created": "true"})");
  ASSERT_EQ(subscribers(k_alice, "customer_created"), (ids{kept.id, deleted.id}));
  ASSERT_TRUE(service().remove(k_alice, deleted.id));
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{kept.id});
}

TEST_F(WebhookServiceTest, SubscribersOfAnInactiveWebhookAppearOnlyOnceActivated) {
  const auto hook = create_subscribed(k_alice, R"({"customer_created": "true"})", /*active=*/false);
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{});
  patch(k_alice, hook.id, R"({"webhook": {"active": "true"}})");
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{hook.id});
}

// --- list --------------------------------------------------------------------------------

TEST_F(WebhookServiceTest, ListPaginatesInIdOrderWithNextAfter) {
  ids alice;
  for (int i = 0; i < 5; ++i) {
    alice.push_back(create_subscribed(k_alice, "{}").id);
    create_subscribed(k_bob, "{}");  // interleaved ids of another account
  }

  const auto first = list(k_alice, 0, 2);
  EXPECT_EQ(ids_of(first), (ids{alice[0], alice[1]}));
  ASSERT_EQ(first.next_after, alice[1]);

  const auto second = list(k_alice, *first.next_after, 2);
  EXPECT_EQ(ids_of(second), (ids{alice[2], alice[3]}));
  ASSERT_EQ(second.next_after, alice[3]);

  const auto last = list(k_alice, *second.next_after, 2);
  EXPECT_EQ(ids_of(last), ids{alice[4]});
  EXPECT_EQ(last.next_after, std::nullopt);
}

TEST_F(WebhookServiceTest, ListReturnsFullRecords) {
  const auto created = create_subscribed(k_alice, R"({"customer_created": "true"})");
  const auto page = list(k_alice, 0, 10);
  ASSERT_EQ(page.webhooks.size(), 1u);
  EXPECT_EQ(page.webhooks[0], created);
}

TEST_F(WebhookServiceTest, ListPageThatEndsExactlyAtTheLastWebhookHasNoNextAfter) {
  for (int i = 0; i < 3; ++i) create_subscribed(k_alice, "{}");
  const auto page = list(k_alice, 0, 3);
  EXPECT_EQ(page.webhooks.size(), 3u);
  EXPECT_EQ(page.next_after, std::nullopt);
}

TEST_F(WebhookServiceTest, ListIsScopedToTheAccount) {
  const auto a = create_subscribed(k_alice, "{}");
  const auto b1 = create_subscribed(k_bob, "{}");
  const auto b2 = create_subscribed(k_bob, "{}");
  EXPECT_EQ(ids_of(list(k_alice, 0, 50)), ids{a.id});
  EXPECT_EQ(ids_of(list(k_bob, 0, 50)), (ids{b1.id, b2.id}));
  EXPECT_TRUE(list("acct_nobody", 0, 50).webhooks.empty());
  // An account name that is a prefix of another does not see the other's webhooks.
  EXPECT_TRUE(list("acct_", 0, 50).webhooks.empty());
  EXPECT_TRUE(list("acct_bo", 0, 50).webhooks.empty());
}

TEST_F(WebhookServiceTest, ListAfterTheLastIdIsEmpty) {
  const auto a = create_subscribed(k_alice, "{}");
  const auto page = list(k_alice, a.id, 50);
  EXPECT_TRUE(page.webhooks.empty());
  EXPECT_EQ(page.next_after, std::nullopt);
  EXPECT_TRUE(list(k_alice, UINT64_MAX, 50).webhooks.empty());
}

TEST_F(WebhookServiceTest, ListClampsZeroLimitToOne) {
  const auto first = create_subscribed(k_alice, "{}");
  const auto second = create_subscribed(k_alice, "{}");
  const auto page = list(k_alice, 0, 0);
  EXPECT_EQ(ids_of(page), ids{first.id});
  EXPECT_EQ(page.next_after, first.id);
  EXPECT_EQ(ids_of(list(k_alice, *page.next_after, 0)), ids{second.id});
}

TEST_F(WebhookServiceTest, ListClampsLargeLimitToMaxPageSize) {
  for (std::size_t i = 0; i < k_max_page_size + 1; ++i) create_subscribed(k_alice, "{}");
  const auto page = list(k_alice, 0, 1'000'000);
  ASSERT_EQ(page.webhooks.size(), k_max_page_size);
  EXPECT_EQ(page.webhooks.front().id, 1u);
  EXPECT_EQ(page.webhooks.back().id, k_max_page_size);
  ASSERT_EQ(page.next_after, k_max_page_size);
  EXPECT_EQ(ids_of(list(k_alice, *page.next_after, 1'000'000)), ids{k_max_page_size + 1});
}

TEST_F(WebhookServiceTest, ListHonoursLimitsWithinRange) {
  for (int i = 0; i < 6; ++i) create_subscribed(k_alice, "{}");
  EXPECT_EQ(list(k_alice, 0, 1).webhooks.size(), 1u);
  EXPECT_EQ(list(k_alice, 0, 5).webhooks.size(), 5u);
  EXPECT_EQ(list(k_alice, 0, k_max_page_size).webhooks.size(), 6u);
}

// --- persistence -------------------------------------------------------------------------

TEST_F(WebhookServiceTest, WebhooksAndIdsSurviveReopeningTheDatabase) {
  const auto created = create_subscribed(k_alice, R"({"customer_created": "true"})");
  service_.reset();
  registry_.reset();
  db_.reset();

  auto db = store::database::open({.path = dir_ / "db"});
  ASSERT_TRUE(db);
  db_ = std::move(*db);
  auto registry = store::webhook_registry::open(*db_);
  ASSERT_TRUE(registry) << registry.error().message();
  registry_ = std::make_unique<engine::local_registry>(std::move(*registry));
  service_ = std::make_unique<webhook_service>(*registry_, catalog_, clock_, random_);

  EXPECT_EQ(get(k_alice, created.id), created);
  EXPECT_EQ(subscribers(k_alice, "customer_created"), ids{created.id});
  EXPECT_GT(create_subscribed(k_alice, "{}").id, created.id);
}

}  // namespace
}  // namespace hookd::engine
