// Standard Webhooks signing: HMAC-SHA256 over id.timestamp.body with the key of a
// whsec_ secret, as "v1,<base64>".
#include "engine/delivery/signer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>
#include <string>
#include <vector>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "engine/encoding.hpp"

namespace hookd::engine {
namespace {

// Per thread, a few MAC contexts each keyed with one secret, most recently used first.
// Keying (hashing the key's inner and outer pads) and naming the digest (a lookup by
// name) cost more than a small body's hashing; a context that already holds the key
// only restarts from its keyed state. A worker signs for many webhooks, so the secrets
// of the busiest ones stay keyed; a new key takes the least recently used context.
class keyed_contexts {
 public:
  keyed_contexts() {
    mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (!mac_) throw std::runtime_error("OpenSSL has no HMAC");
    entries_.reserve(k_kept);  // push_back below never reallocates, so never throws
  }
  ~keyed_contexts() {
    for (auto& e : entries_) EVP_MAC_CTX_free(e.ctx);
    EVP_MAC_free(mac_);
  }
  keyed_contexts(const keyed_contexts&) = delete;
  keyed_contexts& operator=(const keyed_contexts&) = delete;

  // A context ready for updates, keyed with `key`; nullptr when OpenSSL fails.
  EVP_MAC_CTX* start(std::string_view key) {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (!entries_[i].keyed || entries_[i].key != key) continue;
      std::rotate(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(i),
                  entries_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      // No key and no parameters: HMAC restarts from the keyed state it holds.
      return EVP_MAC_init(entries_.front().ctx, nullptr, 0, nullptr) == 1 ? entries_.front().ctx
                                                                          : nullptr;
    }
    if (entries_.size() < k_kept) {
      EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac_);
      if (!ctx) return nullptr;
      entries_.push_back({std::string(), ctx, false});
    }
    std::rotate(entries_.rbegin(), entries_.rbegin() + 1, entries_.rend());  // last to front
    auto& e = entries_.front();
    e.keyed = false;  // not keyed until init succeeds
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(e.ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     params) != 1) {
      return nullptr;
    }
    e.key.assign(key);
    e.keyed = true;
    return e.ctx;
  }

 private:
  static constexpr std::size_t k_kept = 16;
  struct entry {
    std::string key;
    EVP_MAC_CTX* ctx = nullptr;
    bool keyed = false;
  };
  EVP_MAC* mac_ = nullptr;
  std::vector<entry> entries_;
};

}  // namespace

std::optional<std::string> secret_key(std::string_view whsec_secret) {
  constexpr std::string_view prefix = "whsec_";
  if (!whsec_secret.starts_with(prefix)) return std::nullopt;
  return base64_decode(whsec_secret.substr(prefix.size()));
}

std::string sign(std::string_view key, std::string_view id, std::int64_t timestamp,
                 std::string_view body) {
  thread_local keyed_contexts contexts;
  std::array<char, 24> ts{};
  const auto [end, ec] = std::to_chars(ts.data(), ts.data() + ts.size(), timestamp);
  std::array<unsigned char, 32> mac{};
  std::size_t mac_len = 0;
  EVP_MAC_CTX* ctx = ec == std::errc() ? contexts.start(key) : nullptr;
  auto update = [&](std::string_view part) {
    return EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size()) ==
           1;
  };
  const bool ok = ctx != nullptr && update(id) && update(".") && update({ts.data(), end}) &&
                  update(".") && update(body) &&
                  EVP_MAC_final(ctx, mac.data(), &mac_len, mac.size()) == 1;
  if (!ok) throw std::runtime_error("HMAC-SHA256 failed");
  return "v1," + base64_encode(std::as_bytes(std::span(mac.data(), mac_len)));
}

}  // namespace hookd::engine
