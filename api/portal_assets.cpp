// Lookup in the portal's compiled-in files (the table is generated: portal_files.cpp
// in the build directory).
#include "api/portal_assets.hpp"

#include <algorithm>

namespace hookd::api {

const portal_asset* find_portal_asset(std::string_view path) {
  const auto assets = portal_assets();
  const auto it =
      std::lower_bound(assets.begin(), assets.end(), path,
                       [](const portal_asset& a, std::string_view p) { return a.path < p; });
  return it != assets.end() && it->path == path ? &*it : nullptr;
}

}  // namespace hookd::api
