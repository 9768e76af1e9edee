// hookd's version: the one place it is written (CMakeLists.txt reads it from here for
// project() and the package files). HOOKD_VERSION is what a host compiled against;
// hookd::library_version() what it runs with.
//
// Compatibility promise (docs/EMBEDDING.md "Upgrading"): before 1.0, a host compiled
// against 0.M.x works with any 0.M.y library (same SONAME, libhookd.so.0.M); a new
// minor version may change the API and ABI, and docs/EMBEDDING.md "Upgrading" says how.
#pragma once

#define HOOKD_VERSION_MAJOR 0
#define HOOKD_VERSION_MINOR 1
#define HOOKD_VERSION_PATCH 0
// "0.1.0"
#define HOOKD_VERSION_STRING "0.1.0"
// One number to compare: 0.1.0 is 100, 1.2.3 is 10203.
#define HOOKD_VERSION \
  (HOOKD_VERSION_MAJOR * 10000 + HOOKD_VERSION_MINOR * 100 + HOOKD_VERSION_PATCH)

#include "hookd/export.hpp"

namespace hookd {

// The version of the library linked at run time, "0.1.0".
HOOKD_API const char* library_version() noexcept;

namespace engine {

inline constexpr const char* k_version = HOOKD_VERSION_STRING;
// Sent as User-Agent of deliveries and Server of the admin API.
inline constexpr const char* k_user_agent = "hookd/" HOOKD_VERSION_STRING;

}  // namespace engine
}  // namespace hookd
