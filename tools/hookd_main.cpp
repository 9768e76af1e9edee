// The `hookd` command: `serve` runs the admin API on an embedded RocksDB data
// folder; `token create` adds an API token to a tokens file.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "api/router.hpp"
#include "api/server.hpp"
#include "api/tokens.hpp"
#include "engine/encoding.hpp"
#include "engine/engine.hpp"
#include "engine/log.hpp"
#include "engine/random.hpp"
#include "engine/registry/event_catalog.hpp"
#include "engine/version.hpp"
#include "store/disk_space.hpp"

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
)";

constexpr const char* k_serve_help = R"(Usage: hookd serve [options]

Runs the admin HTTP API on an embedded RocksDB data folder. Once ready it prints
one line, "hookd listening on http://HOST:PORT", to stdout. SIGINT or SIGTERM stop
it cleanly. Every flag can also be set in the environment; the flag wins.

Options:
  --listen HOST:PORT   address to listen on; port 0 picks a free port
                       (env HOOKD_LISTEN, default 127.0.0.1:8080)
  --data DIR           RocksDB data folder, created if missing
                       (env HOOKD_DATA, default ./var/hookd)
  --threads N          threads serving requests
                       (env HOOKD_THREADS, default: the number of cores)
  --tokens FILE        tokens file: one "account:token" or "account:sha256:<hex>"
                       per line (env HOOKD_TOKENS_FILE, default: none)
                       Tokens may also be given as HOOKD_TOKENS="acme:tok_a,beta:tok_b".
                       An "@operator:..." entry is an operator token: only it
                       reads /metrics, and it acts on no account.
  --events FILE        event catalog, one event type per line, replacing Sonar's
                       eleven default types (env HOOKD_EVENTS_FILE, default: Sonar's)
  --fsync              fsync every write for power-loss durability
                       (env HOOKD_FSYNC=1, default off: survives a process crash)
  --allow-private-targets
                       deliver to loopback, private, link-local and multicast
                       addresses too (env HOOKD_ALLOW_PRIVATE_TARGETS=1, default off)
  --allow-cidr LIST    comma-separated networks allowed although private,
                       e.g. 10.1.0.0/16,fd00::/8 (env HOOKD_ALLOW_CIDR, default none)
  --connect-timeout MS connect (DNS, TCP, TLS) deadline per attempt
                       (env HOOKD_CONNECT_TIMEOUT_MS, default 5000)
  --attempt-timeout MS whole-attempt deadline (env HOOKD_ATTEMPT_TIMEOUT_MS, default 15000)
  --connections-per-origin N
                       keep-alive connections per receiver origin and thread
                       (env HOOKD_CONNECTIONS_PER_ORIGIN, default 32)
  --max-in-flight N    requests in flight at once in total
                       (env HOOKD_MAX_IN_FLIGHT, default 4096)
  --retry-schedule S   delays between attempts, units ms/s/m/h/d
                       (env HOOKD_RETRY_SCHEDULE, default 10s,30s,3m,30m)
  --retry-jitter F     relative jitter of each delay, 0 turns it off
                       (env HOOKD_RETRY_JITTER, default 0.1)
  --max-retry-after S  longest wait a receiver's Retry-After (429, 503) can ask for,
                       in seconds (env HOOKD_MAX_RETRY_AFTER_S, default 3600)
  --retention D        how long finished deliveries, their attempts and events are
                       kept, units ms/s/m/h/d (env HOOKD_RETENTION, default 30d);
                       pending work is kept however old
  --disable-after D    deactivate a webhook whose attempts have all failed for this
                       long (since its last success), cancelling its pending work;
                       0 never (env HOOKD_DISABLE_AFTER, default 5d)
  --min-free-space SIZE
                       free disk space kept on the data folder's file system, e.g.
                       512MiB or 2GiB: under it publish and webhook writes get 507
                       storage_full while accepted deliveries go on; under a quarter
                       of it hookd does not start (exit code 75)
                       (env HOOKD_MIN_FREE_SPACE, default 128MiB, at least 32MiB;
                       0 turns it off)
  --shutdown-grace D   on SIGTERM or SIGINT, how long requests and deliveries in
                       flight may take before they are cut (cut deliveries stay
                       pending and go out after the restart), units ms/s/m
                       (env HOOKD_SHUTDOWN_GRACE, default 5s)
  --log-format F       text (logfmt) or json, one object per line
                       (env HOOKD_LOG_FORMAT, default text)
  --log-level L        debug, info, warn or error; info includes one access line
                       per admin request (env HOOKD_LOG_LEVEL, default info)
  --ca-file FILE       extra PEM CA certificates to trust for https receivers,
                       besides the system store (env HOOKD_CA_FILE, default none)
  --help               show this help
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

int usage_error(const std::string& message, const char* help_hint) {
  std::cerr << "hookd: " << message << "\n"
            << "Run '" << help_hint << " --help' for usage.\n";
  return 2;
}

std::string env_or(const char* name, std::string fallback) {
  const char* v =
      std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread starts
  return v && *v ? std::string(v) : std::move(fallback);
}

// Flags of the form --name VALUE or --name=VALUE; booleans listed in `switches`.
struct parsed_flags {
  std::map<std::string, std::string> values;
  std::optional<std::string> error;
  bool help = false;
};

parsed_flags parse_flags(const std::vector<std::string>& args,
                         const std::vector<std::string>& known,
                         const std::vector<std::string>& switches) {
  parsed_flags out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      out.error = "unexpected argument \"" + arg + "\"";
      return out;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const bool is_switch = std::find(switches.begin(), switches.end(), name) != switches.end();
    if (!is_switch && std::find(known.begin(), known.end(), name) == known.end()) {
      out.error = "unknown flag --" + name;
      return out;
    }
    if (is_switch) {
      out.values[name] = value.value_or("1");
      continue;
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

std::string flag(const parsed_flags& f, const std::string& name, const char* env,
                 std::string fallback) {
  if (auto it = f.values.find(name); it != f.values.end()) return it->second;
  return env_or(env, std::move(fallback));
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
  auto f = parse_flags(args,
                       {"listen",
                        "data",
                        "threads",
                        "tokens",
                        "events",
                        "allow-cidr",
                        "connect-timeout",
                        "attempt-timeout",
                        "connections-per-origin",
                        "max-in-flight",
                        "retry-schedule",
                        "retry-jitter",
                        "ca-file",
                        "max-retry-after",
                        "retention",
                        "disable-after",
                        "min-free-space",
                        "shutdown-grace",
                        "log-format",
                        "log-level"},
                       {"fsync", "allow-private-targets"});
  if (f.help) {
    std::cout << k_serve_help;
    return 0;
  }
  if (f.error) return usage_error(*f.error, "hookd serve");

  const std::string log_format = flag(f, "log-format", "HOOKD_LOG_FORMAT", "text");
  const std::string log_level = flag(f, "log-level", "HOOKD_LOG_LEVEL", "info");
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

  const std::string listen_text = flag(f, "listen", "HOOKD_LISTEN", "127.0.0.1:8080");
  auto listen = parse_listen(listen_text);
  if (!listen) {
    return usage_error("--listen \"" + listen_text + "\" is not HOST:PORT", "hookd serve");
  }
  const std::string data = flag(f, "data", "HOOKD_DATA", "./var/hookd");
  const std::string threads_text = flag(f, "threads", "HOOKD_THREADS", "0");
  unsigned threads = 0;
  {
    auto [p, ec] =
        std::from_chars(threads_text.data(), threads_text.data() + threads_text.size(), threads);
    if (ec != std::errc() || p != threads_text.data() + threads_text.size() || threads > 256) {
      return usage_error("--threads \"" + threads_text + "\" is not a number from 1 to 256",
                         "hookd serve");
    }
  }
  const std::string tokens_file = flag(f, "tokens", "HOOKD_TOKENS_FILE", "");
  const std::string events_file = flag(f, "events", "HOOKD_EVENTS_FILE", "");
  const bool fsync = flag(f, "fsync", "HOOKD_FSYNC", "0") != "0";

  auto tokens = api::live_tokens::open(
      env_or("HOOKD_TOKENS", ""),
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

  // Block the stop signals in every thread (RocksDB's and the server's inherit the
  // mask); the main thread waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // not a stop: reload the tokens file
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  engine::engine_options options;
  options.data_dir = data;
  options.fsync = fsync;
  options.threads = threads;
  options.catalog = std::move(*catalog);
  options.http.allow_private_targets =
      flag(f, "allow-private-targets", "HOOKD_ALLOW_PRIVATE_TARGETS", "0") != "0";
  const std::string cidrs = flag(f, "allow-cidr", "HOOKD_ALLOW_CIDR", "");
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
  auto number = [&](const char* name, const char* env, std::uint64_t fallback, std::uint64_t min,
                    std::uint64_t max) -> std::optional<std::uint64_t> {
    const std::string text = flag(f, name, env, std::to_string(fallback));
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v < min || v > max) {
      std::cerr << "hookd: --" << name << " \"" << text << "\" is not a number from " << min
                << " to " << max << "\n";
      return std::nullopt;
    }
    return v;
  };
  auto connect_ms = number("connect-timeout", "HOOKD_CONNECT_TIMEOUT_MS", 5000, 1, 600'000);
  auto attempt_ms = number("attempt-timeout", "HOOKD_ATTEMPT_TIMEOUT_MS", 15000, 1, 3'600'000);
  auto per_origin = number("connections-per-origin", "HOOKD_CONNECTIONS_PER_ORIGIN", 32, 1, 10'000);
  auto retry_after_s =
      number("max-retry-after", "HOOKD_MAX_RETRY_AFTER_S", 3600, 0, std::uint64_t{7} * 86400);
  auto in_flight = number("max-in-flight", "HOOKD_MAX_IN_FLIGHT", 4096, 1, 1'000'000);
  if (!connect_ms || !attempt_ms || !per_origin || !in_flight || !retry_after_s) return 2;
  options.max_retry_after = std::chrono::seconds(*retry_after_s);
  options.http.connect_timeout = std::chrono::milliseconds(*connect_ms);
  options.http.attempt_timeout = std::chrono::milliseconds(*attempt_ms);
  options.http.connections_per_origin = *per_origin;
  options.max_in_flight = *in_flight;
  options.http.extra_ca_file = flag(f, "ca-file", "HOOKD_CA_FILE", "");
  auto schedule = engine::parse_retry_schedule(
      flag(f, "retry-schedule", "HOOKD_RETRY_SCHEDULE", "10s,30s,3m,30m"));
  if (!schedule) return usage_error("--retry-schedule: " + schedule.error().message, "hookd serve");
  options.retry_schedule = std::move(*schedule);
  auto retention = engine::parse_duration(flag(f, "retention", "HOOKD_RETENTION", "30d"));
  if (!retention) return usage_error("--retention: " + retention.error().message, "hookd serve");
  options.retention = *retention;
  const std::string disable_after = flag(f, "disable-after", "HOOKD_DISABLE_AFTER", "5d");
  if (disable_after == "0") {
    options.disable_after = std::chrono::milliseconds(0);
  } else {
    auto parsed = engine::parse_duration(disable_after);
    if (!parsed) return usage_error("--disable-after: " + parsed.error().message, "hookd serve");
    options.disable_after = *parsed;
  }
  const std::string jitter_text = flag(f, "retry-jitter", "HOOKD_RETRY_JITTER", "0.1");
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

  const std::string min_free_text = flag(f, "min-free-space", "HOOKD_MIN_FREE_SPACE", "128MiB");
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
  auto grace = engine::parse_duration(flag(f, "shutdown-grace", "HOOKD_SHUTDOWN_GRACE", "5s"));
  if (!grace) return usage_error("--shutdown-grace: " + grace.error().message, "hookd serve");

  auto opened = engine::engine::open(std::move(options));
  if (!opened) {
    std::cerr << "hookd: " << opened.error().message << "\n";
    // A full disk is worth telling apart: a supervisor may wait for space, not page.
    const auto free = store::available_bytes(data);
    return free && *free < store::space_guard::floor_of(*min_free) ? k_exit_storage_full : 1;
  }
  auto& core = **opened;
  core.start();
  api::router router(core, **tokens);
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
  // One deadline for both: the server stops accepting and the engine cuts what is
  // still in flight when the grace is up; cut deliveries stay pending on disk.
  server.stop();
  core.stop(*grace);
  server.wait();
  engine::log::info("stopped");
  return 0;
}

int token_list(const std::vector<std::string>& args) {
  auto f = parse_flags(args, {"tokens"}, {});
  if (f.help) {
    std::cout << k_token_help;
    return 0;
  }
  if (f.error) return usage_error(*f.error, "hookd token list");
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
  std::vector<std::string> flags;
  std::string id;
  for (const auto& a : args) {
    if (!a.starts_with("-") && id.empty() && (flags.empty() || flags.back() != "--tokens")) {
      id = a;
    } else {
      flags.push_back(a);
    }
  }
  auto f = parse_flags(flags, {"tokens"}, {});
  if (f.help) {
    std::cout << k_token_help;
    return 0;
  }
  if (f.error) return usage_error(*f.error, "hookd token revoke");
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
  auto f = parse_flags(args, {"account", "tokens"}, {"operator"});
  if (f.help) {
    std::cout << k_token_help;
    return 0;
  }
  if (f.error) return usage_error(*f.error, "hookd token create");
  std::string account = flag(f, "account", "HOOKD_ACCOUNT", "");
  const std::string file = flag(f, "tokens", "HOOKD_TOKENS_FILE", "");
  if (f.values.contains("operator")) {
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
