// The `hookd` command: `serve` runs the admin API on an embedded RocksDB data
// folder; `token create` adds an API token to a tokens file; `webhooks`, `events` and
// `deliveries` are a client of a running server (tools/cli_commands.hpp).
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "api/router.hpp"
#include "api/server.hpp"
#include "api/tokens.hpp"
#include "engine/delivery/retry_policy.hpp"
#include "engine/encoding.hpp"
#include "engine/log.hpp"
#include "hookd/engine/engine.hpp"
#include "hookd/engine/event_catalog.hpp"
#include "hookd/engine/random.hpp"
#include "hookd/version.hpp"
#include "store/disk_space.hpp"
#include "tools/cli_commands.hpp"
#include "tools/cli_flags.hpp"
#include "tools/serve_options.hpp"

namespace {

using namespace hookd;

// sysexits' EX_TEMPFAIL: the data folder's file system is too full to start.
constexpr int k_exit_storage_full = 75;

constexpr const char* k_main_help = R"(hookd - webhook dispatch engine

Usage:
  hookd serve [options]          run the admin API (see hookd serve --help)
  hookd token create|list|revoke  manage API tokens (see hookd token --help)
  hookd --version                print the version
  hookd --help                   show this help

Client of a running server (--server URL, env HOOKD_SERVER; --token, env HOOKD_TOKEN):
  hookd webhooks list|show|create|update|delete|rotate-secret|recover
                                 manage webhooks (see hookd webhooks --help)
  hookd events publish TYPE      publish an event (see hookd events --help)
  hookd deliveries list|show|retry
                                 inspect and retry deliveries (see hookd deliveries --help)
)";

constexpr const char* k_token_help =
    R"(Usage: hookd token create (--account NAME | --operator) --tokens FILE
       hookd token list --tokens FILE
       hookd token revoke ID --tokens FILE

create: makes a random API token for account NAME, appends its SHA-256 to FILE
(created with mode 0600 if missing) as "NAME:sha256:<hex>", and prints the token
once; it cannot be recovered from the file. An operator token
("@operator:sha256:<hex>") reads /metrics, which no account's token may, and acts
on no account.
list: each token's account and ID (the first 12 hex digits of its SHA-256).
revoke: removes the token whose ID starts with ID (at least 8 hex digits).

A running hookd serve reads FILE again within a second of a change (or at once on
SIGHUP): a new token works and a revoked one is refused without a restart, and
open connections stay open.

Options:
  --account NAME   account the token authenticates as: 1-64 of [A-Za-z0-9_.-]
  --operator       create an operator token instead
  --tokens FILE    the tokens file (env HOOKD_TOKENS_FILE; required)
  --help           show this help
)";

// Type=notify under systemd: a datagram to $NOTIFY_SOCKET (a path, or an abstract
// socket when it starts with '@'), the protocol of sd_notify(3) without libsystemd.
// Nothing happens when the variable is absent.
void notify_systemd(const std::string& state) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before and after the threads' lifetime.
  const char* socket_path = std::getenv("NOTIFY_SOCKET");
  if (socket_path == nullptr || socket_path[0] == '\0') return;
  const std::string path(socket_path);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return;
  std::memcpy(address.sun_path, path.data(), path.size());
  if (path[0] == '@') address.sun_path[0] = '\0';
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  if (::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&address), length) < 0) {
    engine::log::warn("telling systemd failed", {{"state", state.substr(0, state.find('\n'))}});
  }
  ::close(fd);
}

int usage_error(const std::string& message, const char* help_hint) {
  std::cerr << "hookd: " << message << "\n"
            << "Run '" << help_hint << " --help' for usage.\n";
  return 2;
}

// A flag's value, else the environment's, else `fallback`.
std::string flag(const cli::parsed_args& f, const std::string& name, const char* env,
                 std::string fallback) {
  return f.get(name).value_or(cli::env_or(env, std::move(fallback)));
}

// The token commands take flags only (revoke also its ID): the first problem, if any.
std::optional<std::string> token_args_problem(const cli::parsed_args& f, std::size_t positional) {
  if (f.error) return f.error;
  if (f.positional.size() > positional) {
    return "unexpected argument \"" + f.positional[positional] + "\"";
  }
  return std::nullopt;
}

// "HOST:PORT" or "[V6]:PORT".
std::optional<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& text) {
  std::string host;
  std::string port;
  if (text.starts_with("[")) {
    auto close = text.find("]:");
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || p != port.data() + port.size() ||
      value > 65535) {
    return std::nullopt;
  }
  return std::pair{host, static_cast<std::uint16_t>(value)};
}

int serve(const std::vector<std::string>& args) {
  if (std::find(args.begin(), args.end(), "--config-reference") != args.end()) {
    std::cout << cli::configuration_reference();
    return 0;
  }
  auto resolved =
      cli::resolve_serve_options(args, [](std::string_view name) -> std::optional<std::string> {
        const std::string n(name);
        // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts.
        if (const char* v = std::getenv(n.c_str())) return std::string(v);
        return std::nullopt;
      });
  if (!resolved) return usage_error(resolved.error().message, "hookd serve");
  const cli::resolved_options& o = *resolved;
  if (o.help) {
    std::cout << cli::serve_help();
    return 0;
  }

  const std::string log_format = o.get("log-format");
  const std::string log_level = o.get("log-level");
  const auto format = engine::log::parse_format(log_format);
  if (!format) {
    return usage_error("--log-format \"" + log_format + "\" is not text or json", "hookd serve");
  }
  const auto level = engine::log::parse_level(log_level);
  if (!level) {
    return usage_error("--log-level \"" + log_level + "\" is not debug, info, warn or error",
                       "hookd serve");
  }
  engine::log::set_format(*format);
  engine::log::set_min_level(*level);

  const std::string listen_text = o.get("listen");
  auto listen = parse_listen(listen_text);
  if (!listen) {
    return usage_error("--listen \"" + listen_text + "\" is not HOST:PORT", "hookd serve");
  }
  const std::string data = o.get("data");
  const std::string threads_text = o.get("threads");
  unsigned threads = 0;
  {
    auto [p, ec] =
        std::from_chars(threads_text.data(), threads_text.data() + threads_text.size(), threads);
    if (ec != std::errc() || p != threads_text.data() + threads_text.size() || threads > 256) {
      return usage_error("--threads \"" + threads_text + "\" is not a number from 1 to 256",
                         "hookd serve");
    }
  }
  const std::string tokens_file = o.get("tokens");
  const std::string events_file = o.get("events");
  const bool fsync = o.on("fsync");

  // Block the stop signals before the first thread starts (the tokens file's watcher,
  // then RocksDB's and the server's inherit the mask); the main thread waits for them
  // with sigwait. A thread started earlier would take a SIGTERM and die of it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // not a stop: reload the tokens file
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto tokens = api::live_tokens::open(
      cli::env_or("HOOKD_TOKENS", ""),
      tokens_file.empty() ? std::nullopt : std::optional<std::filesystem::path>(tokens_file));
  if (!tokens) {
    std::cerr << "hookd: " << tokens.error().message << "\n";
    return 1;
  }
  if ((*tokens)->size() == 0) {
    engine::log::warn("no API tokens configured: every API request will get 401",
                      {{"hint", "set HOOKD_TOKENS or --tokens"}});
  }

  auto catalog = events_file.empty() ? engine::event_catalog::sonar_default()
                                     : engine::event_catalog::load(events_file);
  if (!catalog) {
    std::cerr << "hookd: --events: " << catalog.error().message << "\n";
    return 1;
  }

  engine::engine_options options;
  options.data_dir = data;
  options.fsync = fsync;
  options.threads = threads;
  options.catalog = std::move(*catalog);
  options.http.allow_private_targets = o.on("allow-private-targets");
  const std::string cidrs = o.get("allow-cidr");
  for (std::size_t pos = 0; pos < cidrs.size();) {
    const auto comma = std::min(cidrs.find(',', pos), cidrs.size());
    const std::string item = cidrs.substr(pos, comma - pos);
    auto net = engine::cidr::parse(item);
    if (!net)
      return usage_error("--allow-cidr: \"" + item + "\" is not a network like 10.0.0.0/8",
                         "hookd serve");
    options.http.allowed_networks.push_back(*net);
    pos = comma + 1;
  }
  api::portal_options portal_options;
  const std::string origins = o.get("portal-frame-origins");
  for (std::size_t pos = 0; pos < origins.size();) {
    const auto comma = std::min(origins.find(',', pos), origins.size());
    const std::string item = origins.substr(pos, comma - pos);
    if (!api::is_frame_origin(item)) {
      return usage_error(
          "--portal-frame-origins: \"" + item + "\" is not an origin like https://app.example.com",
          "hookd serve");
    }
    portal_options.frame_origins.push_back(item);
    pos = comma + 1;
  }
  auto number = [&](const char* name, std::uint64_t min,
                    std::uint64_t max) -> std::optional<std::uint64_t> {
    const std::string& text = o.get(name);
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v < min || v > max) {
      std::cerr << "hookd: --" << name << " \"" << text << "\" is not a number from " << min
                << " to " << max << "\n";
      return std::nullopt;
    }
    return v;
  };
  using std::chrono::milliseconds;
  // Durations in one syntax everywhere ("250ms", "15s", "1h"), within [min, max].
  auto duration = [&](const char* name, std::chrono::milliseconds min,
                      std::chrono::milliseconds max) -> std::optional<std::chrono::milliseconds> {
    const std::string& text = o.get(name);
    if (text == "0" && min.count() == 0) return milliseconds(0);
    auto d = engine::parse_duration(text);
    if (!d || *d < min || *d > max) {
      std::cerr << "hookd: --" << name << " \"" << text << "\" is not a duration from "
                << min.count() << "ms to " << max.count() << "ms, like \"15s\""
                << (d ? "" : ": " + d.error().message) << "\n";
      return std::nullopt;
    }
    return *d;
  };
  auto connect = duration("connect-timeout", milliseconds(1), std::chrono::minutes(10));
  auto attempt = duration("attempt-timeout", milliseconds(1), std::chrono::hours(1));
  auto per_origin = number("connections-per-origin", 1, 10'000);
  auto retry_after = duration("max-retry-after", milliseconds(0), std::chrono::hours(24 * 7));
  auto in_flight = number("max-in-flight", 1, 1'000'000);
  if (!connect || !attempt || !per_origin || !in_flight || !retry_after) return 2;
  options.max_retry_after = *retry_after;
  options.http.connect_timeout = *connect;
  options.http.attempt_timeout = *attempt;
  options.http.connections_per_origin = *per_origin;
  options.max_in_flight = *in_flight;
  options.http.extra_ca_file = o.get("ca-file");
  auto schedule = engine::parse_retry_schedule(o.get("retry-schedule"));
  if (!schedule) return usage_error("--retry-schedule: " + schedule.error().message, "hookd serve");
  options.retry_schedule = std::move(*schedule);
  auto retention = engine::parse_duration(o.get("retention"));
  if (!retention) return usage_error("--retention: " + retention.error().message, "hookd serve");
  options.retention = *retention;
  const std::string disable_after = o.get("disable-after");
  if (disable_after == "0") {
    options.disable_after = std::chrono::milliseconds(0);
  } else {
    auto parsed = engine::parse_duration(disable_after);
    if (!parsed) return usage_error("--disable-after: " + parsed.error().message, "hookd serve");
    options.disable_after = *parsed;
  }
  const std::string jitter_text = o.get("retry-jitter");
  try {
    std::size_t used = 0;
    options.retry_jitter = std::stod(jitter_text, &used);
    if (used != jitter_text.size() || options.retry_jitter < 0 || options.retry_jitter > 1) {
      throw std::invalid_argument("range");
    }
  } catch (const std::exception&) {
    return usage_error("--retry-jitter \"" + jitter_text + "\" is not a number from 0 to 1",
                       "hookd serve");
  }

  const std::string min_free_text = o.get("min-free-space");
  const auto min_free = store::parse_bytes(min_free_text);
  if (!min_free) {
    return usage_error("--min-free-space \"" + min_free_text +
                           "\" is not a size like 128MiB, 2GiB or a number of bytes",
                       "hookd serve");
  }
  // RocksDB takes log space in blocks of about 18 MiB at once: a smaller margin could
  // be crossed between two checks.
  if (*min_free != 0 && *min_free < (std::uint64_t{32} << 20)) {
    return usage_error("--min-free-space \"" + min_free_text +
                           "\" is under 32MiB, less than RocksDB may take at once; use 0 to "
                           "turn the watch off",
                       "hookd serve");
  }
  options.min_free_space = *min_free;
  auto grace = engine::parse_duration(o.get("shutdown-grace"));
  if (!grace) return usage_error("--shutdown-grace: " + grace.error().message, "hookd serve");

  if (o.check_config) {
    // Everything above checked every value; nothing is opened or started.
    for (const auto& spec : cli::serve_options()) {
      const auto& v = o.values.at(std::string(spec.name));
      std::cout << spec.name << " = " << (v.text.empty() ? "(none)" : v.text) << "  ("
                << cli::source_name(v.source) << ")\n";
    }
    std::cout << "hookd: the configuration is valid\n";
    return 0;
  }
  auto opened = engine::engine::open(std::move(options));
  if (!opened) {
    std::cerr << "hookd: " << opened.error().message << "\n";
    // A full disk is worth telling apart: a supervisor may wait for space, not page.
    const auto free = store::available_bytes(data);
    return free && *free < store::space_guard::floor_of(*min_free) ? k_exit_storage_full : 1;
  }
  auto& core = **opened;
  core.start();
  api::portal_sessions portal([&core] { return core.now_ms(); }, std::move(portal_options));
  api::router router(core, **tokens, portal);
  api::server server(
      {.host = listen->first, .port = listen->second, .threads = threads, .shutdown_grace = *grace},
      router);
  if (auto started = server.start(); !started) {
    std::cerr << "hookd: " << started.error().message << "\n";
    return 1;
  }
  const std::string shown_host =
      listen->first.find(':') != std::string::npos ? "[" + listen->first + "]" : listen->first;
  std::cout << "hookd listening on http://" << shown_host << ":" << server.port() << std::endl;
  notify_systemd("READY=1\nSTATUS=listening on " + listen->first + ":" +
                 std::to_string(server.port()));
  engine::log::info("started",
                    {{"version", engine::k_version},
                     {"listen", shown_host + ":" + std::to_string(server.port())},
                     {"data", data},
                     {"accounts_tokens", std::to_string((*tokens)->size())},
                     {"event_types", std::to_string(core.webhooks().catalog().types().size())}});

  int signal_number = 0;
  for (;;) {
    sigwait(&stop_signals, &signal_number);
    if (signal_number != SIGHUP) break;
    if (auto r = (*tokens)->reload(); !r) {
      engine::log::error("SIGHUP: the tokens file cannot be read; the tokens in force stay",
                         {{"error", r.error().message}});
    } else {
      engine::log::info("SIGHUP: tokens reloaded", {{"tokens", std::to_string((*tokens)->size())}});
    }
  }
  engine::log::info("stopping", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  notify_systemd("STOPPING=1");
  // One deadline for both: the server stops accepting and the engine cuts what is
  // still in flight when the grace is up; cut deliveries stay pending on disk.
  server.stop();
  core.stop(*grace);
  server.wait();
  engine::log::info("stopped");
  return 0;
}

int token_list(const std::vector<std::string>& args) {
  auto f = cli::parse_args(args, {"tokens"}, {});
  if (f.help) {
    std::cout << k_token_help;
    return 0;
  }
  if (auto problem = token_args_problem(f, 0)) return usage_error(*problem, "hookd token list");
  const std::string file = flag(f, "tokens", "HOOKD_TOKENS_FILE", "");
  if (file.empty()) return usage_error("--tokens is required", "hookd token list");
  auto listed = api::token_store::list(file);
  if (!listed) {
    std::cerr << "hookd: " << listed.error().message << "\n";
    return 1;
  }
  std::printf("%-32s  %-12s  %s\n", "ACCOUNT", "ID", "LINE");
  for (const auto& t : *listed) {
    std::printf("%-32s  %-12s  %d\n", t.account.c_str(), t.id.c_str(), t.line);
  }
  return 0;
}

int token_revoke(const std::vector<std::string>& args) {
  auto f = cli::parse_args(args, {"tokens"}, {});
  if (f.help) {
    std::cout << k_token_help;
    return 0;
  }
  if (auto problem = token_args_problem(f, 1)) return usage_error(*problem, "hookd token revoke");
  const std::string id = f.positional.empty() ? std::string() : f.positional[0];
  const std::string file = flag(f, "tokens", "HOOKD_TOKENS_FILE", "");
  if (file.empty()) return usage_error("--tokens is required", "hookd token revoke");
  if (id.empty()) return usage_error("the token's ID is required", "hookd token revoke");
  auto revoked = api::token_store::revoke(file, id);
  if (!revoked) {
    std::cerr << "hookd: " << revoked.error().message << "\n";
    return 1;
  }
  for (const auto& t : *revoked) {
    std::cout << "revoked " << t.id << " (account " << t.account << ")\n";
  }
  return 0;
}

int token_create(const std::vector<std::string>& args) {
  auto f = cli::parse_args(args, {"account", "tokens"}, {"operator"});
  if (f.help) {
    std::cout << k_token_help;
    return 0;
  }
  if (auto problem = token_args_problem(f, 0)) return usage_error(*problem, "hookd token create");
  std::string account = flag(f, "account", "HOOKD_ACCOUNT", "");
  const std::string file = flag(f, "tokens", "HOOKD_TOKENS_FILE", "");
  if (f.has("operator")) {
    if (!account.empty()) {
      return usage_error("--operator and --account exclude each other", "hookd token create");
    }
    account = api::k_operator;
  }
  if (account.empty()) {
    return usage_error("--account or --operator is required", "hookd token create");
  }
  if (file.empty()) return usage_error("--tokens is required", "hookd token create");
  engine::crypto_random random;
  auto token = api::token_store::create(file, account, random);
  if (!token) {
    std::cerr << "hookd: " << token.error().message << "\n";
    return 1;
  }
  std::cout << *token << std::endl;
  // The ID hookd token list shows, on stderr: stdout is the token alone, for scripts.
  const auto digest = api::token_store::hash(*token);
  std::cerr
      << "hookd: created token "
      << engine::hex_encode(std::as_bytes(std::span(digest.data(), digest.size()))).substr(0, 12)
      << " for " << (account == api::k_operator ? "the operator" : "account " + account) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << k_main_help;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << "hookd " << engine::k_version << "\n";
    return 0;
  }
  try {
    if (args[0] == "serve") return serve({args.begin() + 1, args.end()});
    if (args[0] == "webhooks")
      return cli::webhooks_command({args.begin() + 1, args.end()}, usage_error);
    if (args[0] == "events")
      return cli::events_command({args.begin() + 1, args.end()}, usage_error);
    if (args[0] == "deliveries")
      return cli::deliveries_command({args.begin() + 1, args.end()}, usage_error);
    if (args[0] == "token") {
      if (args.size() >= 2 && args[1] == "create")
        return token_create({args.begin() + 2, args.end()});
      if (args.size() >= 2 && args[1] == "list") return token_list({args.begin() + 2, args.end()});
      if (args.size() >= 2 && args[1] == "revoke")
        return token_revoke({args.begin() + 2, args.end()});
      if (args.size() >= 2 && (args[1] == "--help" || args[1] == "-h")) {
        std::cout << k_token_help;
        return 0;
      }
      return usage_error("unknown token command: create, list or revoke", "hookd");
    }
  } catch (const std::exception& e) {
    std::cerr << "hookd: fatal: " << e.what() << "\n";
    return 1;
  }
  return usage_error("unknown command \"" + args[0] + "\"", "hookd");
}
