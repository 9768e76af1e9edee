// The hookd error category's messages, and how a result<T>'s error becomes an
// exception when .value() is called on a failure.
#include "hookd/errc.hpp"

#include <stdexcept>
#include <string>

namespace hookd {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "hookd"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::not_found:
        return "not found";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::malformed_input:
        return "malformed input";
      case errc::already_exists:
        return "already exists";
      case errc::storage_io:
        return "storage I/O error";
      case errc::storage_corruption:
        return "storage corruption";
      case errc::storage_busy:
        return "storage busy";
      case errc::storage_full:
        return "storage full";
      case errc::shutting_down:
        return "shutting down";
      case errc::config:
        return "configuration error";
    }
    return "unknown hookd error " + std::to_string(ev);
  }
};

}  // namespace

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw std::runtime_error(e.message());
}

void throw_exception_from_error(const explained_error& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

const boost::system::error_category& hookd_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace hookd
