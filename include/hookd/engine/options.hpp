// The options of an engine (engine::open) and of its parts a host tunes: outbound
// HTTP, receiver circuits, retries. Plain data with the defaults hookd serve uses.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/engine/clock.hpp"
#include "hookd/engine/event_catalog.hpp"
#include "hookd/engine/random.hpp"
#include "hookd/export.hpp"

namespace hookd::engine {

class delivery_observer;

// 16 bytes of an IPv6 address; IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d).
using ip_bytes = std::array<std::uint8_t, 16>;

// An IPv4 or IPv6 network, e.g. 10.0.0.0/8 or fd00::/8.
struct HOOKD_API cidr {
  ip_bytes address{};   // IPv4 as IPv4-mapped IPv6
  unsigned prefix = 0;  // in IPv6 bits (IPv4 /8 is stored as /104)
  // Parses "a.b.c.d/n" or "x::y/n"; nullopt when malformed.
  static std::optional<cidr> parse(std::string_view text);
  bool contains(const ip_bytes& a) const noexcept;
};

// What a host name lookup found: addresses as text ("203.0.113.7", "2001:db8::1",
// "fe80::1%2"), or why there are none.
struct name_lookup_answer {
  std::vector<std::string> addresses = {};
  std::string error;  // empty when the lookup itself worked
};
// A blocking host name lookup.
using name_lookup = std::function<name_lookup_answer(const std::string& host)>;
// The system's: getaddrinfo (so /etc/hosts, nsswitch and DNS), with AI_ADDRCONFIG.
HOOKD_API name_lookup_answer system_name_lookup(const std::string& host);

struct http_client_options {
  // Deadline for DNS + TCP connect (+ TLS handshake). Default 5 s.
  std::chrono::milliseconds connect_timeout{5'000};
  // Deadline for the whole attempt, connect included. Default 15 s.
  std::chrono::milliseconds attempt_timeout{15'000};
  // Keep-alive connections per origin and worker; more concurrent requests to the
  // same origin wait for a free connection. Default 32.
  std::size_t connections_per_origin = 32;
  // Idle keep-alive connections are closed after this long. Default 60 s.
  std::chrono::milliseconds idle_timeout{60'000};
  // Response bodies are read up to this many bytes; the rest is discarded and the
  // connection closed. Default 64 KiB.
  std::size_t max_response_body = 64 * 1024;
  // How long resolved addresses are reused. Default 60 s.
  std::chrono::milliseconds dns_ttl{60'000};
  // How host names are resolved (IP literals never are). It runs on a small thread
  // pool shared by every client, possibly on several threads at once, so it must be
  // thread-safe; an attempt waits for it no longer than connect_timeout. Tests inject
  // fixed answers. Default empty: system_name_lookup.
  name_lookup lookup = {};
  // Allow loopback, private, link-local, multicast and unspecified destinations.
  // Off by default (SSRF protection); tests and on-premise setups turn it on.
  bool allow_private_targets = false;
  // Networks allowed even when allow_private_targets is off.
  std::vector<cidr> allowed_networks = {};
  // Extra PEM CA file trusted besides the system store (tests use a generated CA).
  std::string extra_ca_file = {};
  // Sent as User-Agent. engine::open sets it to hookd/VERSION (k_user_agent).
  std::string user_agent = "hookd";
};

// When a receiver origin that stops answering has its circuit opened, and how it is
// probed (engine/delivery/origin_queue.hpp).
struct circuit_options {
  // Consecutive timeouts, refused connections or DNS failures that open the circuit.
  // Default 5; 0 never opens it.
  std::size_t failures_to_open = 5;
  // How long an open circuit waits before a probe attempt; doubled after each failed
  // probe up to max_cool_down. Defaults 10 s and 5 min.
  std::chrono::milliseconds cool_down{10'000};
  std::chrono::milliseconds max_cool_down{300'000};
};

// Sonar's schedule: 4 retries, 10 s, 30 s, 3 min and 30 min after each failure.
HOOKD_API std::vector<std::chrono::milliseconds> sonar_retry_schedule();

struct engine_options {
  // RocksDB data directory; created when missing.
  std::filesystem::path data_dir = {};
  // fsync every write (power-loss durability) instead of WAL-only (survives a crash
  // of the process). Default off.
  bool fsync = false;
  // Dispatcher threads, each with its own io_context; a webhook's deliveries always
  // run on the same one. 0 means one per core.
  unsigned threads = 0;
  // Most requests in flight at once across all webhooks; the rest wait in memory.
  // Default 4096.
  std::size_t max_in_flight = 4096;
  // Event types accepted in settings and publish. Default: Sonar's eleven.
  event_catalog catalog = event_catalog::sonar_default();
  // Outbound HTTP: timeouts, pools, TLS trust, private-destination policy.
  http_client_options http = {};
  // Delays between attempts. Default Sonar's 10 s, 30 s, 3 min, 30 min with ±10% jitter.
  // Empty: one attempt, no retry.
  std::vector<std::chrono::milliseconds> retry_schedule = sonar_retry_schedule();
  double retry_jitter = 0.1;
  // When an origin that stops answering has its circuit opened (its due deliveries
  // then fail at once as origin_unavailable, on their schedule) and how it is probed.
  circuit_options origin_circuit = {};
  // A receiver's Retry-After (429, 503) delays the next attempt, up to this. Default 1 h.
  std::chrono::milliseconds max_retry_after{std::chrono::hours(1)};
  // Deliveries held in memory at most, payloads included, whatever the backlog; each
  // receiver origin holds at most what its concurrency can use soon (256 per allowed
  // connection, 64 while its circuit is open). The rest waits on disk and is read
  // back as room frees. Default 65,536.
  std::size_t max_held = 65'536;
  // Retries due within this window wait on in-memory timers; later ones stay only in
  // RocksDB until the window reaches them. Default 5 min.
  std::chrono::milliseconds scheduler_window{std::chrono::minutes(5)};
  // Auto-disable: a webhook whose attempts have all failed for this long (since the
  // first failure after its last success) is deactivated with a disabled_reason saying
  // so and its pending deliveries cancelled; any 2xx resets the clock. 0 never.
  // Default 5 days (as Svix).
  std::chrono::milliseconds disable_after{std::chrono::hours(24 * 5)};
  // Retention: finished deliveries (succeeded, failed, cancelled) with their attempts,
  // and events none of whose deliveries is unfinished, are removed once this much
  // older than their creation, and their space returns to the file system. Pending
  // work is never removed. Checked every retention / 24 (1 min to 1 h). Default 30 days.
  std::chrono::milliseconds retention{std::chrono::hours(24 * 30)};
  // Free disk space kept on the data folder's file system: under it, publish and
  // webhook writes fail with errc::storage_full while accepted deliveries go on; under
  // a quarter of it, their progress waits too and opening refuses. Checked four times
  // a second and after every write's worth of bytes; recovers by itself when space
  // returns. 0 turns the watch off. Default 128 MiB.
  std::uint64_t min_free_space = std::uint64_t{128} << 20;
  // Reads the free bytes of the data folder's file system; nullptr means statvfs.
  // Tests inject a disk that fills up.
  std::function<std::optional<std::uint64_t>(const std::filesystem::path&)> free_space_probe = {};
  // Told of every delivery outcome and of webhooks hookd disables, on a thread of its
  // own (hookd/engine/observer.hpp); nullptr for none. Must outlive the engine.
  delivery_observer* observer = nullptr;
  // Notices waiting for the observer at most; beyond, they are dropped and counted.
  // Default 65,536.
  std::size_t observer_queue = 65'536;
  // Threads that run publish_async's requests; 0 means 2. A publish is a RocksDB
  // write, and concurrent writes share one commit (group commit), so a few threads
  // keep the disk busy. Default 0.
  unsigned publish_threads = 0;
  // publish_async requests waiting for a publish thread at most; beyond, they fail at
  // once with errc::storage_busy. Default 65,536.
  std::size_t publish_queue = 65'536;
  // Time and randomness; nullptr means the system clock and OpenSSL's CSPRNG. Tests
  // inject their own. Must outlive the engine and be thread-safe: every dispatcher
  // thread and publishing thread calls them.
  const clock* time_source = nullptr;
  random_source* random = nullptr;
};

}  // namespace hookd::engine
