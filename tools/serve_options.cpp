// The table of `hookd serve` options, the help and reference made from it, and the
// resolution of each value: flag, environment, TOML config file (toml++), default.
#include "tools/serve_options.hpp"

#include <algorithm>
#include <array>
#include <sstream>

#include <toml++/toml.h>

namespace hookd::cli {
namespace {

using enum option_kind;

// clang-format off
constexpr std::array<option_spec, 24> k_options = {{
    {"listen", "HOOKD_LISTEN", "HOST:PORT", "127.0.0.1:8080",
     "Address to listen on; port 0 picks a free port.", text},
    {"data", "HOOKD_DATA", "DIR", "./var/hookd",
     "RocksDB data folder, created if missing.", text},
    {"threads", "HOOKD_THREADS", "N", "0",
     "Threads serving requests and delivering; 0 means one per core.", count},
    {"tokens", "HOOKD_TOKENS_FILE", "FILE", "",
     "Tokens file: one \"account:token\" or \"account:sha256:<hex>\" per line; an "
     "\"@operator:...\" entry is an operator token (only it reads /metrics). Read again "
     "when it changes. Tokens may also be given as HOOKD_TOKENS=\"acme:tok_a,beta:tok_b\".",
     text},
    {"events", "HOOKD_EVENTS_FILE", "FILE", "",
     "Event catalog, one event type per line, replacing Sonar's eleven default types.", text},
    {"fsync", "HOOKD_FSYNC", "", "false",
     "fsync every write for power-loss durability; off survives a crash of the process.",
     boolean},
    {"allow-private-targets", "HOOKD_ALLOW_PRIVATE_TARGETS", "", "false",
     "Deliver to loopback, private, link-local and multicast addresses too.", boolean},
    {"allow-cidr", "HOOKD_ALLOW_CIDR", "LIST", "",
     "Networks allowed although private, e.g. 10.1.0.0/16,fd00::/8.", list},
    {"connect-timeout", "HOOKD_CONNECT_TIMEOUT", "D", "5s",
     "Deadline of DNS, TCP and TLS per attempt.", duration},
    {"attempt-timeout", "HOOKD_ATTEMPT_TIMEOUT", "D", "15s",
     "Deadline of a whole attempt, connect to response.", duration},
    {"connections-per-origin", "HOOKD_CONNECTIONS_PER_ORIGIN", "N", "32",
     "Keep-alive connections per receiver origin and thread.", count},
    {"max-in-flight", "HOOKD_MAX_IN_FLIGHT", "N", "4096",
     "Requests in flight at once in total.", count},
    {"retry-schedule", "HOOKD_RETRY_SCHEDULE", "LIST", "10s,30s,3m,30m",
     "Delays between attempts.", list},
    {"retry-jitter", "HOOKD_RETRY_JITTER", "F", "0.1",
     "Relative jitter of each delay, 0 to 1; 0 turns it off.", number},
    {"max-retry-after", "HOOKD_MAX_RETRY_AFTER", "D", "1h",
     "Longest wait a receiver's Retry-After (429, 503) can ask for, at most 7d.", duration},
    {"retention", "HOOKD_RETENTION", "D", "30d",
     "How long finished deliveries, their attempts and events are kept; pending work is "
     "kept however old.", duration},
    {"disable-after", "HOOKD_DISABLE_AFTER", "D", "5d",
     "Deactivate a webhook whose attempts have all failed for this long (since its last "
     "success), cancelling its pending work; 0 never.", duration},
    {"min-free-space", "HOOKD_MIN_FREE_SPACE", "SIZE", "128MiB",
     "Free disk space kept on the data folder's file system: under it publish and webhook "
     "writes get 507 storage_full while accepted deliveries go on; under a quarter of it "
     "hookd does not start (exit code 75). At least 32MiB, or 0 to turn it off.", size},
    {"shutdown-grace", "HOOKD_SHUTDOWN_GRACE", "D", "5s",
     "On SIGTERM or SIGINT, how long requests and deliveries in flight may take before "
     "they are cut; cut deliveries stay pending and go out after the restart.", duration},
    {"log-format", "HOOKD_LOG_FORMAT", "F", "text",
     "text (logfmt) or json, one object per line.", text},
    {"log-level", "HOOKD_LOG_LEVEL", "L", "info",
     "debug, info, warn or error; info includes one access line per admin request.", text},
    {"portal-frame-origins", "HOOKD_PORTAL_FRAME_ORIGINS", "LIST", "",
     "Origins whose pages may show the portal in a frame, e.g. https://app.example.com; "
     "none by default (X-Frame-Options: DENY). When set, the portal's session cookie is "
     "SameSite=None, Secure and Partitioned, so the portal must be served over https.",
     list},
    {"ca-file", "HOOKD_CA_FILE", "FILE", "",
     "Extra PEM CA certificates to trust for https receivers, besides the system store.",
     text},
    {"config", "HOOKD_CONFIG", "FILE", "",
     "A TOML file of these options (keys with '_' for '-'); the environment overrides "
     "it and a flag overrides both.", text},
}};
// clang-format on

const option_spec* find_option(std::string_view name) {
  for (const auto& o : k_options) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

std::string key_of(std::string_view name) {
  std::string key(name);
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

// Words of `text` filled into lines of at most `width`, each after `indent`.
std::string wrap(std::string_view text, std::size_t indent, std::size_t width) {
  std::istringstream words{std::string(text)};
  std::string out;
  std::string line;
  for (std::string word; words >> word;) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

std::string shown_default(const option_spec& o) {
  if (o.fallback.empty()) return "none";
  if (o.kind == boolean) return o.fallback == "true" ? "on" : "off";
  return std::string(o.fallback);
}

// A TOML value as the option's text, or why it cannot be.
std::optional<std::string> from_toml(const option_spec& o, const toml::node& node,
                                     std::string& problem) {
  if (o.kind == boolean) {
    if (auto b = node.value<bool>()) return *b ? "1" : "0";
    problem = "must be true or false";
    return std::nullopt;
  }
  if (o.kind == list) {
    if (const auto* array = node.as_array()) {
      std::string joined;
      for (const auto& item : *array) {
        auto text = item.value<std::string>();
        if (!text) {
          problem = "must be an array of strings";
          return std::nullopt;
        }
        if (!joined.empty()) joined += ',';
        joined += *text;
      }
      return joined;
    }
    if (auto text = node.value<std::string>()) return *text;
    problem = "must be an array of strings";
    return std::nullopt;
  }
  if (o.kind == count) {
    if (auto n = node.value<std::int64_t>(); n && *n >= 0) return std::to_string(*n);
    if (auto text = node.value<std::string>()) return *text;
    problem = "must be a non-negative integer";
    return std::nullopt;
  }
  if (o.kind == number) {
    if (node.is_integer() || node.is_floating_point()) {
      std::ostringstream s;
      s << *node.value<double>();
      return s.str();
    }
    problem = "must be a number";
    return std::nullopt;
  }
  if (auto text = node.value<std::string>()) return *text;
  if (o.kind == duration) {
    problem = "must be a string with a unit, like \"15s\", \"3m\" or \"5d\"";
  } else if (o.kind == size) {
    problem = "must be a string like \"128MiB\" or \"2GiB\"";
  } else {
    problem = "must be a string";
  }
  return std::nullopt;
}

explained<void> read_config(const std::string& file, resolved_options& out) {
  toml::table table;
  try {
    table = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
           std::string(e.description());
  }
  for (const auto& [key, node] : table) {
    std::string name(key.str());
    std::replace(name.begin(), name.end(), '_', '-');
    const option_spec* o = find_option(name);
    const std::string line = std::to_string(node.source().begin.line);
    if (!o || o->name == "config") {
      std::string message = file;
      message += ":" + line + ": unknown key \"";
      message += key.str();
      message += "\"; see docs/CONFIGURATION.md for the keys";
      return message;
    }
    std::string problem;
    auto text = from_toml(*o, node, problem);
    if (!text) {
      std::string message = file;
      message += ":" + line + ": ";
      message += key.str();
      message += " " + problem;
      return message;
    }
    auto& v = out.values[std::string(o->name)];
    if (v.source == option_source::fallback) v = {*text, option_source::file};
  }
  return {};
}

}  // namespace

std::span<const option_spec> serve_options() { return k_options; }

std::string_view source_name(option_source s) {
  switch (s) {
    case option_source::flag:
      return "flag";
    case option_source::env:
      return "environment";
    case option_source::file:
      return "config file";
    case option_source::fallback:
      return "default";
  }
  return "default";
}

std::string serve_help() {
  std::string out =
      "Usage: hookd serve [options]\n\n"
      "Runs the admin HTTP API on an embedded RocksDB data folder. Once ready it prints\n"
      "one line, \"hookd listening on http://HOST:PORT\", to stdout. SIGINT or SIGTERM stop\n"
      "it cleanly; SIGHUP reads the tokens file again.\n\n"
      "Each option is a flag, an environment variable or a key of the --config file;\n"
      "the flag wins over the environment, which wins over the file. Durations take\n"
      "ms, s, m, h or d (\"250ms\", \"15s\", \"5d\"); sizes B, KiB, MiB, GiB or TiB.\n\n"
      "Options:\n";
  for (const auto& o : k_options) {
    std::string head = "  --" + std::string(o.name);
    if (!o.metavar.empty()) head += " " + std::string(o.metavar);
    out += head + "\n";
    out += wrap(
        std::string(o.help) + " (env " + std::string(o.env) + ", default " + shown_default(o) + ")",
        6, 88);
  }
  out +=
      "  --check-config\n"
      "      Print every option's value and where it came from, check them, and exit.\n"
      "  --help\n"
      "      Show this help.\n";
  return out;
}

std::string configuration_reference() {
  std::string out =
      "# Configuration of `hookd serve`\n\n"
      "Made by `hookd serve --config-reference` from the table in `tools/serve_options.cpp`;\n"
      "a test keeps this file equal to it. Each option is a flag, an environment variable\n"
      "or a key of the TOML file given with `--config`: the flag wins over the environment,\n"
      "which wins over the file, which wins over the default. `hookd serve --check-config`\n"
      "prints every value and where it came from. Durations take `ms`, `s`, `m`, `h` or `d`\n"
      "(`\"250ms\"`, `\"15s\"`, `\"5d\"`); sizes `B`, `KiB`, `MiB`, `GiB` or `TiB`. An example\n"
      "is `examples/hookd.toml`.\n\n"
      "| flag | TOML key | environment | default | what |\n"
      "|---|---|---|---|---|\n";
  for (const auto& o : k_options) {
    out += "| `--" + std::string(o.name) + (o.metavar.empty() ? "" : " " + std::string(o.metavar)) +
           "` | " + (o.name == "config" ? std::string("-") : "`" + key_of(o.name) + "`") + " | `" +
           std::string(o.env) + "` | " +
           (o.fallback.empty() ? std::string("none") : "`" + std::string(o.fallback) + "`") +
           " | " + std::string(o.help) + " |\n";
  }
  out +=
      "\nTokens themselves are never options: give them in the tokens file, or as\n"
      "`HOOKD_TOKENS=\"acme:tok_a,beta:tok_b\"` in the environment.\n";
  return out;
}

const std::string& resolved_options::get(std::string_view name) const {
  return values.find(name)->second.text;
}

bool resolved_options::on(std::string_view name) const {
  const std::string& v = get(name);
  return v == "1" || v == "true";
}

explained<resolved_options> resolve_serve_options(const std::vector<std::string>& args,
                                                  const env_reader& env) {
  resolved_options out;
  for (const auto& o : k_options) {
    out.values[std::string(o.name)] = {
        o.kind == boolean ? (o.fallback == "true" ? "1" : "0") : std::string(o.fallback),
        option_source::fallback};
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg == "--check-config") {
      out.check_config = true;
      continue;
    }
    if (!arg.starts_with("--")) return "unexpected argument \"" + arg + "\"";
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const option_spec* o = find_option(name);
    if (!o) return "unknown flag --" + name;
    if (o->kind == boolean) {
      out.values[name] = {value.value_or("1"), option_source::flag};
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return "--" + name + " needs a value";
      value = args[++i];
    }
    out.values[name] = {*value, option_source::flag};
  }
  for (const auto& o : k_options) {
    auto& v = out.values[std::string(o.name)];
    if (v.source != option_source::fallback) continue;
    if (auto e = env(o.env)) v = {*e, option_source::env};
  }
  out.config_file = out.get("config");
  if (!out.config_file.empty()) {
    if (auto read = read_config(out.config_file, out); !read) return read.error();
  }
  return out;
}

}  // namespace hookd::cli
