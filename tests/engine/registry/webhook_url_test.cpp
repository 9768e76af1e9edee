// The one URL parser: what a webhook URL becomes (origin, Host header, target, the
// address of an IP literal), the rules a new URL must follow, and the leniency kept
// for URLs already stored.
#include "engine/registry/webhook_url.hpp"

#include <array>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace hookd::engine {
namespace {

webhook_url parsed(std::string_view text) {
  auto u = parse_webhook_url(text);
  EXPECT_TRUE(u) << text << ": " << (u ? "" : u.error().message);
  return u ? std::move(*u) : webhook_url{};
}

std::string problem(std::string_view text) {
  auto u = parse_webhook_url(text);
  EXPECT_FALSE(u) << text << " was accepted";
  return u ? std::string() : u.error().message;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

TEST(WebhookUrl, HttpsDefaultsToPort443) {
  const auto u = parsed("https://hooks.example.com/in");
  EXPECT_TRUE(u.https);
  EXPECT_EQ(u.host, "hooks.example.com");
  EXPECT_EQ(u.host_kind, url_host_kind::name);
  EXPECT_EQ(u.address, (std::array<std::uint8_t, 16>{}));
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.origin, "https://hooks.example.com:443");
  EXPECT_EQ(u.host_header, "hooks.example.com");
  EXPECT_EQ(u.target, "/in");
  EXPECT_TRUE(u.undeliverable.empty());
}

TEST(WebhookUrl, HttpDefaultsToPort80) {
  const auto u = parsed("http://hooks.example.com/in");
  EXPECT_FALSE(u.https);
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.origin, "http://hooks.example.com:80");
  EXPECT_EQ(u.host_header, "hooks.example.com");
}

TEST(WebhookUrl, ExplicitPortIsInTheOriginAndHostHeader) {
  const auto u = parsed("https://hooks.example.com:8443/in");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.origin, "https://hooks.example.com:8443");
  EXPECT_EQ(u.host_header, "hooks.example.com:8443");
}

TEST(WebhookUrl, DefaultPortWrittenOutIsLeftOutOfTheHostHeader) {
  const auto u = parsed("http://hooks.example.com:80/in");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.host_header, "hooks.example.com");
  EXPECT_EQ(u.origin, parsed("http://hooks.example.com/in").origin);
  // An empty port is the default too (RFC 3986), and leading zeros are the same port.
  EXPECT_EQ(parsed("http://hooks.example.com:/in").port, 80);
  EXPECT_EQ(parsed("http://hooks.example.com:08080/in").origin, "http://hooks.example.com:8080");
}

TEST(WebhookUrl, SchemeAndHostAreCaseFolded) {
  const auto u = parsed("HTTPS://Hooks.Example.COM:8443/In/Path?Q=A");
  EXPECT_TRUE(u.https);
  EXPECT_EQ(u.host, "hooks.example.com");
  EXPECT_EQ(u.origin, "https://hooks.example.com:8443");
  EXPECT_EQ(u.host_header, "hooks.example.com:8443");
  // The path and query are the receiver's, sent as written.
  EXPECT_EQ(u.target, "/In/Path?Q=A");
}

TEST(WebhookUrl, TargetKeepsPathAndQueryAsWritten) {
  EXPECT_EQ(parsed("https://example.com/a/b%20c?x=1&y=%2F").target, "/a/b%20c?x=1&y=%2F");
  EXPECT_EQ(parsed("https://example.com").target, "/");
  EXPECT_EQ(parsed("https://example.com?x=1").target, "/?x=1");
  EXPECT_EQ(parsed("https://example.com/?").target, "/?");
}

TEST(WebhookUrl, Ipv4LiteralCarriesItsAddress) {
  const auto u = parsed("http://203.0.113.7:8080/hook");
  EXPECT_EQ(u.host_kind, url_host_kind::ipv4);
  EXPECT_EQ(u.host, "203.0.113.7");
  EXPECT_EQ(u.address, (std::array<std::uint8_t, 16>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203,
                                                     0, 113, 7}));
  EXPECT_EQ(u.origin, "http://203.0.113.7:8080");
  EXPECT_EQ(u.host_header, "203.0.113.7:8080");
}

TEST(WebhookUrl, Ipv6LiteralIsCanonicalWithoutBracketsInHostAndWithThemElsewhere) {
  const auto u = parsed("http://[2001:DB8:0::1]:8080/hook");
  EXPECT_EQ(u.host_kind, url_host_kind::ipv6);
  EXPECT_EQ(u.host, "2001:db8::1");
  EXPECT_EQ(u.address, (std::array<std::uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 1}));
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.origin, "http://[2001:db8::1]:8080");
  EXPECT_EQ(u.host_header, "[2001:db8::1]:8080");
  EXPECT_EQ(parsed("https://[::1]/").host_header, "[::1]");
  EXPECT_EQ(parsed("https://[::1]/").origin, "https://[::1]:443");
}

TEST(WebhookUrl, NumbersThatAreNotDottedQuadsAreNames) {
  // Resolved like any name; the address policy judges what they resolve to.
  EXPECT_EQ(parsed("http://127.1/").host_kind, url_host_kind::name);
}

TEST(WebhookUrl, EachRuleIsNamedInItsMessage) {
  EXPECT_EQ(problem(""), "must not be empty");
  EXPECT_TRUE(contains(problem("/relative"), "must be an absolute http or https URL"));
  EXPECT_TRUE(contains(problem("example.com/x"), "must be an absolute http or https URL"));
  EXPECT_EQ(problem("ftp://example.com/"), "must use http or https, got \"ftp\"");
  EXPECT_EQ(problem("FTP://example.com/"), "must use http or https, got \"ftp\"");
  EXPECT_EQ(problem("http:no-authority"), "must have a host");
  EXPECT_EQ(problem("https:///path"), "must have a host");
  EXPECT_TRUE(contains(problem("https://user:pass@example.com/"), "must not contain user-info"));
  EXPECT_TRUE(contains(problem("https://@example.com/"), "must not contain user-info"));
  EXPECT_TRUE(contains(problem("https://example.com/a#frag"), "must not contain a fragment"));
  EXPECT_TRUE(contains(problem("https://example.com/a#"), "must not contain a fragment"));
  EXPECT_EQ(problem("https://example.com:0/"), "must have a port from 1 to 65535, got \"0\"");
  EXPECT_EQ(problem("https://example.com:65536/"),
            "must have a port from 1 to 65535, got \"65536\"");
  EXPECT_EQ(problem("https://example.com:99999999999999999999/"),
            "must have a port from 1 to 65535, got \"99999999999999999999\"");
  EXPECT_EQ(problem("https://example.com:8a/x"),
            "must have a port from 1 to 65535 after the host, got \"8a\"");
  EXPECT_EQ(problem("https://example.com:1:2/"),
            "must have a port from 1 to 65535 after the host, got \"1:2\"");
  EXPECT_EQ(problem("https://%65xample.com/"),
            "must not percent-encode the host name, got \"%65xample.com\"");
  EXPECT_TRUE(contains(problem("https://[v1.fe80::a]/"), "must not use an IPvFuture host"));
  EXPECT_EQ(problem("https://example.com/" + std::string(k_max_url_bytes, 'a')),
            "must be at most 2048 bytes, got " + std::to_string(k_max_url_bytes + 20));
}

TEST(WebhookUrl, LongestAllowedUrlIsAccepted) {
  const std::string prefix = "https://example.com/";
  EXPECT_TRUE(parse_webhook_url(prefix + std::string(k_max_url_bytes - prefix.size(), 'a')));
}

TEST(StoredWebhookUrl, IgnoresUserInfoAndFragmentAsDeliveryAlwaysDid) {
  const auto u = parse_stored_webhook_url("https://user:pass@Example.com:8443/in?a=1#top");
  EXPECT_TRUE(u.undeliverable.empty()) << u.undeliverable;
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.origin, "https://example.com:8443");
  EXPECT_EQ(u.host_header, "example.com:8443");
  EXPECT_EQ(u.target, "/in?a=1");
}

TEST(StoredWebhookUrl, AcceptsWhatTheNewRulesDoAndTheSame) {
  const auto stored = parse_stored_webhook_url("http://[2001:db8::1]:8080/hook?x=1");
  const auto fresh = parsed("http://[2001:db8::1]:8080/hook?x=1");
  EXPECT_EQ(stored.origin, fresh.origin);
  EXPECT_EQ(stored.host, fresh.host);
  EXPECT_EQ(stored.address, fresh.address);
  EXPECT_EQ(stored.target, fresh.target);
  EXPECT_EQ(stored.host_header, fresh.host_header);
}

TEST(StoredWebhookUrl, WhatNoRequestCanBeMadeToIsMarkedUndeliverableWithItsReason) {
  for (const std::string text : {"ftp://example.com/", "not a url", "https://example.com:0/",
                                 "https://%65xample.com/", "https://[v1.x]/", ""}) {
    const auto u = parse_stored_webhook_url(text);
    EXPECT_FALSE(u.undeliverable.empty()) << text;
    EXPECT_TRUE(contains(u.undeliverable, "cannot be delivered")) << u.undeliverable;
    // Its own queue: never mixed up with a real origin.
    EXPECT_EQ(u.origin, text);
  }
  EXPECT_TRUE(contains(parse_stored_webhook_url("https://example.com:0/").undeliverable,
                       "must have a port from 1 to 65535"));
}

}  // namespace
}  // namespace hookd::engine
