// What libhookd exports. It is built with hidden visibility, so only declarations
// marked HOOKD_API are visible to a host; everything else, Asio and Beast included, stays
// inside the library and never meets a host's own copy (docs/EMBEDDING.md "Asio").
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define HOOKD_API __attribute__((visibility("default")))
#else
#define HOOKD_API
#endif
