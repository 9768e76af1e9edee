// Standard Webhooks signatures (engine/signer.hpp): the scheme's published test
// vector, an independent HMAC computed with OpenSSL's one-shot HMAC(), and the
// per-thread MAC context under concurrent use.
#include "engine/delivery/signer.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "engine/encoding.hpp"

namespace hookd::engine {
namespace {

// From the Standard Webhooks specification's reference libraries.
constexpr std::string_view k_spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view k_spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t k_spec_timestamp = 1614265330;
constexpr std::string_view k_spec_body = R"({"test": 2432232314})";
constexpr std::string_view k_spec_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

std::string spec_key() {
  const std::optional<std::string> key = secret_key(k_spec_secret);
  if (!key) throw std::runtime_error("the specification's secret did not decode");
  return *key;
}

// "v1," + base64(HMAC-SHA256(key, id.timestamp.body)), computed without signer.cpp.
std::string reference_signature(std::string_view key, std::string_view id, std::int64_t timestamp,
                                std::string_view body) {
  const std::string message =
      std::string(id) + "." + std::to_string(timestamp) + "." + std::string(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  const unsigned char* out = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                  reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size(), mac.data(), &mac_len);
  if (out == nullptr) throw std::runtime_error("HMAC failed");
  return "v1," + base64_encode(std::as_bytes(std::span(mac.data(), mac_len)));
}

TEST(Signer, MatchesStandardWebhooksTestVector) {
  EXPECT_EQ(sign(spec_key(), k_spec_id, k_spec_timestamp, k_spec_body), k_spec_signature);
}

TEST(Signer, SecretKeyIsBase64DecodedPartAfterPrefix) {
  const std::optional<std::string> key = secret_key(k_spec_secret);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(*key, base64_decode(k_spec_secret.substr(6)).value());
  EXPECT_EQ(key->size(), 24u);
}

TEST(Signer, SecretKeyRejectsSecretWithoutWhsecPrefix) {
  EXPECT_EQ(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::nullopt);
  EXPECT_EQ(secret_key("whsek_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::nullopt);
  EXPECT_EQ(secret_key("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::nullopt);
  EXPECT_EQ(secret_key(""), std::nullopt);
}

TEST(Signer, SecretKeyRejectsInvalidBase64) {
  EXPECT_EQ(secret_key("whsec_not*base64!"), std::nullopt);
  EXPECT_EQ(secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La LaSw"), std::nullopt);
  EXPECT_EQ(secret_key("whsec_MfKQ9r8GKYqrTwjUPD8I-PZIo2LaLaSw"), std::nullopt);  // base64url
}

TEST(Signer, SignatureHasV1PrefixAndBase64OfThirtyTwoBytes) {
  const std::string signature = sign("key", "msg_1", 1, "{}");
  ASSERT_TRUE(signature.starts_with("v1,"));
  const std::optional<std::string> mac = base64_decode(std::string_view(signature).substr(3));
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ(mac->size(), 32u);
}

// Each signature against OpenSSL's one-shot HMAC, over more secrets than a thread keeps
// keyed, in an order that reuses, evicts and re-keys them, with the empty key too.
TEST(Signer, KeyedContextsReusedAcrossManySecretsGiveTheSameSignatures) {
  std::vector<std::string> keys{""};
  for (int i = 0; i < 40; ++i) keys.push_back("key-" + std::to_string(i));
  for (int round = 0; round < 3; ++round) {
    for (std::size_t n = 0; n < keys.size(); ++n) {
      const auto& key = keys[(n * 7 + static_cast<std::size_t>(round)) % keys.size()];
      for (int again = 0; again < 2; ++again) {
        const std::string id = "msg_" + std::to_string(n);
        const std::string body = R"({"n":)" + std::to_string(n) + "}";
        const std::string signed_text = id + "." + std::to_string(k_spec_timestamp) + "." + body;
        unsigned char expected[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(),
             expected, &length);
        EXPECT_EQ(sign(key, id, k_spec_timestamp, body),
                  "v1," + base64_encode(std::as_bytes(std::span(expected, length))))
            << "key " << key << ", round " << round;
      }
    }
  }
}

TEST(Signer, SignatureChangesWithId) {
  const std::string key = spec_key();
  EXPECT_NE(sign(key, "msg_a", k_spec_timestamp, k_spec_body),
            sign(key, "msg_b", k_spec_timestamp, k_spec_body));
}

TEST(Signer, SignatureChangesWithTimestamp) {
  const std::string key = spec_key();
  EXPECT_NE(sign(key, k_spec_id, k_spec_timestamp, k_spec_body),
            sign(key, k_spec_id, k_spec_timestamp + 1, k_spec_body));
}

TEST(Signer, SignatureChangesWithBody) {
  const std::string key = spec_key();
  EXPECT_NE(sign(key, k_spec_id, k_spec_timestamp, R"({"test": 2432232314})"),
            sign(key, k_spec_id, k_spec_timestamp, R"({"test": 2432232315})"));
}

TEST(Signer, SignatureChangesWithKey) {
  std::string other = spec_key();
  other[0] = static_cast<char>(other[0] ^ 1);
  EXPECT_NE(sign(spec_key(), k_spec_id, k_spec_timestamp, k_spec_body),
            sign(other, k_spec_id, k_spec_timestamp, k_spec_body));
}

TEST(Signer, MatchesOneShotOpenSslHmacOverIdTimestampBody) {
  struct signing_case {
    std::string key;
    std::string id;
    std::int64_t timestamp;
    std::string body;
  };
  const std::vector<signing_case> cases = {
      {spec_key(), std::string(k_spec_id), k_spec_timestamp, std::string(k_spec_body)},
      {"k", "0190163d-8694-739b-aea5-966c26f8ad91", 0, ""},
      {std::string(64, 'x'), "id", -5, "uuid=a&action=b&tags[]=c"},
      {std::string(100, '\x01'), "msg", 9'999'999'999, std::string(70'000, 'b')},
      {std::string("\0\xff\0", 3), "msg", 1, std::string("a\0b", 3)},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(sign(c.key, c.id, c.timestamp, c.body),
              reference_signature(c.key, c.id, c.timestamp, c.body))
        << "id " << c.id << ", timestamp " << c.timestamp;
  }
}

TEST(Signer, ConcurrentSigningOnSeveralThreadsGivesExpectedSignatures) {
  constexpr int k_threads = 6;
  constexpr int k_rounds = 300;
  const std::string key = spec_key();
  // Each thread alternates between the spec vector and its own message, so a context
  // shared between threads, or left keyed from a previous call, would show.
  std::vector<std::string> own_body(k_threads);
  std::vector<std::string> own_expected(k_threads);
  for (int t = 0; t < k_threads; ++t) {
    own_body[t] = R"({"thread":)" + std::to_string(t) + "}";
    own_expected[t] = reference_signature("key-" + std::to_string(t), "msg", t, own_body[t]);
  }
  std::vector<int> mismatches(k_threads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      const std::string own_key = "key-" + std::to_string(t);
      for (int i = 0; i < k_rounds; ++i) {
        if (sign(key, k_spec_id, k_spec_timestamp, k_spec_body) != k_spec_signature) {
          ++mismatches[t];
        }
        if (sign(own_key, "msg", t, own_body[t]) != own_expected[t]) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < k_threads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace hookd::engine
