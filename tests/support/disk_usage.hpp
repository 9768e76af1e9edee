// What a folder takes on its file system, for tests of the free-space watch that
// stand in for a small disk: allocated blocks, so space a file has reserved with
// fallocate (RocksDB's write-ahead log and manifest, hookd's reserve) counts as a
// real file system counts it.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <system_error>

namespace hookd::test {

// The blocks allocated to the regular files under `root`, in bytes; files that
// vanish while it runs are skipped.
inline std::uint64_t allocated_under(const std::filesystem::path& root) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(root, ec), end; !ec && it != end;
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

// The blocks allocated to one file, in bytes; 0 when it does not exist.
inline std::uint64_t allocated_of(const std::filesystem::path& file) {
  struct stat st {};
  return ::lstat(file.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
}

}  // namespace hookd::test
