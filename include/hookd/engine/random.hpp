// Randomness as an injected dependency: secrets, tokens and jitter all draw from a
// random_source, so tests can make them deterministic.
#pragma once

#include <cstddef>
#include <span>

#include "hookd/export.hpp"

namespace hookd::engine {

class HOOKD_API random_source {
 public:
  virtual ~random_source() = default;
  // Fills `out` with random bytes. Throws std::runtime_error if the source fails,
  // which for a CSPRNG means the process cannot safely continue.
  virtual void fill(std::span<std::byte> out) = 0;
};

// OpenSSL's CSPRNG (RAND_bytes); thread-safe.
class HOOKD_API crypto_random final : public random_source {
 public:
  void fill(std::span<std::byte> out) override;
};

}  // namespace hookd::engine
