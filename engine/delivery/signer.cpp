// Standard Webhooks signing: HMAC-SHA256 over id.timestamp.body with the key of a
// whsec_ secret, as "v1,<base64>".
#include "engine/delivery/signer.hpp"

#include <array>
#include <charconv>
#include <stdexcept>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "engine/encoding.hpp"

namespace hookd::engine {
namespace {

// One MAC context per thread, re-keyed per signature: fetching the algorithm and
// allocating a context per call would dominate the cost of a small body.
struct hmac_context {
  hmac_context() {
    mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (!mac) throw std::runtime_error("OpenSSL has no HMAC");
    ctx = EVP_MAC_CTX_new(mac);
    if (!ctx) throw std::runtime_error("EVP_MAC_CTX_new failed");
  }
  ~hmac_context() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
  hmac_context(const hmac_context&) = delete;
  hmac_context& operator=(const hmac_context&) = delete;

  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
};

}  // namespace

std::optional<std::string> secret_key(std::string_view whsec_secret) {
  constexpr std::string_view prefix = "whsec_";
  if (!whsec_secret.starts_with(prefix)) return std::nullopt;
  return base64_decode(whsec_secret.substr(prefix.size()));
}

std::string sign(std::string_view key, std::string_view id, std::int64_t timestamp,
                 std::string_view body) {
  thread_local hmac_context h;
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  std::array<char, 24> ts{};
  const auto [end, ec] = std::to_chars(ts.data(), ts.data() + ts.size(), timestamp);
  std::array<unsigned char, 32> mac{};
  std::size_t mac_len = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  auto update = [&](std::string_view part) {
    return EVP_MAC_update(h.ctx, reinterpret_cast<const unsigned char*>(part.data()),
                          part.size()) == 1;
  };
  const bool ok = ec == std::errc() && EVP_MAC_init(h.ctx, k, key.size(), params) == 1 &&
                  update(id) && update(".") && update({ts.data(), end}) && update(".") &&
                  update(body) && EVP_MAC_final(h.ctx, mac.data(), &mac_len, mac.size()) == 1;
  if (!ok) throw std::runtime_error("HMAC-SHA256 failed");
  return "v1," + base64_encode(std::as_bytes(std::span(mac.data(), mac_len)));
}

}  // namespace hookd::engine
