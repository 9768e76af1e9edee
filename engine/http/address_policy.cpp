// The address policy's tables: the non-public IPv4 and IPv6 ranges (and the IPv6
// forms that embed an IPv4 address), CIDR parsing and matching, the allow decision.

#include "engine/http/address_policy.hpp"

#include <algorithm>
#include <initializer_list>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace hookd::engine {
namespace {

namespace net = boost::asio;

bool is_non_public_v4(std::uint8_t a, std::uint8_t b, std::uint8_t c) noexcept {
  if (a == 0 || a == 10 || a == 127) return true;    // "this network", RFC 1918, loopback
  if (a == 100 && (b & 0xc0) == 64) return true;     // 100.64/10 CGNAT
  if (a == 169 && b == 254) return true;             // link-local
  if (a == 172 && (b & 0xf0) == 16) return true;     // 172.16/12
  if (a == 192 && b == 0 && c == 0) return true;     // 192.0.0/24 IETF protocol assignments
  if (a == 192 && b == 0 && c == 2) return true;     // 192.0.2/24 TEST-NET-1
  if (a == 192 && b == 88 && c == 99) return true;   // 192.88.99/24 6to4 relay anycast
  if (a == 198 && b == 51 && c == 100) return true;  // 198.51.100/24 TEST-NET-2
  if (a == 203 && b == 0 && c == 113) return true;   // 203.0.113/24 TEST-NET-3
  if (a == 192 && b == 168) return true;             // 192.168/16
  if (a == 198 && (b & 0xfe) == 18) return true;     // 198.18/15 benchmarking
  return a >= 224;  // 224/4 multicast, 240/4 reserved, 255.255.255.255 broadcast
}

bool starts_with(const ip_bytes& a, std::initializer_list<std::uint8_t> prefix) noexcept {
  return std::equal(prefix.begin(), prefix.end(), a.begin());
}

}  // namespace

std::optional<cidr> cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string address_text(text.substr(0, slash));
  if (address_text.empty() || address_text.find('%') != std::string::npos) return std::nullopt;
  boost::system::error_code ec;
  const auto address = net::ip::make_address(address_text, ec);
  if (ec) return std::nullopt;
  const unsigned bits = address.is_v4() ? 32 : 128;
  unsigned prefix = bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    prefix = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > bits) return std::nullopt;
  }
  cidr out;
  out.address = address.is_v6()
                    ? address.to_v6().to_bytes()
                    : net::ip::make_address_v6(net::ip::v4_mapped, address.to_v4()).to_bytes();
  out.prefix = prefix + (128 - bits);
  // Host bits are cleared, so "10.1.2.3/8" is the network 10.0.0.0/8.
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned keep = std::min(8u, out.prefix > i * 8 ? out.prefix - i * 8 : 0u);
    out.address[i] &= static_cast<std::uint8_t>(0xff00u >> keep);
  }
  return out;
}

bool cidr::contains(const ip_bytes& a) const noexcept {
  const unsigned whole = prefix / 8;
  const unsigned rest = prefix % 8;
  if (!std::equal(a.begin(), a.begin() + whole, address.begin())) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (address[whole] & mask);
}

bool is_non_public_address(const ip_bytes& a) noexcept {
  // IPv4-mapped (::ffff:0:0/96) and the deprecated IPv4-compatible form (::/96, which
  // also covers :: and ::1): judge the embedded IPv4 address.
  if (starts_with(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) ||
      starts_with(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return is_non_public_v4(a[12], a[13], a[14]);
  }
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they embed.
  if (starts_with(a, {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return is_non_public_v4(a[12], a[13], a[14]);
  }
  // IPv4-translated (::ffff:0:0:0/96) and local-use NAT64 (64:ff9b:1::/48).
  if (starts_with(a, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0})) {
    return is_non_public_v4(a[12], a[13], a[14]);
  }
  if (starts_with(a, {0, 0x64, 0xff, 0x9b, 0, 1})) return true;
  if (starts_with(a, {0x20, 0x02})) return is_non_public_v4(a[2], a[3], a[4]);
  if (starts_with(a, {0x01, 0, 0, 0, 0, 0, 0, 0})) return true;  // 100::/64 discard
  if (starts_with(a, {0x20, 0x01, 0x0d, 0xb8})) return true;     // 2001:db8::/32 documentation
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return true;        // fec0::/10 site-local
  if ((a[0] & 0xfe) == 0xfc) return true;                        // fc00::/7 unique local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return true;        // fe80::/10 link-local
  return a[0] == 0xff;                                           // ff00::/8 multicast
}

bool address_policy::allows(const ip_bytes& address) const noexcept {
  if (allow_private_) return true;
  if (!is_non_public_address(address)) return true;
  return std::any_of(allowed_.begin(), allowed_.end(),
                     [&](const cidr& n) { return n.contains(address); });
}

}  // namespace hookd::engine
