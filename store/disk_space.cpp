// The free-space watch: statvfs, the two thresholds with their hysteresis, the
// estimate lowered by each write between checks, and the reserve file.
#include "store/disk_space.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace hookd::store {
namespace {

constexpr const char* k_reserve_name = "hookd.reserve";

}  // namespace

std::string_view space_state_name(space_state s) noexcept {
  switch (s) {
    case space_state::ok:
      return "ok";
    case space_state::low:
      return "low";
    case space_state::critical:
      return "critical";
  }
  return "unknown";
}

std::optional<std::uint64_t> available_bytes(const std::filesystem::path& path) {
  std::filesystem::path p = path;
  std::error_code ec;
  while (!p.empty() && !std::filesystem::exists(p, ec)) {
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  if (p.empty()) p = ".";
  struct statvfs st {};
  if (::statvfs(p.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

std::string format_bytes(std::uint64_t bytes) {
  char out[32];
  if (bytes >= (std::uint64_t{1} << 30)) {
    std::snprintf(out, sizeof out, "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  } else if (bytes >= (std::uint64_t{1} << 20)) {
    std::snprintf(out, sizeof out, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else if (bytes >= 1024) {
    std::snprintf(out, sizeof out, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(out, sizeof out, "%llu B", static_cast<unsigned long long>(bytes));
  }
  return out;
}

std::optional<std::uint64_t> parse_bytes(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  struct suffix {
    std::string_view name;
    std::uint64_t factor;
  };
  constexpr suffix k_units[] = {
      {"", 1},
      {"B", 1},
      {"KiB", 1ULL << 10},
      {"MiB", 1ULL << 20},
      {"GiB", 1ULL << 30},
      {"TiB", 1ULL << 40},
      {"KB", 1000},
      {"MB", 1000'000},
      {"GB", 1000'000'000},
      {"TB", 1000'000'000'000},
  };
  for (const auto& u : k_units) {
    if (unit != u.name) continue;
    if (n > UINT64_MAX / u.factor) return std::nullopt;
    return n * u.factor;
  }
  return std::nullopt;
}

space_guard::space_guard(std::filesystem::path dir, space_options options)
    : dir_(std::move(dir)), reserve_path_(dir_ / k_reserve_name), options_(std::move(options)) {
  if (!options_.probe) options_.probe = available_bytes;
  reserve_size_ = floor();
  std::error_code ec;
  // A reserve left by an earlier run counts as held: it is space this folder owns.
  if (std::filesystem::exists(reserve_path_, ec)) reserve_held_ = true;
  check();
}

space_guard::~space_guard() = default;

void space_guard::create_reserve() {
  if (reserve_held_ || reserve_size_ == 0) return;
  const int fd = ::open(reserve_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  // Real blocks, not a sparse file: fallocate fails rather than promising space.
  const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(reserve_size_));
  ::close(fd);
  if (rc != 0) {
    std::error_code ec;
    std::filesystem::remove(reserve_path_, ec);
    return;
  }
  reserve_held_ = true;
}

void space_guard::release_reserve() {
  if (!reserve_held_) return;
  std::error_code ec;
  std::filesystem::remove(reserve_path_, ec);
  reserve_held_ = false;
}

space_state space_guard::check(std::uint64_t pending) {
  if (options_.min_free == 0) return space_state::ok;
  std::lock_guard lock(check_mutex_);
  const auto probed = options_.probe(dir_);
  // Unreadable: keep the last estimate rather than guess either way.
  if (!probed) return state_.load();
  auto free_of = [pending](std::uint64_t probed_bytes) {
    return static_cast<std::int64_t>(std::min<std::uint64_t>(probed_bytes, INT64_MAX)) -
           static_cast<std::int64_t>(pending);
  };
  std::int64_t free = free_of(*probed);
  const auto min = static_cast<std::int64_t>(options_.min_free);
  const auto low_floor = static_cast<std::int64_t>(floor());
  const auto reserve = static_cast<std::int64_t>(reserve_size_);
  // The reserve first: released when something fills the disk faster than hookd stops
  // writing, so flushes and accepted work have room; taken again only with room for
  // it and the way back to ok to spare.
  if (free < low_floor && reserve_held_) {
    release_reserve();
    if (auto again = options_.probe(dir_)) free = free_of(*again);
  } else if (!reserve_held_ && free >= min + min / 8 + reserve) {
    create_reserve();
    if (reserve_held_) free -= reserve;
  }
  // Hysteresis: a state is left upwards only with an eighth (to ok) or a half (from
  // critical) of its threshold to spare, so a disk at the edge does not flap.
  const space_state before = state_.load();
  space_state next = before;
  if (free < low_floor) {
    next = space_state::critical;
  } else if (free < min) {
    if (before == space_state::ok || free >= low_floor + low_floor / 2) next = space_state::low;
  } else if (before != space_state::ok && free >= min + min / 8) {
    next = space_state::ok;
  } else if (before == space_state::critical && free >= low_floor + low_floor / 2) {
    next = space_state::low;
  }
  free_.store(free, std::memory_order_relaxed);
  state_.store(next, std::memory_order_relaxed);
  return next;
}

bool space_guard::admits(write_kind kind, std::uint64_t bytes) const noexcept {
  if (options_.min_free == 0) return true;
  const std::int64_t after =
      free_.load(std::memory_order_relaxed) - 2 * static_cast<std::int64_t>(bytes);
  if (kind == write_kind::intake) {
    return state_.load(std::memory_order_relaxed) == space_state::ok &&
           after >= static_cast<std::int64_t>(options_.min_free);
  }
  return state_.load(std::memory_order_relaxed) != space_state::critical &&
         after >= static_cast<std::int64_t>(floor());
}

void space_guard::wrote(std::uint64_t bytes) noexcept {
  if (options_.min_free == 0) return;
  free_.fetch_sub(2 * static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
}

std::string space_guard::describe() const {
  const std::int64_t free = free_.load(std::memory_order_relaxed);
  return format_bytes(free > 0 ? static_cast<std::uint64_t>(free) : 0) +
         " free on the data folder's file system, under the " + format_bytes(options_.min_free) +
         " kept free (--min-free-space)";
}

}  // namespace hookd::store
