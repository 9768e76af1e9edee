// Which destinations the client may connect to (SSRF protection): the non-public
// address ranges, networks written as CIDR, and the allow decision built from both.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/engine/options.hpp"

namespace hookd::engine {

// Whether an address is loopback, private (RFC 1918, ULA), link-local, multicast,
// unspecified, CGNAT or otherwise not a public destination. 16 bytes, IPv4-mapped
// for IPv4.
bool is_non_public_address(const ip_bytes& address) noexcept;

// The decision, checked on each resolved address right before connecting (so a name
// that resolves to a private address is refused as well as a literal one).
class address_policy {
 public:
  // `allow_private_targets` permits every address; `allowed_networks` permit theirs
  // even when it is off.
  address_policy(bool allow_private_targets, std::vector<cidr> allowed_networks)
      : allow_private_(allow_private_targets), allowed_(std::move(allowed_networks)) {}

  bool allows(const ip_bytes& address) const noexcept;

 private:
  bool allow_private_;
  std::vector<cidr> allowed_;
};

}  // namespace hookd::engine
