// The event types a deployment accepts in webhook settings and in publish. By
// default Sonar's eleven types; a deployment may replace them from a file.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/errc.hpp"
#include "hookd/export.hpp"

namespace hookd::engine {

class HOOKD_API event_catalog {
 public:
  // Sonar's eleven event types, in the order of its documentation.
  static event_catalog sonar_default();

  // One type per line; blank lines and lines starting with '#' are skipped. A type
  // is 1-64 characters of [a-z0-9_.-]. Errors name the file and line.
  [[nodiscard]] static explained<event_catalog> load(const std::filesystem::path& file);
  [[nodiscard]] static explained<event_catalog> from_types(std::vector<std::string> types);

  bool contains(std::string_view type) const;
  // In configuration order.
  const std::vector<std::string>& types() const noexcept { return types_; }
  // "a, b, c": for error messages that list what is accepted.
  std::string joined() const;

 private:
  explicit event_catalog(std::vector<std::string> types) : types_(std::move(types)) {}
  std::vector<std::string> types_;
};

// Whether `type` is a well-formed event type name (independent of any catalog).
HOOKD_API bool valid_event_type_name(std::string_view type);

}  // namespace hookd::engine
