// A random_source for tests: splitmix64 bytes from a seed, deterministic and well
// spread over the whole range (never all-zero over 32 bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "hookd/engine/random.hpp"

namespace hookd::test {

class deterministic_random final : public engine::random_source {
 public:
  explicit deterministic_random(std::uint64_t seed = 42) : state_(seed) {}
  void fill(std::span<std::byte> out) override {
    for (auto& b : out) {
      if (used_ == 8) {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        word_ = z ^ (z >> 31);
        used_ = 0;
      }
      b = static_cast<std::byte>(word_ >> (8 * used_++));
    }
  }

 private:
  std::uint64_t state_;
  std::uint64_t word_ = 0;
  int used_ = 8;
};

}  // namespace hookd::test
