// Structured log lines (logfmt) on stderr: `ts=... level=info msg="..." key=value`.
// Callers pass ids as fields so lines can be grepped by webhook, delivery or
// request; secrets and tokens are never passed here.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace hookd::engine::log {

enum class level { debug, info, warn, error };

using field = std::pair<std::string_view, std::string>;

// Lines below this level are dropped. Default info.
void set_min_level(level l);
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
