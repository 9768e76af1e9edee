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
std::mutex g_mutex;  // one line at a time; guards g_sink
std::function<void(level, std::string_view)> g_sink;

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

constexpr std::string_view k_hex = "0123456789abcdef";

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// `v` in double quotes with \" \\ \n \r \t escaped, and other control bytes as
// `control_prefix` and two hex digits (\x for logfmt, \u00 for JSON).
void append_quoted(std::string& out, std::string_view v, std::string_view control_prefix) {
  out += '"';
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (is_control(c)) {
      out += control_prefix;
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

// logfmt: bare when safe, else quoted with \" \\ \n \r \t and \xNN for other
// control bytes.
void append_text_value(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (unsigned char c : v)
    quote = quote || c == ' ' || c == '=' || c == '"' || c == '\\' || is_control(c);
  if (!quote) {
    out += v;
    return;
  }
  append_quoted(out, v, "\\x");
}

// A JSON string: \" \\ \n \r \t and \u00NN for other control bytes.
void append_json_string(std::string& out, std::string_view v) { append_quoted(out, v, "\\u00"); }

std::atomic<format> g_format{format::text};

}  // namespace

void set_min_level(level l) { g_min_level = l; }
bool enabled(level l) { return l >= g_min_level.load(std::memory_order_relaxed); }
void set_format(format f) { g_format = f; }
void set_sink(std::function<void(level, std::string_view)> sink) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
}

std::optional<level> parse_level(std::string_view name) {
  for (level l : {level::debug, level::info, level::warn, level::error}) {
    if (name == level_name(l)) return l;
  }
  return std::nullopt;
}

std::optional<format> parse_format(std::string_view name) {
  if (name == "text") return format::text;
  if (name == "json") return format::json;
  return std::nullopt;
}

std::string render(format f, level l, std::string_view ts, std::string_view msg,
                   std::initializer_list<field> fields) {
  std::string line;
  if (f == format::json) {
    line = "{\"ts\":";
    append_json_string(line, ts);
    line += ",\"level\":";
    append_json_string(line, level_name(l));
    line += ",\"msg\":";
    append_json_string(line, msg);
    for (const auto& [key, value] : fields) {
      line += ',';
      append_json_string(line, key);
      line += ':';
      append_json_string(line, value);
    }
    line += "}\n";
    return line;
  }
  line = "ts=";
  line += ts;
  line += " level=";
  line += level_name(l);
  line += " msg=";
  append_text_value(line, msg);
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    append_text_value(line, value);
  }
  line += '\n';
  return line;
}

void write(level l, std::string_view msg, std::initializer_list<field> fields) {
  if (!enabled(l)) return;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::string line =
      render(g_format.load(std::memory_order_relaxed), l, format_rfc3339(now), msg, fields);
  std::lock_guard lock(g_mutex);
  if (g_sink) {
    try {
      g_sink(l, line);
      return;
    } catch (...) {
      // A host's sink that throws must not take a hookd thread down: the line goes
      // to stderr instead.
    }
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace hookd::engine::log

namespace hookd::engine {

void configure_logging(log_options options) {
  log::set_min_level(options.min_level);
  log::set_format(options.format);
  log::set_sink(std::move(options.sink));
}

}  // namespace hookd::engine
