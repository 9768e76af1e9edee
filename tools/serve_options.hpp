// The options of `hookd serve`, one table for all: each option's flag, environment
// variable, TOML key, default and help. --help, docs/CONFIGURATION.md and the parser
// are made from it, so they cannot drift. A value comes from the flag, else the
// environment, else the config file (--config), else the default.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/errc.hpp"

namespace hookd::cli {

enum class option_kind {
  text,      // any string
  count,     // a non-negative integer
  number,    // a decimal number
  duration,  // "250ms", "15s", "3m", "1h", "5d"
  size,      // "128MiB", "2GiB", or bytes
  boolean,   // a switch: the flag alone, 1/0 in the environment, true/false in the file
  list,      // comma-separated; an array of strings in the file
};

struct option_spec {
  std::string_view name;      // the flag without "--"; the TOML key with '_' for '-'
  std::string_view env;       // HOOKD_...
  std::string_view metavar;   // for the help: "D", "N", "HOST:PORT"
  std::string_view fallback;  // the default, as the option's own syntax writes it
  std::string_view help;      // one paragraph
  option_kind kind = option_kind::text;
};

std::span<const option_spec> serve_options();

// The text of `hookd serve --help`.
std::string serve_help();
// docs/CONFIGURATION.md: every option with its key, variable and default.
std::string configuration_reference();

enum class option_source { flag, env, file, fallback };
std::string_view source_name(option_source s);

struct resolved_options {
  struct value {
    std::string text;
    option_source source = option_source::fallback;
  };
  std::map<std::string, value, std::less<>> values;  // every option of the table
  std::string config_file;                           // empty when none
  bool help = false;
  bool check_config = false;  // --check-config: print the resolved options and stop

  // The option's value (its default when nobody set it).
  const std::string& get(std::string_view name) const;
  bool on(std::string_view name) const;  // a boolean option
};

using env_reader = std::function<std::optional<std::string>(std::string_view name)>;

// Reads `args` (flags, --config FILE, --check-config, --help), the environment through
// `env`, and the config file. Errors name the flag, variable or file:line:key.
[[nodiscard]] explained<resolved_options> resolve_serve_options(
    const std::vector<std::string>& args, const env_reader& env);

}  // namespace hookd::cli
