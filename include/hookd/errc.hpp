// The project's error codes, one enum for every layer, registered as a
// boost::system category so they travel in error_code and result<T>.
// Each value says what the caller should do next.
#pragma once

#include <string>
#include <utility>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include "hookd/export.hpp"

namespace hookd {

enum class errc {
  // 0 is success in boost::system; never used.
  not_found = 1,       // the object does not exist (or belongs to another account): report 404.
  invalid_argument,    // the caller's input is well-formed but invalid: fix it, do not retry.
  malformed_input,     // the caller's input cannot be parsed (bad JSON): fix it, do not retry.
  already_exists,      // a unique key is taken: pick another, or treat as a duplicate.
  storage_io,          // the disk or RocksDB failed transiently: retry later; alert if it persists.
  storage_corruption,  // stored data cannot be decoded: stop and restore; never retry blindly.
  storage_busy,        // RocksDB refused for now (write stall, lock): retry after a short delay.
  storage_full,        // too little free disk space for new work: retry once space is freed.
  shutting_down,       // the component is stopping: do not submit more work.
  config,              // a start-up option or file is wrong: fix it and start again.
};

HOOKD_API const boost::system::error_category& hookd_category() noexcept;

}  // namespace hookd

template <>
struct boost::system::is_error_code_enum<hookd::errc> : std::true_type {};

namespace hookd {

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), hookd_category()};
}

// A failure with its cause kept in words: the code says what kind of failure it is
// (and so what to do next), `detail` what the lower layer said, e.g. RocksDB's status
// text "IO error: No space left on device: ...". The detail never holds a token or a
// payload, so it may reach a log line or an error body.
struct error {
  error() = default;
  error(boost::system::error_code c) : code(c) {}  // NOLINT: implicit on purpose
  error(errc e) : code(make_error_code(e)) {}      // NOLINT: implicit on purpose
  error(boost::system::error_code c, std::string d) : code(c), detail(std::move(d)) {}

  boost::system::error_code code;
  std::string detail;

  // "storage I/O error: IO error: No space left on device", or the code's words alone.
  std::string message() const {
    return detail.empty() ? code.message() : code.message() + ": " + detail;
  }
  explicit operator bool() const noexcept { return static_cast<bool>(code); }
  friend bool operator==(const error& e, errc c) noexcept { return e.code == c; }
};

[[noreturn]] HOOKD_API void throw_exception_from_error(const error& e,
                                                       const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

// An error explained in words, for failures whose reader is a person: a bad option,
// an unreadable file, a data folder locked by another process.
struct explained_error {
  explained_error() = default;
  explained_error(std::string m) : message(std::move(m)) {}  // NOLINT: implicit on purpose
  explained_error(const char* m) : message(m) {}             // NOLINT: implicit on purpose
  std::string message;
};

template <class T>
using explained = boost::system::result<T, explained_error>;

[[noreturn]] HOOKD_API void throw_exception_from_error(const explained_error& e,
                                                       const boost::source_location& loc);

}  // namespace hookd
