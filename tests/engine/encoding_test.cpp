// The text encodings of engine/encoding.hpp against published vectors (RFC 4648
// section 10) and hand-checked timestamps.
#include "engine/encoding.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace hookd::engine {
namespace {

std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> out;
  for (char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> values) {
  std::vector<std::byte> out;
  for (unsigned v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

std::vector<std::byte> every_byte_value() {
  std::vector<std::byte> out;
  for (unsigned v = 0; v < 256; ++v) out.push_back(static_cast<std::byte>(v));
  return out;
}

// --- base64 and base64url ------------------------------------------------------------

struct base64_case {
  std::string input;
  std::string base64;
  std::string base64url;
};

class Base64Rfc4648 : public ::testing::TestWithParam<base64_case> {};

TEST_P(Base64Rfc4648, EncodesTestVectorWithPadding) {
  EXPECT_EQ(base64_encode(bytes_of(GetParam().input)), GetParam().base64);
}

TEST_P(Base64Rfc4648, EncodesTestVectorAsBase64UrlWithoutPadding) {
  EXPECT_EQ(base64url_encode(bytes_of(GetParam().input)), GetParam().base64url);
}

// RFC 4648 section 10.
INSTANTIATE_TEST_SUITE_P(, Base64Rfc4648,
                         ::testing::Values(base64_case{"", "", ""}, base64_case{"f", "Zg==", "Zg"},
                                           base64_case{"fo", "Zm8=", "Zm8"},
                                           base64_case{"foo", "Zm9v", "Zm9v"},
                                           base64_case{"foob", "Zm9vYg==", "Zm9vYg"},
                                           base64_case{"fooba", "Zm9vYmE=", "Zm9vYmE"},
                                           base64_case{"foobar", "Zm9vYmFy", "Zm9vYmFy"}),
                         [](const auto& info) {
                           return info.param.input.empty() ? std::string("Empty")
                                                           : info.param.input;
                         });

TEST(Base64, UsesPlusAndSlashWhereBase64UrlUsesDashAndUnderscore) {
  EXPECT_EQ(base64_encode(bytes_of({0xfb, 0xef, 0xbe})), "++++");
  EXPECT_EQ(base64url_encode(bytes_of({0xfb, 0xef, 0xbe})), "----");
  EXPECT_EQ(base64_encode(bytes_of({0xff, 0xff, 0xff})), "////");
  EXPECT_EQ(base64url_encode(bytes_of({0xff, 0xff, 0xff})), "____");
  EXPECT_EQ(base64_encode(bytes_of({0xfb, 0xff})), "+/8=");
  EXPECT_EQ(base64url_encode(bytes_of({0xfb, 0xff})), "-_8");
}

TEST(Base64, EncodesZeroBytes) {
  EXPECT_EQ(base64_encode(bytes_of({0x00})), "AA==");
  EXPECT_EQ(base64_encode(bytes_of({0x00, 0x00, 0x00})), "AAAA");
  EXPECT_EQ(base64url_encode(bytes_of({0x00, 0x00})), "AAA");
}

TEST(Base64, OutputLengthIsFourPerStartedTripleAndUnpaddedForUrl) {
  const auto all = every_byte_value();
  for (std::size_t n = 0; n <= 30; ++n) {
    const std::span<const std::byte> prefix(all.data(), n);
    EXPECT_EQ(base64_encode(prefix).size(), (n + 2) / 3 * 4) << n;
    EXPECT_EQ(base64url_encode(prefix).size(), (n * 8 + 5) / 6) << n;
  }
}

TEST(Base64, UrlVariantIsStandardWithUrlAlphabetAndNoPadding) {
  const auto all = every_byte_value();
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const std::span<const std::byte> prefix(all.data(), n);
    std::string expected = base64_encode(prefix);
    while (!expected.empty() && expected.back() == '=') expected.pop_back();
    for (char& c : expected) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    ASSERT_EQ(base64url_encode(prefix), expected) << n;
  }
}

TEST(Base64, EncodingOf24BytesIs32CharactersWithoutPadding) {
  const auto all = every_byte_value();
  const std::string encoded = base64_encode(std::span<const std::byte>(all.data(), 24));
  EXPECT_EQ(encoded.size(), 32u);
  EXPECT_EQ(encoded.find('='), std::string::npos);
  EXPECT_EQ(encoded, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX");
}

// --- hex -------------------------------------------------------------------------------

TEST(Hex, EncodesLowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(hex_encode(std::span<const std::byte>()), "");
  EXPECT_EQ(hex_encode(bytes_of({0x00, 0x01, 0x0f, 0x10, 0xab, 0xff})), "00010f10abff");
  EXPECT_EQ(hex_encode(bytes_of("hookd")), "686f6f6b64");
}

TEST(Hex, DecodesLowerAndUpperCase) {
  EXPECT_EQ(hex_decode("686f6f6b64"), "hookd");
  EXPECT_EQ(hex_decode("00ABff"), std::string("\x00\xab\xff", 3));
  EXPECT_EQ(hex_decode(""), "");
}

TEST(Hex, RoundTripsEveryByteValue) {
  const auto all = every_byte_value();
  const std::string hex = hex_encode(all);
  ASSERT_EQ(hex.size(), 512u);
  auto decoded = hex_decode(hex);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(static_cast<std::byte>((*decoded)[i]), all[i]) << i;
  }
}

TEST(Hex, RejectsInvalidInput) {
  for (std::string_view bad :
       {"a", "abc", "zz", "0g", "g0", "0x00", "ab cd", " ab", "ab\n", "-1", "\xc3\xa9\xc3\xa9"}) {
    EXPECT_FALSE(hex_decode(bad).has_value()) << '"' << bad << '"';
  }
}

// --- RFC 3339 ----------------------------------------------------------------------------

// Unix milliseconds of hand-checked instants.
constexpr std::int64_t k_leap_day_2024 = 1'709'210'096'789;       // 2024-02-29T12:34:56.789Z
constexpr std::int64_t k_leap_day_2000 = 951'782'400'000;         // 2000-02-29T00:00:00.000Z
constexpr std::int64_t k_manual_clock_start = 1'700'000'000'000;  // 2023-11-14T22:13:20.000Z

TEST(Rfc3339, FormatsEpoch) { EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z"); }

TEST(Rfc3339, FormatsLeapDaysWithMilliseconds) {
  EXPECT_EQ(format_rfc3339(k_leap_day_2024), "2024-02-29T12:34:56.789Z");
  EXPECT_EQ(format_rfc3339(k_leap_day_2000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(k_manual_clock_start), "2023-11-14T22:13:20.000Z");
}

TEST(Rfc3339, FormatsMillisecondsWithThreeDigits) {
  EXPECT_EQ(format_rfc3339(1), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(format_rfc3339(10), "1970-01-01T00:00:00.010Z");
  EXPECT_EQ(format_rfc3339(999), "1970-01-01T00:00:00.999Z");
  EXPECT_EQ(format_rfc3339(86'399'999), "1970-01-01T23:59:59.999Z");
}

TEST(Rfc3339, FormatsInstantsBeforeEpoch) {
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Rfc3339, ParsesEpoch) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.000Z"), 0);
}

TEST(Rfc3339, ParsesLeapDays) {
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.789Z"), k_leap_day_2024);
  EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), k_leap_day_2000);
}

TEST(Rfc3339, ParsesFractionsToMillisecondsTruncatingExtraDigits) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.5Z"), 500);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.05Z"), 50);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.123Z"), 123);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.123999999Z"), 123);
}

TEST(Rfc3339, ParsesNumericOffsets) {
  EXPECT_EQ(parse_rfc3339("2024-02-29T14:34:56.789+02:00"), k_leap_day_2024);
  EXPECT_EQ(parse_rfc3339("2024-02-29T07:04:56.789-05:30"), k_leap_day_2024);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.789+00:00"), k_leap_day_2024);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.789-00:00"), k_leap_day_2024);
}

TEST(Rfc3339, OffsetsMayCrossTheDate) {
  // 2024-03-01T01:00+02:00 is still 29 February in UTC.
  EXPECT_EQ(parse_rfc3339("2024-03-01T01:00:00+02:00"), parse_rfc3339("2024-02-29T23:00:00Z"));
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:00:00-01:00"), 0);
}

TEST(Rfc3339, AcceptsLowerCaseSeparatorAndZulu) {
  EXPECT_EQ(parse_rfc3339("2024-02-29t12:34:56.789z"), k_leap_day_2024);
}

TEST(Rfc3339, ParseInvertsFormat) {
  for (std::int64_t ms :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, k_leap_day_2024, k_leap_day_2000,
        k_manual_clock_start, std::int64_t{253'402'300'799'999}}) {
    EXPECT_EQ(parse_rfc3339(format_rfc3339(ms)), ms) << format_rfc3339(ms);
  }
}

TEST(Rfc3339, RejectsInvalidInput) {
  for (std::string_view bad : {
           "",
           "2024-02-29",
           "2024-02-29T12:34:56",        // no offset
           "2024-02-29T12:34:56.789",    // no offset
           "2024-02-29X12:34:56Z",       // separator
           "2024/02/29T12:34:56Z",       // date separators
           "2024-2-29T12:34:56Z",        // one-digit month
           "24-02-29T12:34:56Z",         // two-digit year
           "2023-02-29T00:00:00Z",       // 2023 is not a leap year
           "1900-02-29T00:00:00Z",       // neither is 1900
           "2024-02-30T00:00:00Z",       // no such day
           "2024-13-01T00:00:00Z",       // no such month
           "2024-00-10T00:00:00Z",       // no month zero
           "2024-01-00T00:00:00Z",       // no day zero
           "2024-01-01T24:00:00Z",       // hour
           "2024-01-01T00:60:00Z",       // minute
           "2024-01-01T00:00:61Z",       // second
           "2024-01-01T00:00:00.Z",      // empty fraction
           "2024-01-01T00:00:00+0200",   // offset without colon
           "2024-01-01T00:00:00+02",     // offset without minutes
           "2024-01-01T00:00:00+24:00",  // offset hour
           "2024-01-01T00:00:00+02:60",  // offset minute
           "2024-01-01T00:00:00Zjunk",   // trailing text
           "2024-01-01T00:00:00 Z",      // space before zone
           "+024-01-01T00:00:00Z",       // sign in year
           "2024-01-01T-1:00:00Z",       // sign in hour
           "2024-01-01T00:00:00.12a4Z",  // letter in fraction
           "now",
       }) {
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace hookd::engine
