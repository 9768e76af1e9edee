// The retry schedule (engine/retry_policy.hpp): Sonar's default delays, jitter
// bounds under a deterministic random source, and the "10s,30s,3m,30m" option form.
#include "engine/delivery/retry_policy.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/deterministic_random.hpp"

#include "hookd/engine/random.hpp"

namespace hookd::engine {
namespace {

using namespace std::chrono_literals;
using duration = retry_policy::duration;

using test::deterministic_random;

// Every byte the same value: 0x00 gives the low end of the jitter range, 0xff the top.
class constant_random final : public random_source {
 public:
  explicit constant_random(std::byte value) : value_(value) {}
  void fill(std::span<std::byte> out) override {
    for (auto& b : out) b = value_;
  }

 private:
  std::byte value_;
};

const std::vector<duration> k_sonar = {10s, 30s, 3min, 30min};

// --- schedule and next_delay -----------------------------------------------------------

TEST(RetryPolicy, SonarScheduleIsTenSecondsThirtySecondsThreeMinutesThirtyMinutes) {
  EXPECT_EQ(sonar_retry_schedule(), k_sonar);
}

TEST(RetryPolicy, DefaultsToSonarScheduleWithTenPercentJitter) {
  const retry_policy policy;
  EXPECT_EQ(policy.schedule(), k_sonar);
  EXPECT_DOUBLE_EQ(policy.jitter(), 0.1);
}

TEST(RetryPolicy, WithoutJitterReturnsExactScheduledDelays) {
  const retry_policy policy(sonar_retry_schedule(), 0.0);
  deterministic_random random(1);
  EXPECT_EQ(policy.next_delay(1, random), duration(10s));
  EXPECT_EQ(policy.next_delay(2, random), duration(30s));
  EXPECT_EQ(policy.next_delay(3, random), duration(3min));
  EXPECT_EQ(policy.next_delay(4, random), duration(30min));
}

TEST(RetryPolicy, GivesUpAfterLastScheduledRetry) {
  const retry_policy policy(sonar_retry_schedule(), 0.0);
  deterministic_random random(1);
  EXPECT_EQ(policy.next_delay(5, random), std::nullopt);
  EXPECT_EQ(policy.next_delay(6, random), std::nullopt);
  EXPECT_EQ(policy.next_delay(UINT32_MAX, random), std::nullopt);
}

TEST(RetryPolicy, HasNoDelayBeforeAnyAttemptWasMade) {
  const retry_policy policy(sonar_retry_schedule(), 0.0);
  deterministic_random random(1);
  EXPECT_EQ(policy.next_delay(0, random), std::nullopt);
}

TEST(RetryPolicy, GivesUpAfterLastRetryWithJitterToo) {
  const retry_policy policy(sonar_retry_schedule(), 0.1);
  deterministic_random random(1);
  EXPECT_EQ(policy.next_delay(0, random), std::nullopt);
  EXPECT_EQ(policy.next_delay(5, random), std::nullopt);
}

TEST(RetryPolicy, FollowsCustomSchedule) {
  const retry_policy policy({500ms, 2h}, 0.0);
  deterministic_random random(1);
  EXPECT_EQ(policy.next_delay(1, random), duration(500ms));
  EXPECT_EQ(policy.next_delay(2, random), duration(2h));
  EXPECT_EQ(policy.next_delay(3, random), std::nullopt);
}

TEST(RetryPolicy, JitteredDelaysStayWithinTenPercentAndCoverBothHalves) {
  const retry_policy policy(sonar_retry_schedule(), 0.1);
  deterministic_random random(2024);
  for (std::uint32_t attempt = 1; attempt <= 4; ++attempt) {
    const std::int64_t base = k_sonar[attempt - 1].count();
    const std::int64_t low = base * 9 / 10;
    const std::int64_t high = base * 11 / 10;
    int below = 0;
    int above = 0;
    for (int draw = 0; draw < 2000; ++draw) {
      const std::optional<duration> d = policy.next_delay(attempt, random);
      ASSERT_TRUE(d.has_value());
      ASSERT_GE(d->count(), low) << "attempt " << attempt;
      ASSERT_LE(d->count(), high) << "attempt " << attempt;
      if (d->count() < base) ++below;
      if (d->count() > base) ++above;
    }
    // Uniform jitter: each half gets roughly half of the draws.
    EXPECT_GT(below, 800) << "attempt " << attempt;
    EXPECT_GT(above, 800) << "attempt " << attempt;
  }
}

TEST(RetryPolicy, JitterReachesBothEndsOfRange) {
  const retry_policy policy(sonar_retry_schedule(), 0.1);
  constant_random lowest(std::byte{0x00});
  constant_random highest(std::byte{0xff});
  EXPECT_EQ(policy.next_delay(1, lowest), duration(9s));
  EXPECT_EQ(policy.next_delay(1, highest), duration(11s));
  EXPECT_EQ(policy.next_delay(4, lowest), duration(27min));
  EXPECT_EQ(policy.next_delay(4, highest), duration(33min));
}

TEST(RetryPolicy, JitteredDelayIsAtLeastOneMillisecond) {
  const retry_policy policy({1ms}, 1.0);
  constant_random lowest(std::byte{0x00});
  EXPECT_EQ(policy.next_delay(1, lowest), duration(1ms));
}

// --- parse_retry_schedule and format_retry_schedule ------------------------------------

TEST(RetryPolicy, ParsesSonarSchedule) {
  const auto r = parse_retry_schedule("10s,30s,3m,30m");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, k_sonar);
}

TEST(RetryPolicy, ParsesMilliseconds) {
  const auto r = parse_retry_schedule("500ms");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, std::vector<duration>{500ms});
}

TEST(RetryPolicy, ParsesHoursAndIgnoresSpacesAroundEntries) {
  const auto r = parse_retry_schedule("1h, 2m");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<duration>{1h, 2min}));
}

struct bad_schedule {
  std::string text;
  int entry;  // the entry the message must name
};

class RetryPolicyRejects : public ::testing::TestWithParam<bad_schedule> {};

TEST_P(RetryPolicyRejects, InvalidScheduleNamingTheBadEntry) {
  const auto r = parse_retry_schedule(GetParam().text);
  ASSERT_FALSE(r.has_value()) << "\"" << GetParam().text << "\"";
  const std::string expected = "entry " + std::to_string(GetParam().entry) + " ";
  EXPECT_NE(r.error().message.find(expected), std::string::npos)
      << "\"" << GetParam().text << "\": " << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    , RetryPolicyRejects,
    ::testing::Values(bad_schedule{"", 1}, bad_schedule{"10", 1}, bad_schedule{"10x", 1},
                      bad_schedule{"0s", 1}, bad_schedule{"-1s", 1}, bad_schedule{",", 1},
                      bad_schedule{"1s,,2s", 2}, bad_schedule{"10s,30s,3m,", 4},
                      bad_schedule{"10s,30", 2}, bad_schedule{"1.5s", 1}, bad_schedule{"s", 1},
                      bad_schedule{"10S", 1}, bad_schedule{"1s,2s,3w", 3},
                      bad_schedule{"9999999h", 1}, bad_schedule{"1s,366d", 2}));

TEST(RetryPolicy, ParsesDaysInSchedules) {
  const auto r = parse_retry_schedule("1h,1d");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<duration>{1h, 24h}));
}

// --- parse_duration: --retention, --disable-after ----------------------------------------

TEST(Duration, TakesTheUnitsOfTheRetrySchedule) {
  EXPECT_EQ(parse_duration("500ms").value(), 500ms);
  EXPECT_EQ(parse_duration("10s").value(), 10s);
  EXPECT_EQ(parse_duration("3m").value(), 3min);
  EXPECT_EQ(parse_duration("2h").value(), 2h);
  EXPECT_EQ(parse_duration("30d").value(), 30 * 24h);
  EXPECT_EQ(parse_duration(" 5d ").value(), 5 * 24h);
  EXPECT_EQ(parse_duration("3650d").value(), 3650 * 24h);
}

TEST(Duration, RejectsWhatIsNotAPositiveDurationSayingWhy) {
  for (std::string_view text : {"", "30", "30 days", "0d", "-1d", "1.5d", "d", "3651d", "30D"}) {
    const auto r = parse_duration(text);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_NE(r.error().message.find("is not a positive duration like 500ms, 10s, 3m, 1h or 30d"),
              std::string::npos)
        << r.error().message;
  }
}

TEST(RetryPolicy, FormatsSonarScheduleInLargestWholeUnits) {
  EXPECT_EQ(format_retry_schedule(k_sonar), "10s,30s,3m,30m");
  EXPECT_EQ(format_retry_schedule({500ms, 1500ms, 90s, 90min, 2h, 48h}),
            "500ms,1500ms,90s,90m,2h,2d");
}

TEST(RetryPolicy, FormatAndParseRoundTrip) {
  const std::vector<std::vector<duration>> schedules = {
      k_sonar, {500ms}, {1ms, 999ms, 1s, 61s, 59min, 1h, 25h}, {1500ms, 90min}};
  for (const auto& schedule : schedules) {
    const std::string text = format_retry_schedule(schedule);
    const auto parsed = parse_retry_schedule(text);
    ASSERT_TRUE(parsed.has_value()) << text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, schedule) << text;
  }
  for (std::string_view text : {"10s,30s,3m,30m", "500ms", "1h,2m"}) {
    const auto parsed = parse_retry_schedule(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(format_retry_schedule(*parsed), text);
  }
}

}  // namespace
}  // namespace hookd::engine
