// Secret rotation on an injected clock: during the grace every request carries both
// signatures and a receiver holding either secret verifies it; after the grace only
// the new one signs; a restart in between changes nothing.
#include "engine/registry/webhook_validation.hpp"
#include "hookd/engine/clock.hpp"
#include "tests/integration/engine_fixture.hpp"

namespace hookd::test {

bool verify_standard_webhooks_signature(const std::string& secret, const std::string& id,
                                        const std::string& timestamp, const std::string& content,
                                        const std::string& signature_header);

namespace {

using namespace std::chrono_literals;

class Rotation : public engine_fixture {
 protected:
  static constexpr std::int64_t k_t0 = 1'800'000'000'000;

  engine::engine_options options() override {
    auto o = engine_fixture::options();
    o.time_source = &clock_;
    return o;
  }

  // Publishes one event and returns the request that reached the receiver.
  received_request deliver_one() {
    const std::size_t before = rx_.request_count();
    auto published = engine_->publish("acme", "customer_created", R"({"n":1})");
    EXPECT_TRUE(published) << (published ? "" : published.error().message);
    rx_.wait_for_requests(before + 1);
    return rx_.requests().at(before);
  }

  static bool verifies(const std::string& secret, const received_request& r) {
    return verify_standard_webhooks_signature(secret, r.header("webhook-id"),
                                              r.header("webhook-timestamp"), r.body,
                                              r.header("webhook-signature"));
  }

  static std::size_t signatures(const received_request& r) {
    const std::string h = r.header("webhook-signature");
    return h.empty() ? 0 : 1 + static_cast<std::size_t>(std::count(h.begin(), h.end(), ' '));
  }

  engine::manual_clock clock_{k_t0};
  receiver rx_;
};

TEST_F(Rotation, BothSecretsSignDuringTheGraceOnlyTheNewAfterAndAcrossARestart) {
  open();
  const auto id = create_webhook(rx_.url());
  const std::string old_secret = secret_of(id);

  auto rotated = engine_->webhooks().rotate_secret("acme", id, R"({"grace": "1h"})");
  ASSERT_TRUE(rotated) << rotated.error().message;
  const std::string new_secret = rotated->secret;
  EXPECT_NE(new_secret, old_secret);
  EXPECT_EQ(rotated->previous_secret, old_secret);
  EXPECT_EQ(rotated->previous_secret_until_ms, k_t0 + 3'600'000);

  auto during = deliver_one();
  EXPECT_EQ(signatures(during), 2u) << during.header("webhook-signature");
  EXPECT_TRUE(verifies(new_secret, during));
  EXPECT_TRUE(verifies(old_secret, during));

  // The rotation is stored: after a restart, still both.
  settle();
  engine_.reset();
  open();
  clock_.set_ms(k_t0 + 3'599'000);
  auto after_restart = deliver_one();
  EXPECT_EQ(signatures(after_restart), 2u);
  EXPECT_TRUE(verifies(new_secret, after_restart));
  EXPECT_TRUE(verifies(old_secret, after_restart));

  // The grace is over: the old secret no longer verifies anything.
  clock_.set_ms(k_t0 + 3'600'000);
  auto after = deliver_one();
  EXPECT_EQ(signatures(after), 1u) << after.header("webhook-signature");
  EXPECT_TRUE(verifies(new_secret, after));
  EXPECT_FALSE(verifies(old_secret, after));
}

TEST_F(Rotation, AGivenSecretIsUsedAndAZeroGraceDropsTheOldAtOnce) {
  open();
  const auto id = create_webhook(rx_.url());
  const std::string old_secret = secret_of(id);
  const std::string mine = "whsec_" + std::string(44, 'A');  // 33 zero bytes in base64
  auto rotated = engine_->webhooks().rotate_secret(
      "acme", id, R"({"secret": ")" + mine + R"(", "grace": "0s"})");
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_EQ(rotated->secret, mine);
  EXPECT_TRUE(rotated->previous_secret.empty());
  auto r = deliver_one();
  EXPECT_EQ(signatures(r), 1u);
  EXPECT_TRUE(verifies(mine, r));
  EXPECT_FALSE(verifies(old_secret, r));
}

TEST_F(Rotation, ARotationWithoutABodyGeneratesASecretWithADayOfGrace) {
  open();
  const auto id = create_webhook(rx_.url());
  auto rotated = engine_->webhooks().rotate_secret("acme", id, "");
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_TRUE(rotated->secret.starts_with("whsec_"));
  EXPECT_EQ(rotated->previous_secret_until_ms, k_t0 + 24 * 3'600'000LL);
  // Another account's webhook does not exist for it.
  auto other = engine_->webhooks().rotate_secret("beta", id, "");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, errc::not_found);
}

TEST_F(Rotation, BadRotationsNameTheField) {
  open();
  const auto id = create_webhook(rx_.url());
  const std::string current = secret_of(id);
  struct bad {
    std::string body;
    std::string field;
  };
  for (const auto& b : std::vector<bad>{
           {R"({"grace": "31d"})", "grace"},
           {R"({"grace": "soon"})", "grace"},
           {R"({"grace": 3600})", "grace"},
           {R"({"secret": "hunter2"})", "secret"},
           {R"({"secret": "whsec_AAAA"})", "secret"},  // 3 bytes
           {R"({"secret": ")" + current + R"("})", "secret"},
           {R"({"graze": "1h"})", "graze"},
       }) {
    SCOPED_TRACE(b.body);
    auto r = engine_->webhooks().rotate_secret("acme", id, b.body);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    ASSERT_EQ(r.error().details.size(), 1u);
    EXPECT_EQ(r.error().details[0].field, b.field);
  }
  EXPECT_EQ(secret_of(id), current) << "a refused rotation changed the secret";
}

}  // namespace
}  // namespace hookd::test
