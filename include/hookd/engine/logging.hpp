// hookd's log lines, for a host: by default one line per event on stderr, logfmt
// (`ts=... level=warn msg="delivery attempt failed" delivery=... error="HTTP 503"`),
// from info up. A host may raise the level, switch to JSON lines, or take every line
// itself to hand to its own logger. Process-wide: call it before engine::open.
#pragma once

#include <functional>
#include <string_view>

#include "hookd/export.hpp"

namespace hookd::engine {

enum class log_level { debug, info, warn, error };
enum class log_format { text, json };

struct log_options {
  log_level min_level = log_level::info;
  log_format format = log_format::text;
  // Receives each rendered line (newline included) instead of stderr; called on the
  // thread that logs, one call at a time (under hookd's log lock: a slow sink slows
  // every thread that logs, and it must not log through hookd). If it throws, the
  // line goes to stderr. Empty: stderr.
  std::function<void(log_level level, std::string_view line)> sink;
};

HOOKD_API void configure_logging(log_options options);

}  // namespace hookd::engine
