#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <sstream>

#include "tests/integration/engine_fixture.hpp"

namespace hookd::test {

bool verify_standard_webhooks_signature(const std::string& secret, const std::string& id,
                                        const std::string& timestamp, const std::string& content,
                                        const std::string& signature_header) {
  if (secret.rfind("whsec_", 0) != 0) return false;
  const std::string b64 = secret.substr(6);
  std::string key(b64.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  if (n < 0) return false;
  std::size_t pad = 0;
  for (auto it = b64.rbegin(); it != b64.rend() && *it == '='; ++it) ++pad;
  key.resize(static_cast<std::size_t>(n) - pad);
  const std::string message = id + "." + timestamp + "." + content;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  std::string expected(4 * ((mac_len + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(expected.data()), mac,
                  static_cast<int>(mac_len));
  // The header is a space-separated list of "v1,<sig>".
  std::istringstream in(signature_header);
  std::string item;
  while (in >> item) {
    if (item == "v1," + expected) return true;
  }
  return false;
}

}  // namespace hookd::test
