// OpenSSL's CSPRNG as the production random_source.
#include "hookd/engine/random.hpp"

#include <climits>
#include <stdexcept>

#include <openssl/rand.h>

namespace hookd::engine {

void crypto_random::fill(std::span<std::byte> out) {
  while (!out.empty()) {
    const std::size_t n = std::min<std::size_t>(out.size(), INT_MAX);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
      throw std::runtime_error("RAND_bytes failed: the system CSPRNG is unavailable");
    }
    out = out.subspan(n);
  }
}

}  // namespace hookd::engine
