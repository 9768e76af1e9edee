// Free space on the data folder's file system, watched so RocksDB never meets a full
// disk: Debian's librocksdb is built with assertions, and a write that fails with
// ENOSPC aborts the process on the next one. New work (publish, webhook changes) is
// refused while free space is under a watermark; the progress of work already
// accepted (outcomes, leases) only under a lower floor, kept for flushes. A reserve
// file gives its space back when something else fills the disk.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace hookd::store {

// Bytes available to an unprivileged writer on the file system holding `path` (the
// nearest existing ancestor when `path` does not exist yet); nullopt if unreadable.
std::optional<std::uint64_t> available_bytes(const std::filesystem::path& path);

// "1.5 MiB", "300 KiB", "12 B".
std::string format_bytes(std::uint64_t bytes);

// Parses "256MiB", "1GiB", "512KiB", "64MB", "1000000" (bytes); nullopt when malformed.
std::optional<std::uint64_t> parse_bytes(std::string_view text);

struct space_options {
  // New work is refused while less than this is free. 0 turns the watch off.
  // Default 128 MiB.
  std::uint64_t min_free = std::uint64_t{128} << 20;
  // Reads the free bytes; nullptr means available_bytes(). Tests inject their own to
  // stand for a disk filling up.
  std::function<std::optional<std::uint64_t>(const std::filesystem::path&)> probe;
};

enum class space_state {
  ok,        // at least min_free is free
  low,       // under min_free: new work is refused, accepted work goes on
  critical,  // under the floor (min_free / 4): only what a flush needs is left; writes
             // of accepted work wait too, and the reserve file is released
};

// "ok", "low", "critical".
std::string_view space_state_name(space_state s) noexcept;

enum class write_kind {
  intake,    // new work: an event, a webhook change
  progress,  // what accepted work needs to go on: outcomes, leases, deletions
};

class space_guard {
 public:
  // `dir` is the data folder; the reserve file lives in it.
  space_guard(std::filesystem::path dir, space_options options);
  ~space_guard();
  space_guard(const space_guard&) = delete;
  space_guard& operator=(const space_guard&) = delete;

  // Reads the free space now, counting `pending` bytes (unflushed memtables) as
  // already used; moves the state, releases or recreates the reserve, logs changes.
  space_state check(std::uint64_t pending = 0);

  // Whether a write of `bytes` of this kind may go ahead. Thread-safe, no system call.
  bool admits(write_kind kind, std::uint64_t bytes) const noexcept;
  // A write of `bytes` went ahead: until the next check(), the estimate of free space
  // drops by twice that (the log now, a table file at the next flush).
  void wrote(std::uint64_t bytes) noexcept;

  space_state state() const noexcept { return state_.load(std::memory_order_relaxed); }
  // The free space as last estimated, and the two thresholds.
  std::uint64_t free_estimate() const noexcept {
    const auto f = free_.load(std::memory_order_relaxed);
    return f > 0 ? static_cast<std::uint64_t>(f) : 0;
  }
  std::uint64_t min_free() const noexcept { return options_.min_free; }
  std::uint64_t floor() const noexcept { return floor_of(options_.min_free); }
  static constexpr std::uint64_t floor_of(std::uint64_t min_free) noexcept { return min_free / 4; }
  // "12.0 MiB free on the data folder's file system, under the 128 MiB kept free"
  std::string describe() const;

 private:
  void create_reserve();
  void release_reserve();

  std::filesystem::path dir_;
  std::filesystem::path reserve_path_;
  space_options options_;
  std::uint64_t reserve_size_ = 0;  // the reserve file's size when it exists
  std::mutex check_mutex_;          // one check() at a time
  bool reserve_held_ = false;       // guarded by check_mutex_
  std::atomic<std::int64_t> free_{0};
  std::atomic<space_state> state_{space_state::ok};
};

}  // namespace hookd::store
