// The logfmt writer on stderr: one line per call, values quoted when they need it, a
// mutex so lines from different threads never interleave.
#include "engine/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "engine/encoding.hpp"

namespace hookd::engine::log {
namespace {

std::atomic<level> g_min_level{level::info};
std::mutex g_mutex;

std::string_view level_name(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}

void append_value(std::string& out, std::string_view v) {
  const bool quote = v.empty() || v.find_first_of(" =\"\\\n\t") != std::string_view::npos;
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

void set_min_level(level l) { g_min_level = l; }

void write(level l, std::string_view msg, std::initializer_list<field> fields) {
  if (l < g_min_level.load(std::memory_order_relaxed)) return;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::string line = "ts=" + format_rfc3339(now) + " level=" + std::string(level_name(l)) + " msg=";
  append_value(line, msg);
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    append_value(line, value);
  }
  line += '\n';
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace hookd::engine::log
