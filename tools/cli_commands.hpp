// The client commands of the `hookd` binary: `hookd webhooks|events|deliveries VERB`
// against a running server's admin API (tools/api_client.hpp). A table or key/value
// lines for people, `--json` for the API's own JSON; exit codes 0 done, 1 the API
// refused (4xx), 2 bad usage, 3 server unreachable or 5xx.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace hookd::cli {

// hookd_main.cpp's usage_error: prints the message and the help hint, returns 2.
using usage_error_fn = std::function<int(const std::string& message, const char* help_hint)>;

// Each takes the arguments after its noun ("list", "--json", ...).
int webhooks_command(const std::vector<std::string>& args, const usage_error_fn& usage_error);
int events_command(const std::vector<std::string>& args, const usage_error_fn& usage_error);
int deliveries_command(const std::vector<std::string>& args, const usage_error_fn& usage_error);

}  // namespace hookd::cli
