// The error a caller of the engine's operations gets back: a code that says what
// kind of failure it is, a message for humans, and for invalid input every
// offending field with its JSON path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include "hookd/errc.hpp"

namespace hookd::engine {

struct field_error {
  std::string field;    // JSON path, e.g. "webhook.settings.customer_created"
  std::string message;  // what is wrong and what is accepted
  friend bool operator==(const field_error&, const field_error&) = default;
};

struct failure {
  boost::system::error_code code;  // a hookd::errc, or a storage error
  std::string message;
  std::vector<field_error> details;  // set for errc::invalid_argument

  static failure from(boost::system::error_code ec, std::string message) {
    return {ec, std::move(message), {}};
  }
  // `message` says what was being done; the error's own words (its cause) follow it.
  static failure from(const error& e, std::string_view doing) {
    return {e.code, std::string(doing) + ": " + e.message(), {}};
  }
  static failure from(errc e, std::string message) {
    return from(make_error_code(e), std::move(message));
  }
};

[[noreturn]] HOOKD_API void throw_exception_from_error(const failure& f,
                                                       const boost::source_location& loc);

template <class T>
using outcome = boost::system::result<T, failure>;

}  // namespace hookd::engine
