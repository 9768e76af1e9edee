// Parsing the flags of hookd's client and token subcommands.
#include "tools/cli_flags.hpp"

#include <algorithm>
#include <cstdlib>

namespace hookd::cli {

std::optional<std::string> parsed_args::get(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? std::nullopt : std::optional(it->second);
}

parsed_args parse_args(const std::vector<std::string>& args, const std::vector<std::string>& known,
                       const std::vector<std::string>& switches) {
  parsed_args out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      out.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (std::find(switches.begin(), switches.end(), name) != switches.end()) {
      if (value) {
        out.error = "--" + name + " takes no value";
        return out;
      }
      out.values[name] = "1";
      continue;
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      out.error = "unknown flag --" + name;
      return out;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        out.error = "--" + name + " needs a value";
        return out;
      }
      value = args[++i];
    }
    out.values[name] = *value;
  }
  return out;
}

std::string env_or(const char* name, std::string fallback) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): the CLI reads it before any thread starts.
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

}  // namespace hookd::cli
