// Delivery ids (engine/uuid.hpp): UUIDv7 layout per RFC 9562 section 5.7, time
// ordering, uniqueness, and the canonical text form.
#include "engine/uuid.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/deterministic_random.hpp"

#include "hookd/engine/random.hpp"

namespace hookd::engine {
namespace {

using counter_random = test::deterministic_random;  // seed 42

// 2024-06-18T08:21:40.123Z
constexpr std::int64_t k_now_ms = 1'718'698'900'123;

std::uint64_t timestamp_of(const delivery_id& id) {
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | id[i];
  return ms;
}

// --- make_uuid_v7 ----------------------------------------------------------------------

TEST(Uuid, SetsVersionSeven) {
  counter_random random;
  for (int i = 0; i < 100; ++i) {
    const delivery_id id = make_uuid_v7(k_now_ms + i, random);
    EXPECT_EQ(id[6] >> 4, 0x7) << format_uuid(id);
    EXPECT_EQ(format_uuid(id)[14], '7') << format_uuid(id);
  }
}

TEST(Uuid, SetsRfc9562Variant) {
  counter_random random;
  for (int i = 0; i < 100; ++i) {
    const delivery_id id = make_uuid_v7(k_now_ms + i, random);
    EXPECT_EQ(id[8] >> 6, 0b10) << format_uuid(id);
  }
}

TEST(Uuid, EmbedsMillisecondTimestampInFirst48BitsBigEndian) {
  counter_random random;
  for (std::int64_t ms :
       {std::int64_t{0}, std::int64_t{1}, k_now_ms, (std::int64_t{1} << 48) - 1}) {
    const delivery_id id = make_uuid_v7(ms, random);
    EXPECT_EQ(timestamp_of(id), static_cast<std::uint64_t>(ms)) << format_uuid(id);
  }
  const delivery_id id = make_uuid_v7(0x0190163d8694, random);
  EXPECT_TRUE(format_uuid(id).starts_with("0190163d-8694-7")) << format_uuid(id);
}

TEST(Uuid, IdsWithIncreasingTimeSortInIncreasingByteOrder) {
  counter_random random;
  std::vector<delivery_id> ids;
  for (std::int64_t ms = k_now_ms; ms < k_now_ms + 1000; ++ms) {
    ids.push_back(make_uuid_v7(ms, random));
  }
  ids.push_back(make_uuid_v7(k_now_ms + 1'000'000, random));
  ids.push_back(make_uuid_v7(std::int64_t{1} << 41, random));  // a new top byte
  for (std::size_t i = 1; i < ids.size(); ++i) {
    EXPECT_LT(ids[i - 1], ids[i]) << format_uuid(ids[i - 1]) << " vs " << format_uuid(ids[i]);
    // The text form sorts the same way.
    EXPECT_LT(format_uuid(ids[i - 1]), format_uuid(ids[i]));
  }
}

TEST(Uuid, TenThousandIdsInSameMillisecondAreUnique) {
  counter_random random;
  std::set<delivery_id> seen;
  for (int i = 0; i < 10'000; ++i) seen.insert(make_uuid_v7(k_now_ms, random));
  EXPECT_EQ(seen.size(), 10'000u);
}

// --- format_uuid and parse_uuid --------------------------------------------------------

TEST(Uuid, FormatsCanonicalLowerCaseForm) {
  const delivery_id id = {0x01, 0x90, 0x16, 0x3d, 0x86, 0x94, 0x73, 0x9b,
                          0xae, 0xa5, 0x96, 0x6c, 0x26, 0xf8, 0xad, 0x91};
  EXPECT_EQ(format_uuid(id), "0190163d-8694-739b-aea5-966c26f8ad91");
}

TEST(Uuid, FormatAndParseRoundTrip) {
  counter_random random;
  for (int i = 0; i < 1000; ++i) {
    const delivery_id id = make_uuid_v7(k_now_ms + i, random);
    const std::string text = format_uuid(id);
    ASSERT_EQ(text.size(), 36u);
    EXPECT_EQ(parse_uuid(text), id) << text;
  }
  const delivery_id all_ff = [] {
    delivery_id id{};
    id.fill(0xff);
    return id;
  }();
  EXPECT_EQ(parse_uuid(format_uuid(all_ff)), all_ff);
  EXPECT_EQ(parse_uuid(format_uuid(delivery_id{})), delivery_id{});
}

TEST(Uuid, ParseAcceptsUpperAndMixedCase) {
  const std::optional<delivery_id> lower = parse_uuid("0190163d-8694-739b-aea5-966c26f8ad91");
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(parse_uuid("0190163D-8694-739B-AEA5-966C26F8AD91"), lower);
  EXPECT_EQ(parse_uuid("0190163d-8694-739B-aEa5-966C26f8aD91"), lower);
}

TEST(Uuid, ParseRejectsWrongLength) {
  EXPECT_EQ(parse_uuid(""), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163d-8694-739b-aea5-966c26f8ad9"), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163d-8694-739b-aea5-966c26f8ad911"), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163d8694739baea5966c26f8ad91"), std::nullopt);
  EXPECT_EQ(parse_uuid("{0190163d-8694-739b-aea5-966c26f8ad91}"), std::nullopt);
}

TEST(Uuid, ParseRejectsMisplacedDashes) {
  EXPECT_EQ(parse_uuid("0190163d8-694-739b-aea5-966c26f8ad91"), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163-d8694-739b-aea5-966c26f8ad91"), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163d-8694739b--aea5-966c26f8ad91"), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163d-8694-739b-aea5966c-26f8ad91"), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163d_8694_739b_aea5_966c26f8ad91"), std::nullopt);
}

TEST(Uuid, ParseRejectsDashInPlaceOfHexDigit) {
  // The four separators are where they belong, but extra dashes replace digits.
  EXPECT_EQ(parse_uuid("--90163d-8694-739b-aea5-966c26f8ad91"), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163d-8694-739b-aea5-966c26f8ad--"), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163d-8694-739b-aea5-966c26f8a-91"), std::nullopt);
  // A dash at the very end: must not read past the text.
  const std::array<char, 36> unterminated = {
      '0', '1', '9', '0', '1', '6', '3', 'd', '-', '8', '6', '9', '4', '-', '7', '3', '9', 'b',
      '-', 'a', 'e', 'a', '5', '-', '-', '6', '6', 'c', '2', '6', 'f', '8', 'a', 'd', '9', '1'};
  EXPECT_EQ(parse_uuid(std::string_view(unterminated.data(), unterminated.size())), std::nullopt);
}

TEST(Uuid, ParseRejectsNonHexCharacters) {
  EXPECT_EQ(parse_uuid("0190163g-8694-739b-aea5-966c26f8ad91"), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163d-8694-739b-aea5-966c26f8ad9z"), std::nullopt);
  EXPECT_EQ(parse_uuid("0190163d-8694-739b-aea5-966c26f8ad9 "), std::nullopt);
  EXPECT_EQ(parse_uuid("x190163d-8694-739b-aea5-966c26f8ad91"), std::nullopt);
  EXPECT_EQ(parse_uuid(std::string_view("0190163d-8694-739b-aea5-966c26f8ad9\0", 36)),
            std::nullopt);
}

}  // namespace
}  // namespace hookd::engine
