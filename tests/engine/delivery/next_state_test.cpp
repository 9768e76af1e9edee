// The retry rules as one table (engine/delivery/next_state.hpp): every status class,
// transport error kind and attempt number of the schedule, exhaustion, last-chance
// repairs, 410 Gone, and each form of Retry-After, with the attempt record each row
// writes. Jitter 0 except in the jitter test, which checks the ±10% band.
#include "engine/delivery/next_state.hpp"

#include <time.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/delivery/retry_policy.hpp"
#include "engine/http/client.hpp"
#include "hookd/engine/clock.hpp"
#include "store/delivery_records.hpp"
#include "tests/support/deterministic_random.hpp"
#include "tests/support/store_printers.hpp"

namespace hookd::engine {
namespace {

using namespace std::chrono_literals;
using store::delivery_status;
using test::deterministic_random;
using ms = std::chrono::milliseconds;

// The attempt started at a whole second and took 1.5 s, so an HTTP date (whole
// seconds) is never equal to the finish time by accident.
constexpr std::int64_t k_started = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
constexpr ms k_duration = 1500ms;
constexpr std::int64_t k_finished = k_started + k_duration.count();

const std::vector<ms> k_schedule = {10s, 30s, 3min, 30min};
const std::uint32_t k_n = static_cast<std::uint32_t>(k_schedule.size());

// An IMF-fixdate ("Fri, 15 Jan 2027 08:05:00 GMT") for unix milliseconds, built
// here with strftime rather than through the engine's own code.
std::string http_date(std::int64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  tm parts{};
  gmtime_r(&secs, &parts);
  char buf[64];
  const std::size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &parts);
  return std::string(buf, n);
}

http_outcome answered(unsigned code, std::string retry_after = {}) {
  http_outcome o;
  o.status = code;
  o.error = code >= 200 && code < 300 ? error_kind::none : error_kind::http_status;
  if (o.error != error_kind::none) o.message = "the receiver answered " + std::to_string(code);
  o.body_excerpt = "{\"answer\": " + std::to_string(code) + "}";
  o.retry_after = std::move(retry_after);
  o.duration = k_duration;
  return o;
}

http_outcome transport(error_kind kind) {
  http_outcome o;
  o.error = kind;
  o.message = std::string(to_string(kind)) + " failed on the way to example.com";
  o.duration = k_duration;
  return o;
}

struct row {
  std::string name;
  http_outcome outcome;
  std::uint32_t attempts_before = 0;  // attempts already made; this one is number +1
  bool manual = false;
  bool last_chance = false;
  bool same_url = true;
  ms max_retry_after = 1h;
  delivery_status expect = delivery_status::pending;
  std::int64_t expect_next_at = 0;  // absolute; 0 when the delivery is not pending
  bool expect_disable = false;

  friend std::ostream& operator<<(std::ostream& os, const row& r) { return os << r.name; }
};

row retry_in(std::string name, http_outcome outcome, std::uint32_t attempts_before, ms delay) {
  row r{.name = std::move(name), .outcome = std::move(outcome), .attempts_before = attempts_before};
  r.expect = delivery_status::pending;
  r.expect_next_at = k_finished + delay.count();
  return r;
}

row ends(std::string name, http_outcome outcome, std::uint32_t attempts_before,
         delivery_status status) {
  row r{.name = std::move(name), .outcome = std::move(outcome), .attempts_before = attempts_before};
  r.expect = status;
  return r;
}

std::vector<row> rows() {
  std::vector<row> out;
  // 2xx on any attempt, even the last one the schedule allows, ends as succeeded.
  for (unsigned code : {200u, 204u, 299u}) {
    for (std::uint32_t a = 1; a <= k_n + 1; ++a) {
      out.push_back(ends("s" + std::to_string(code) + "_attempt" + std::to_string(a),
                         answered(code), a - 1, delivery_status::succeeded));
    }
  }
  // Every failure class: retried after schedule[attempt - 1], failed after attempt N+1.
  std::vector<std::pair<std::string, http_outcome>> failures;
  for (unsigned code : {301u, 304u, 400u, 404u, 429u, 500u, 502u, 503u}) {
    failures.emplace_back("s" + std::to_string(code), answered(code));
  }
  for (error_kind kind : {error_kind::timeout, error_kind::connect, error_kind::tls,
                          error_kind::dns, error_kind::protocol, error_kind::blocked_destination}) {
    failures.emplace_back(std::string(to_string(kind)), transport(kind));
  }
  for (const auto& [name, outcome] : failures) {
    for (std::uint32_t a = 1; a <= k_n; ++a) {
      out.push_back(
          retry_in(name + "_attempt" + std::to_string(a), outcome, a - 1, k_schedule[a - 1]));
    }
    out.push_back(ends(name + "_attempt" + std::to_string(k_n + 1) + "_exhausted", outcome, k_n,
                       delivery_status::failed));
    row last = ends(name + "_last_chance", outcome, 2, delivery_status::failed);
    last.last_chance = true;
    out.push_back(last);
  }
  {
    row r = ends("s200_last_chance", answered(200), 2, delivery_status::succeeded);
    r.last_chance = true;
    out.push_back(r);
  }

  // Manual attempts are logged as such, whatever their outcome.
  for (row r : {ends("manual_s200", answered(200), 1, delivery_status::succeeded),
                retry_in("manual_s500", answered(500), 1, k_schedule[1])}) {
    r.manual = true;
    out.push_back(r);
  }

  // 410 Gone from the webhook's current URL cancels and disables, on any attempt.
  for (std::uint32_t a : {1u, 3u, k_n + 1}) {
    row r =
        ends("s410_attempt" + std::to_string(a), answered(410), a - 1, delivery_status::cancelled);
    r.expect_disable = true;
    out.push_back(r);
  }
  {
    row r = ends("s410_last_chance", answered(410), 2, delivery_status::cancelled);
    r.last_chance = true;
    r.expect_disable = true;
    out.push_back(r);
  }
  // From an address the webhook has left since: an ordinary failure.
  for (std::uint32_t a = 1; a <= k_n; ++a) {
    row r = retry_in("s410_moved_url_attempt" + std::to_string(a), answered(410), a - 1,
                     k_schedule[a - 1]);
    r.same_url = false;
    out.push_back(r);
  }
  {
    row r = ends("s410_moved_url_exhausted", answered(410), k_n, delivery_status::failed);
    r.same_url = false;
    out.push_back(r);
  }

  // Retry-After on 429 and 503: at least what the receiver asked, at most the cap.
  for (unsigned code : {429u, 503u}) {
    const std::string c = "s" + std::to_string(code);
    out.push_back(retry_in(c + "_retry_after_seconds", answered(code, "120"), 0, 120s));
    out.push_back(retry_in(c + "_retry_after_seconds_spaced", answered(code, " 120 "), 0, 120s));
    out.push_back(retry_in(c + "_retry_after_seconds_attempt3", answered(code, "600"), 2, 10min));
    {
      // An HTTP date in the future: the next attempt is at that very date.
      const std::int64_t at = k_started + 300'000;
      row r = retry_in(c + "_retry_after_date_future", answered(code, http_date(at)), 0, 0ms);
      r.expect_next_at = at;
      out.push_back(r);
    }
    out.push_back(retry_in(c + "_retry_after_date_past",
                           answered(code, http_date(k_started - 60'000)), 0, k_schedule[0]));
    out.push_back(
        retry_in(c + "_retry_after_unreadable", answered(code, "soon"), 0, k_schedule[0]));
    out.push_back(retry_in(c + "_retry_after_negative", answered(code, "-5"), 0, k_schedule[0]));
    out.push_back(retry_in(c + "_retry_after_over_cap", answered(code, "7200"), 0, 1h));
    out.push_back(retry_in(c + "_retry_after_date_over_cap",
                           answered(code, http_date(k_started + 3 * std::int64_t{3'600'000})), 0,
                           1h));
    {
      row r = retry_in(c + "_retry_after_over_custom_cap", answered(code, "600"), 0, 5min);
      r.max_retry_after = 5min;
      out.push_back(r);
    }
    // The schedule's delay wins when it is longer than what the receiver asked.
    out.push_back(
        retry_in(c + "_retry_after_below_schedule", answered(code, "5"), 0, k_schedule[0]));
    out.push_back(
        retry_in(c + "_retry_after_below_schedule_attempt4", answered(code, "120"), 3, 30min));
    // Retry-After does not extend a spent schedule or a last chance.
    out.push_back(
        ends(c + "_retry_after_exhausted", answered(code, "120"), k_n, delivery_status::failed));
    {
      row r =
          ends(c + "_retry_after_last_chance", answered(code, "120"), 0, delivery_status::failed);
      r.last_chance = true;
      out.push_back(r);
    }
  }
  // Other statuses' Retry-After is ignored.
  for (unsigned code : {500u, 502u, 301u}) {
    out.push_back(retry_in("s" + std::to_string(code) + "_retry_after_ignored",
                           answered(code, "120"), 0, k_schedule[0]));
  }
  return out;
}

store::delivery_record before_attempt(std::uint32_t attempts_made) {
  store::delivery_record d;
  for (std::size_t i = 0; i < d.id.size(); ++i) d.id[i] = static_cast<std::uint8_t>(0x10 + i);
  d.webhook_id = 77;
  d.account = "acme";
  d.event_id = "evt_1";
  d.event_type = "customer_created";
  d.status = delivery_status::pending;
  d.created_at_ms = k_started - 3'600'000;
  d.updated_at_ms = k_started - 60'000;
  d.attempts = attempts_made;
  d.next_attempt_at_ms = k_started;
  return d;
}

class NextState : public ::testing::TestWithParam<row> {};

TEST_P(NextState, GivesTheRowsStatusNextAttemptAndAttemptRecord) {
  const row& r = GetParam();
  const retry_policy policy(k_schedule, 0.0);
  deterministic_random random(7);
  const store::delivery_record before = before_attempt(r.attempts_before);
  const transition t = next_state(before, r.outcome, policy,
                                  attempt_context{
                                      .started_ms = k_started,
                                      .finished_ms = k_finished,
                                      .manual = r.manual,
                                      .last_chance = r.last_chance,
                                      .same_url = r.same_url,
                                      .max_retry_after = r.max_retry_after,
                                  },
                                  random);

  EXPECT_EQ(t.after.status, r.expect);
  EXPECT_EQ(t.after.next_attempt_at_ms, r.expect_next_at);
  EXPECT_EQ(t.after.attempts, r.attempts_before + 1);
  EXPECT_EQ(t.after.updated_at_ms, k_finished);
  // Nothing else about the delivery changes.
  store::delivery_record rest = t.after;
  rest.status = before.status;
  rest.next_attempt_at_ms = before.next_attempt_at_ms;
  rest.attempts = before.attempts;
  rest.updated_at_ms = before.updated_at_ms;
  EXPECT_EQ(rest, before);

  const bool ok = r.outcome.error == error_kind::none;
  const store::attempt_record& a = t.attempt;
  EXPECT_EQ(a.number, r.attempts_before + 1);
  EXPECT_EQ(a.at_ms, k_started);
  EXPECT_EQ(a.duration_ms, static_cast<std::uint32_t>(k_duration.count()));
  EXPECT_EQ(a.status_code, r.outcome.status);
  EXPECT_EQ(a.error_kind, ok ? "" : std::string(to_string(r.outcome.error)));
  EXPECT_EQ(a.error, ok ? "" : r.outcome.message);
  EXPECT_EQ(a.response_excerpt, r.outcome.body_excerpt);
  EXPECT_EQ(a.manual, r.manual);

  EXPECT_EQ(t.disable_reason.has_value(), r.expect_disable);
  if (t.disable_reason) {
    EXPECT_NE(t.disable_reason->find("410"), std::string::npos) << *t.disable_reason;
  }
}

INSTANTIATE_TEST_SUITE_P(, NextState, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<row>& info) { return info.param.name; });

TEST(NextStateJitter, TenPercentJitterKeepsEachDelayWithinTenPercentOfTheSchedule) {
  const retry_policy policy(k_schedule, 0.1);
  for (std::uint32_t attempt = 1; attempt <= k_n; ++attempt) {
    const std::int64_t base = k_schedule[attempt - 1].count();
    std::set<std::int64_t> seen;
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
      deterministic_random random(seed);
      const transition t =
          next_state(before_attempt(attempt - 1), answered(500), policy,
                     attempt_context{.started_ms = k_started, .finished_ms = k_finished}, random);
      ASSERT_EQ(t.after.status, delivery_status::pending);
      const std::int64_t delay = t.after.next_attempt_at_ms - k_finished;
      ASSERT_GE(delay, base * 9 / 10) << "attempt " << attempt << " seed " << seed;
      ASSERT_LE(delay, base * 11 / 10) << "attempt " << attempt << " seed " << seed;
      seen.insert(delay);
    }
    // Jitter is applied at all: the delays are spread, not all the scheduled one.
    EXPECT_GT(seen.size(), 100u) << "attempt " << attempt;
  }
}

}  // namespace
}  // namespace hookd::engine
