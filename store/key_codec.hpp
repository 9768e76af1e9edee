// Key encodings shared by the store's column families. Integers are big-endian so
// RocksDB's bytewise order is numeric order; text parts end in 0x00, which names
// and event types never contain (validated at the edge).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hookd::store {

inline void append_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

inline std::optional<std::uint64_t> read_be64(std::string_view in) {
  if (in.size() != 8) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : in) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

inline std::string be64_key(std::uint64_t v) {
  std::string k;
  k.reserve(8);
  append_be64(k, v);
  return k;
}

inline void append_part(std::string& out, std::string_view part) {
  out.append(part);
  out.push_back('\0');
}

}  // namespace hookd::store
