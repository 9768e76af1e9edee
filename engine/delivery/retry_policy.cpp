// The retry schedule with jitter, its text form ("10s,30s,3m,30m"), and Retry-After
// in both of its forms.
#include "engine/delivery/retry_policy.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>

namespace hookd::engine {

std::vector<std::chrono::milliseconds> sonar_retry_schedule() {
  using namespace std::chrono;
  return {seconds(10), seconds(30), minutes(3), minutes(30)};
}

retry_policy::retry_policy(std::vector<duration> schedule, double jitter)
    : schedule_(std::move(schedule)), jitter_(jitter) {}

std::optional<retry_policy::duration> retry_policy::next_delay(std::uint32_t attempts_made,
                                                               random_source& random) const {
  if (attempts_made == 0 || attempts_made > schedule_.size()) return std::nullopt;
  const duration base = schedule_[attempts_made - 1];
  if (jitter_ <= 0) return base;
  std::array<std::byte, 8> bytes{};
  random.fill(bytes);
  std::uint64_t r = 0;
  std::memcpy(&r, bytes.data(), bytes.size());
  // Uniform in [-1, 1].
  const double unit = static_cast<double>(r >> 11) * 0x1.0p-53 * 2.0 - 1.0;
  const double ms = static_cast<double>(base.count()) * (1.0 + jitter_ * unit);
  return duration(std::max<std::int64_t>(1, std::llround(ms)));
}

explained<std::chrono::milliseconds> parse_duration(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::int64_t value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  std::int64_t scale = 0;
  if (unit == "ms") scale = 1;
  if (unit == "s") scale = 1000;
  if (unit == "m") scale = 60'000;
  if (unit == "h") scale = 3'600'000;
  if (unit == "d") scale = 86'400'000;
  if (ec != std::errc() || p == text.data() || scale == 0 || value <= 0 ||
      value > 3650LL * 86'400'000 / scale) {
    return "\"" + std::string(text) +
           "\" is not a positive duration like 500ms, 10s, 3m, 1h or 30d (at most 3650d)";
  }
  return std::chrono::milliseconds(value * scale);
}

explained<std::vector<retry_policy::duration>> parse_retry_schedule(std::string_view text) {
  std::vector<retry_policy::duration> out;
  std::size_t n = 0;
  while (true) {
    ++n;
    const auto comma = text.find(',');
    auto item = parse_duration(text.substr(0, comma));
    if (!item) return "entry " + std::to_string(n) + " " + item.error().message;
    if (*item > std::chrono::hours(24 * 365)) {
      return "entry " + std::to_string(n) + " \"" + std::string(text.substr(0, comma)) +
             "\" is longer than a year";
    }
    out.push_back(*item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string format_retry_schedule(const std::vector<retry_policy::duration>& schedule) {
  std::string out;
  for (auto d : schedule) {
    if (!out.empty()) out += ',';
    const auto ms = d.count();
    if (ms % 86'400'000 == 0) {
      out += std::to_string(ms / 86'400'000) + "d";
    } else if (ms % 3'600'000 == 0) {
      out += std::to_string(ms / 3'600'000) + "h";
    } else if (ms % 60'000 == 0) {
      out += std::to_string(ms / 60'000) + "m";
    } else if (ms % 1000 == 0) {
      out += std::to_string(ms / 1000) + "s";
    } else {
      out += std::to_string(ms) + "ms";
    }
  }
  return out;
}

}  // namespace hookd::engine

namespace hookd::engine {

std::optional<retry_policy::duration> parse_retry_after(std::string_view value,
                                                        std::int64_t now_ms) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t seconds = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || seconds > 10LL * 365 * 24 * 3600) return std::nullopt;
    return retry_policy::duration(seconds * 1000);
  }
  // IMF-fixdate, the form RFC 9110 requires senders to use.
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const std::int64_t at_ms = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  return retry_policy::duration(std::max<std::int64_t>(0, at_ms - now_ms));
}

}  // namespace hookd::engine
