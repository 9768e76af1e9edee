// Structured log lines on stderr, logfmt (`ts=... level=info msg="..." key=value`) or
// one JSON object per line. Callers pass ids as fields so lines can be grepped by
// webhook, delivery or request; secrets, tokens and payloads are never passed here.
// Control characters in values are escaped, so a value cannot forge a line.
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "hookd/engine/logging.hpp"

namespace hookd::engine::log {

// The public names (hookd/engine/logging.hpp), short here.
using level = log_level;
using format = log_format;

using field = std::pair<std::string_view, std::string>;

// Lines below this level are dropped. Default info.
void set_min_level(level l);
bool enabled(level l);
// Default text (logfmt).
void set_format(format f);
// Where lines go; empty: stderr.
void set_sink(std::function<void(level, std::string_view)> sink);
// "debug", "info", "warn", "error"; "text", "json".
std::optional<level> parse_level(std::string_view name);
std::optional<format> parse_format(std::string_view name);
// The line as it would be written (tests, and the writer itself).
std::string render(format f, level l, std::string_view ts, std::string_view msg,
                   std::initializer_list<field> fields);
void write(level l, std::string_view msg, std::initializer_list<field> fields = {});

inline void info(std::string_view msg, std::initializer_list<field> fields = {}) {
  write(level::info, msg, fields);
}
inline void warn(std::string_view msg, std::initializer_list<field> fields = {}) {
  write(level::warn, msg, fields);
}
inline void error(std::string_view msg, std::initializer_list<field> fields = {}) {
  write(level::error, msg, fields);
}

}  // namespace hookd::engine::log
