// End-to-end durable delivery throughput: a queue of N deliveries is written to RocksDB
// by a filler engine, then a fresh engine drains it to a local HTTP receiver; a delivery
// counts once its success is written. Reports deliveries/s, and the drain's CPU time per
// delivery and peak resident memory (the filler excluded from both).
//
// - BM_DrainDurableQueue: fresh deliveries, published while no dispatcher runs; one
//   dispatcher thread, one webhook (the headline figure).
// - BM_DrainRetryBacklog: deliveries whose first attempt failed during an outage (their
//   receiver refused connections), so what the drainer sends are retries read back from
//   RocksDB, all due when it starts.
// - BM_DrainThreads: fresh deliveries over 1, 2 or 4 dispatcher threads, spread evenly
//   over four webhooks (one account each) so that every thread has work.
//
// Arguments: deliveries; connections in total (each of the dispatcher threads gets
// connections / threads per origin); engine threads (BM_DrainThreads only, else 1).
//
// The sink is HOOKD_BENCH_SINK_URL when set (e.g. the anchors' nginx), else hookd's own
// test receiver (Beast, one thread, in this process: its CPU time then counts in the
// drain's). The sizes come from HOOKD_BENCH_DELIVERIES (comma-separated, default
// 50000,100000) and HOOKD_BENCH_CONNECTIONS (default 64).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench_support.hpp"
#include "hookd/engine/clock.hpp"
#include "hookd/engine/engine.hpp"
#include "hookd/engine/logging.hpp"
#include "tests/support/receiver.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace hookd;
using namespace hookd::bench;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// The retry schedule of the retry backlog: one retry, past the scheduler's in-memory
// window (5 min), so the filler leaves every retry on disk only.
constexpr auto k_outage_retry = 10min;
// How far in the past the filler's clock runs: the retries fall due this long minus
// k_outage_retry before the drainer starts, so all of them are due at once.
constexpr auto k_outage_age = 1h;

struct drain_args {
  std::uint64_t deliveries = 0;
  std::size_t connections = 0;
  unsigned threads = 1;
  std::uint64_t webhooks = 1;

  // deliveries and connections from the first two arguments.
  static drain_args of(const benchmark::State& state, unsigned threads, std::uint64_t webhooks) {
    return {static_cast<std::uint64_t>(state.range(0)), static_cast<std::size_t>(state.range(1)),
            threads, webhooks};
  }
};

double cpu_seconds(const rusage& u) {
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

rusage process_usage() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u;
}

// A loopback URL nobody listens on: a port the system handed out, then closed again.
std::string refused_url() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return {};
  }
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/hook";
}

std::string account_of(std::uint64_t webhook) { return "bench" + std::to_string(webhook); }

engine::engine_options drain_options(const std::filesystem::path& dir, const drain_args& a) {
  engine::engine_options o;
  o.data_dir = dir;
  o.threads = a.threads;
  o.http.allow_private_targets = true;
  o.http.connections_per_origin = std::max<std::size_t>(1, a.connections / a.threads);
  return o;
}

// One active webhook per account bench0..bench{W-1}, subscribed to customer_created;
// their ids in creation order.
bool create_webhooks(engine::engine& e, const drain_args& a, const std::string& url,
                     std::vector<std::uint64_t>& ids) {
  for (std::uint64_t w = 0; w < a.webhooks; ++w) {
    auto created = e.webhooks().create(
        account_of(w),
        R"({"webhook": {"name": "b", "active": true, "settings": {"customer_created": true},
                       "url": ")" +
            url + R"(", "http_method": "POST"}})");
    if (!created) return false;
    ids.push_back(created->id);
  }
  return true;
}

bool publish_all(engine::engine& e, const drain_args& a) {
  const std::string payload = R"({"data": ")" + std::string(360, 'x') + R"("})";
  for (std::uint64_t i = 0; i < a.deliveries; ++i) {
    if (!e.publish(account_of(i % a.webhooks), "customer_created", payload)) return false;
  }
  return true;
}

struct drain_figures {
  double seconds = 0;
  double cpu_seconds = 0;
  double open_seconds = 0;
  std::uint64_t peak_rss_kib = 0;
};

// Opens a drainer on what the filler left, lets `prepare` change it before it starts,
// then times start → every delivery's success written. The filler's memory is handed
// back first (malloc_trim) and the peak reset, so the peak is the drainer's own.
template <typename Prepare>
bool drain(benchmark::State& state, const engine::engine_options& o, const drain_args& a,
           Prepare prepare, drain_figures& out) {
  malloc_trim(0);
  reset_peak_rss();
  const auto opening = steady::now();
  auto drainer = engine::engine::open(o);
  if (!drainer) {
    state.SkipWithError(drainer.error().message.c_str());
    return false;
  }
  out.open_seconds = std::chrono::duration<double>(steady::now() - opening).count();
  if (!prepare(**drainer)) return false;
  const rusage before = process_usage();
  const auto start = steady::now();
  (*drainer)->start();
  const std::uint64_t n = a.deliveries;
  const bool done = (*drainer)->wait_until([n](const auto& s) { return s.succeeded >= n; },
                                           std::chrono::minutes(5));
  const auto elapsed = steady::now() - start;
  const rusage after = process_usage();
  out.peak_rss_kib = status_kib("VmHWM");
  (*drainer)->stop();
  if (!done) {
    state.SkipWithError("the queue did not drain in 5 minutes");
    return false;
  }
  out.seconds = std::chrono::duration<double>(elapsed).count();
  out.cpu_seconds = cpu_seconds(after) - cpu_seconds(before);
  return true;
}

void report(benchmark::State& state, const drain_args& a, const std::vector<drain_figures>& runs) {
  double cpu = 0;
  double open = 0;
  std::uint64_t peak = 0;
  for (const auto& r : runs) {
    cpu += r.cpu_seconds;
    open += r.open_seconds;
    peak = std::max(peak, r.peak_rss_kib);
  }
  const double total = static_cast<double>(a.deliveries) * static_cast<double>(runs.size());
  state.counters["deliveries_per_s"] = benchmark::Counter(total, benchmark::Counter::kIsRate);
  state.counters["cpu_us_per_delivery"] = benchmark::Counter(total > 0 ? cpu * 1e6 / total : 0);
  state.counters["peak_rss_mib"] = benchmark::Counter(static_cast<double>(peak) / 1024.0);
  state.counters["open_ms"] =
      benchmark::Counter(runs.empty() ? 0 : open * 1000.0 / static_cast<double>(runs.size()));
}

std::string sink_url(const test::receiver& rx, benchmark::State& state) {
  const char* env = std::getenv("HOOKD_BENCH_SINK_URL");
  const bool external = env && *env;
  std::string url = external ? std::string(env) : rx.url();
  state.SetLabel(external ? "sink " + url : "sink: test receiver (in this process)");
  return url;
}

void drain_fresh(benchmark::State& state, const drain_args& a) {
  test::receiver rx;
  const std::string sink = sink_url(rx, state);
  std::vector<drain_figures> runs;
  for (auto _ : state) {
    test::temp_dir dir;
    const auto o = drain_options(dir.path(), a);
    {
      auto filler = engine::engine::open(o);
      if (!filler) {
        state.SkipWithError(filler.error().message.c_str());
        return;
      }
      std::vector<std::uint64_t> ids;
      if (!create_webhooks(**filler, a, sink, ids)) {
        state.SkipWithError("create webhook failed");
        return;
      }
      if (!publish_all(**filler, a)) {
        state.SkipWithError("publish failed");
        return;
      }
      (*filler)->stop();
    }
    drain_figures f;
    if (!drain(
            state, o, a, [](engine::engine&) { return true; }, f))
      return;
    state.SetIterationTime(f.seconds);
    runs.push_back(f);
  }
  report(state, a, runs);
}

// The headline figure: one dispatcher thread, one webhook.
void BM_DrainDurableQueue(benchmark::State& state) {
  drain_fresh(state, drain_args::of(state, 1, 1));
}

// The same over 1, 2 or 4 dispatcher threads. Four webhooks, so every thread has one
// (ids are sequential and a webhook's thread is its id modulo the thread count).
void BM_DrainThreads(benchmark::State& state) {
  drain_fresh(state, drain_args::of(state, static_cast<unsigned>(state.range(2)), 4));
}

// Logs errors only while it lives, then the defaults again.
struct quiet_logs {
  quiet_logs() {
    engine::log_options o;
    o.min_level = engine::log_level::error;
    engine::configure_logging(o);
  }
  ~quiet_logs() { engine::configure_logging({}); }
  quiet_logs(const quiet_logs&) = delete;
  quiet_logs& operator=(const quiet_logs&) = delete;
};

void BM_DrainRetryBacklog(benchmark::State& state) {
  const auto a = drain_args::of(state, 1, 1);
  test::receiver rx;
  const std::string sink = sink_url(rx, state);
  const std::string down = refused_url();
  if (down.empty()) {
    state.SkipWithError("no free loopback port for the receiver that is down");
    return;
  }
  // Every failed attempt logs a warning: tens of thousands of lines to stderr.
  const quiet_logs quiet;
  std::vector<drain_figures> runs;
  for (auto _ : state) {
    test::temp_dir dir;
    auto o = drain_options(dir.path(), a);
    o.retry_schedule = {k_outage_retry};
    o.retry_jitter = 0;
    std::vector<std::uint64_t> ids;
    {
      // The outage, an hour ago by the filler's clock: every first attempt is refused.
      engine::manual_clock past(engine::system_clock().now_ms() -
                                std::chrono::milliseconds(k_outage_age).count());
      auto fo = o;
      fo.time_source = &past;
      // Once the circuit is open, the origin holds only a few deliveries in memory and
      // the rest of the outage's backlog is claimed by the periodic refill, every
      // scheduler_window / 4 (75 s by default): a short window keeps the filler quick.
      // The retries are still past it, so they wait on disk only.
      fo.scheduler_window = 1s;
      auto filler = engine::engine::open(fo);
      if (!filler) {
        state.SkipWithError(filler.error().message.c_str());
        return;
      }
      if (!create_webhooks(**filler, a, down, ids)) {
        state.SkipWithError("create webhook failed");
        return;
      }
      if (!publish_all(**filler, a)) {
        state.SkipWithError("publish failed");
        return;
      }
      (*filler)->start();
      const std::uint64_t n = a.deliveries;
      const bool failed = (*filler)->wait_until(
          [n](const auto& s) { return s.failed_attempts >= n; }, std::chrono::minutes(5));
      const auto stats = (*filler)->stats();
      (*filler)->stop();
      if (!failed || stats.succeeded != 0 || stats.failed_deliveries != 0) {
        state.SkipWithError("the outage did not leave every delivery pending with a retry");
        return;
      }
    }
    // The receiver is back, at the sink's URL; the drainer runs on the system clock, by
    // which every retry fell due 50 minutes ago.
    const std::string patch = R"({"webhook": {"url": ")" + sink + R"("}})";
    auto to_sink = [&](engine::engine& e) {
      for (std::uint64_t w = 0; w < ids.size(); ++w) {
        if (!e.webhooks().patch(account_of(w), ids[w], patch)) {
          state.SkipWithError("patching the webhook's URL failed");
          return false;
        }
      }
      return true;
    };
    drain_figures f;
    if (!drain(state, o, a, to_sink, f)) return;
    state.SetIterationTime(f.seconds);
    runs.push_back(f);
  }
  report(state, a, runs);
}

// Comma-separated positive whole numbers from the environment, or the fallback.
std::vector<std::int64_t> env_sizes(const char* name, std::vector<std::int64_t> fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  std::vector<std::int64_t> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long long n = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || n <= 0) {
      std::fprintf(stderr, "%s=%s: not a list of positive whole numbers\n", name, v);
      std::exit(2);
    }
    out.push_back(n);
  }
  return out;
}

void register_benchmarks() {
  const auto sizes = env_sizes("HOOKD_BENCH_DELIVERIES", {50'000, 100'000});
  const auto connections = env_sizes("HOOKD_BENCH_CONNECTIONS", {64});
  auto define = [](const char* name, void (*fn)(benchmark::State&),
                   const std::vector<std::string>& names) {
    return benchmark::RegisterBenchmark(name, fn)
        ->ArgNames(names)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  };
  // BM_DrainDurableQueue keeps the names it had before the others came, so filters
  // like BM_DrainDurableQueue/deliveries:50000/ (docs/PERFORMANCE.md, tools/bench-pair,
  // older builds) still select exactly one benchmark.
  auto* fresh = define("BM_DrainDurableQueue", BM_DrainDurableQueue, {"deliveries", "connections"});
  auto* retry = define("BM_DrainRetryBacklog", BM_DrainRetryBacklog, {"deliveries", "connections"});
  auto* threads =
      define("BM_DrainThreads", BM_DrainThreads, {"deliveries", "connections", "threads"});
  for (const auto n : sizes) {
    for (const auto c : connections) {
      fresh->Args({n, c});
      retry->Args({n, c});
      for (const std::int64_t t : {1, 2, 4}) threads->Args({n, c, t});
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
