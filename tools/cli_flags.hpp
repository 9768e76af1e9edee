// The flags of hookd's subcommands other than serve (serve has its option table in
// tools/serve_options.hpp): --name VALUE, --name=VALUE, switches alone, positional
// arguments, and the environment as a fallback.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hookd::cli {

struct parsed_args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // a switch given alone is "1"
  std::optional<std::string> error;           // the first problem, naming the flag
  bool help = false;                          // --help or -h

  bool has(const std::string& name) const { return values.contains(name); }
  std::optional<std::string> get(const std::string& name) const;
};

// `known` flags take a value, `switches` take none; anything not starting with "--" is
// positional.
parsed_args parse_args(const std::vector<std::string>& args, const std::vector<std::string>& known,
                       const std::vector<std::string>& switches);

// The variable's value when set and not empty, else `fallback`.
std::string env_or(const char* name, std::string fallback);

}  // namespace hookd::cli
