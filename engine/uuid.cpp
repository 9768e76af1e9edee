// UUIDv7 delivery ids from a per-thread xoshiro256** generator seeded by the CSPRNG,
// and their canonical text form.
#include "engine/uuid.hpp"

#include <array>
#include <bit>
#include <cstring>

namespace hookd::engine {
namespace {

struct xoshiro256 {
  std::array<std::uint64_t, 4> s{};
  std::uint64_t next() {
    const std::uint64_t result = std::rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = std::rotl(s[3], 45);
    return result;
  }
};

}  // namespace

delivery_id make_uuid_v7(std::int64_t now_ms, random_source& seed_source) {
  thread_local bool seeded = false;
  thread_local xoshiro256 rng;
  if (!seeded) {
    std::array<std::byte, 32> seed{};
    do {
      seed_source.fill(seed);
      std::memcpy(rng.s.data(), seed.data(), seed.size());
    } while ((rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]) == 0);
    seeded = true;
  }
  delivery_id id{};
  const auto ms = static_cast<std::uint64_t>(now_ms);
  for (int i = 0; i < 6; ++i) id[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  const std::uint64_t a = rng.next();
  const std::uint64_t b = rng.next();
  for (int i = 0; i < 2; ++i) id[6 + i] = static_cast<std::uint8_t>(a >> (8 * i));
  for (int i = 0; i < 8; ++i) id[8 + i] = static_cast<std::uint8_t>(b >> (8 * i));
  id[6] = static_cast<std::uint8_t>(0x70 | (id[6] & 0x0f));  // version 7
  id[8] = static_cast<std::uint8_t>(0x80 | (id[8] & 0x3f));  // variant 10
  return id;
}

std::string format_uuid(const delivery_id& id) {
  constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(digits[id[i] >> 4]);
    out.push_back(digits[id[i] & 15]);
  }
  return out;
}

std::optional<delivery_id> parse_uuid(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return std::nullopt;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  delivery_id id{};
  std::size_t out = 0;
  for (std::size_t i = 0; i < text.size();) {
    // Only the four separators checked above are skipped: a dash anywhere else is not
    // a hex digit (and skipping it would misalign the pairs and read past the end).
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      ++i;
      continue;
    }
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id[out++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return id;
}

}  // namespace hookd::engine
