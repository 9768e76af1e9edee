// Which destinations the client may reach: the non-public ranges, CIDR parsing, and the
// allow decision of private targets and allowed networks.
#include "engine/http/address_policy.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/ip/address.hpp>

namespace hookd::test {
namespace {

namespace net = boost::asio;

// 16 bytes as the policy takes them, built independently of address_policy.cpp.
std::array<std::uint8_t, 16> bytes_of(const std::string& text) {
  const auto a = net::ip::make_address(text);
  std::array<std::uint8_t, 16> out{};
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    out[10] = out[11] = 0xff;
    std::copy(b.begin(), b.end(), out.begin() + 12);
  } else {
    const auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out.begin());
  }
  return out;
}

TEST(NonPublicAddress, ClassifiesTheReservedRanges) {
  const std::vector<std::pair<std::string, bool>> table = {
      {"0.0.0.0", true},
      {"0.1.2.3", true},
      {"10.1.2.3", true},
      {"100.64.0.1", true},
      {"100.127.255.255", true},
      {"100.128.0.1", false},
      {"127.0.0.1", true},
      {"127.255.255.254", true},
      {"169.254.169.254", true},
      {"172.16.0.1", true},
      {"172.31.255.255", true},
      {"172.32.0.1", false},
      {"192.0.0.8", true},
      {"192.0.2.1", true},
      {"192.0.3.1", false},
      {"192.88.99.1", true},
      {"198.51.100.7", true},
      {"203.0.113.9", true},
      {"192.168.1.1", true},
      {"198.18.0.1", true},
      {"198.19.255.255", true},
      {"198.20.0.1", false},
      {"224.0.0.1", true},
      {"239.255.255.255", true},
      {"240.0.0.1", true},
      {"255.255.255.255", true},
      {"8.8.8.8", false},
      {"1.1.1.1", false},
      {"11.0.0.1", false},
      {"223.255.255.255", false},
      {"::", true},
      {"::1", true},
      {"fc00::1", true},
      {"fd12:3456::1", true},
      {"fe80::1", true},
      {"febf::1", true},
      {"ff02::1", true},
      {"2001:4860:4860::8888", false},
      {"2606:4700::1111", false},
      {"::ffff:127.0.0.1", true},
      {"::ffff:10.0.0.1", true},
      {"::ffff:8.8.8.8", false},
      {"64:ff9b::a00:1", true},
      {"64:ff9b::808:808", false},
      {"2002:c0a8:101::1", true},
      {"2002:808:808::1", false},
      {"fec0::1", true},
      {"64:ff9b:1::a", true},
      {"::ffff:0:7f00:1", true},
      {"::ffff:0:808:808", false},
      {"100::1", true},
      {"2001:db8::1", true},
  };
  for (const auto& [text, expected] : table) {
    EXPECT_EQ(engine::is_non_public_address(bytes_of(text)), expected) << text;
  }
}

TEST(Cidr, ParsesIpv4AndIpv6Networks) {
  auto v4 = engine::cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->prefix, 104u);
  EXPECT_EQ(v4->address, bytes_of("10.0.0.0"));

  auto masked = engine::cidr::parse("10.1.2.3/8");
  ASSERT_TRUE(masked);
  EXPECT_EQ(masked->address, bytes_of("10.0.0.0"));

  auto odd = engine::cidr::parse("172.16.255.1/12");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->prefix, 108u);
  EXPECT_EQ(odd->address, bytes_of("172.16.0.0"));

  auto v6 = engine::cidr::parse("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->prefix, 8u);
  EXPECT_EQ(v6->address, bytes_of("fd00::"));

  auto host = engine::cidr::parse("127.0.0.1");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix, 128u);

  auto all = engine::cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->prefix, 96u);

  auto full = engine::cidr::parse("::1/128");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->prefix, 128u);
}

TEST(Cidr, RejectsMalformedText) {
  for (const char* text :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0/8", "10.0.0.0/8x", "10.0.0.0/-1",
        "10.0.0.0/+8", "fd00::/129", "x/8", "fe80::1%eth0/64", "10.0.0.0/0008", "localhost/8"}) {
    EXPECT_FALSE(engine::cidr::parse(text)) << text;
  }
}

TEST(AddressPolicy, RefusesNonPublicAddressesByDefault) {
  const engine::address_policy policy(false, {});
  EXPECT_FALSE(policy.allows(bytes_of("127.0.0.1")));
  EXPECT_FALSE(policy.allows(bytes_of("10.0.0.1")));
  EXPECT_FALSE(policy.allows(bytes_of("::1")));
  EXPECT_FALSE(policy.allows(bytes_of("::ffff:192.168.0.1")));
  EXPECT_TRUE(policy.allows(bytes_of("8.8.8.8")));
  EXPECT_TRUE(policy.allows(bytes_of("2606:4700::1111")));
}

TEST(AddressPolicy, AllowedNetworksPermitOnlyTheirAddresses) {
  const engine::address_policy policy(
      false, {*engine::cidr::parse("10.1.0.0/16"), *engine::cidr::parse("fd00::/8")});
  EXPECT_TRUE(policy.allows(bytes_of("10.1.2.3")));
  EXPECT_TRUE(policy.allows(bytes_of("fd12::1")));
  EXPECT_FALSE(policy.allows(bytes_of("10.2.0.1")));
  EXPECT_FALSE(policy.allows(bytes_of("127.0.0.1")));
  EXPECT_TRUE(policy.allows(bytes_of("1.1.1.1")));
}

TEST(AddressPolicy, AllowPrivateTargetsPermitsEverything) {
  const engine::address_policy policy(true, {});
  for (const char* a : {"127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fe80::1", "8.8.8.8"}) {
    EXPECT_TRUE(policy.allows(bytes_of(a))) << a;
  }
}

}  // namespace
}  // namespace hookd::test
