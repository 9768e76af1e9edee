// The delivery portal's pages, scripts and styles (portal/ in the tree), compiled into
// the binary by api/portal_embed.py so that `hookd serve` needs no files beside it.
#pragma once

#include <span>
#include <string_view>

namespace hookd::api {

struct portal_asset {
  std::string_view path;          // relative to portal/: "index.html", "app.js"
  std::string_view content_type;  // with charset for text
  std::string_view body;
  std::string_view gzip;  // the body gzip-compressed
  std::string_view etag;  // a strong ETag, quoted: the body's SHA-256, shortened
};

// Every asset, sorted by path; static storage.
std::span<const portal_asset> portal_assets();

// The asset at `path` (relative to portal/), or null.
const portal_asset* find_portal_asset(std::string_view path);

}  // namespace hookd::api
