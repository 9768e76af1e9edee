// End-to-end durable delivery throughput: a queue of N deliveries is published to
// RocksDB first (engine not running), then a fresh engine drains it to a local HTTP
// receiver; a delivery counts once its success is written. Reports deliveries/s.
//
// The sink is HOOKD_BENCH_SINK_URL when set (e.g. the anchors' nginx), else hookd's
// own test receiver (Beast, one thread) on loopback.
#include <cstdlib>
#include <filesystem>

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include "hookd/engine/engine.hpp"
#include "tests/support/receiver.hpp"

namespace {

using namespace hookd;

void BM_DrainDurableQueue(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  const auto connections = static_cast<std::size_t>(state.range(1));
  test::receiver rx;
  const char* sink_env = std::getenv("HOOKD_BENCH_SINK_URL");
  const std::string sink = sink_env && *sink_env ? std::string(sink_env) : rx.url();
  state.SetLabel(sink_env && *sink_env ? "sink " + sink : "sink: test receiver");
  const std::string payload(360, 'x');
  for (auto _ : state) {
    std::string dir = (std::filesystem::temp_directory_path() / "hookd-bench-XXXXXX").string();
    if (!mkdtemp(dir.data())) {
      state.SkipWithError("mkdtemp failed");
      return;
    }
    engine::engine_options o;
    o.data_dir = dir;
    o.threads = 1;
    o.http.allow_private_targets = true;
    o.http.connections_per_origin = connections;
    {
      auto filler = engine::engine::open(o);
      if (!filler) {
        state.SkipWithError(filler.error().message.c_str());
        return;
      }
      auto created = (*filler)->webhooks().create(
          "bench",
          R"({"webhook": {"name": "b", "active": true, "settings": {"customer_created": true},
                       "url": ")" +
              sink + R"(", "http_method": "POST"}})");
      if (!created) {
        state.SkipWithError("create webhook failed");
        return;
      }
      for (std::uint64_t i = 0; i < n; ++i) {
        if (!(*filler)->publish("bench", "customer_created", R"({"data": ")" + payload + R"("})")) {
          state.SkipWithError("publish failed");
          return;
        }
      }
      (*filler)->stop();
    }
    auto drainer = engine::engine::open(o).value();
    const auto start = std::chrono::steady_clock::now();
    drainer->start();
    const bool done = drainer->wait_until([n](const auto& s) { return s.succeeded >= n; },
                                          std::chrono::minutes(5));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    drainer->stop();
    if (!done) {
      state.SkipWithError("the queue did not drain in 5 minutes");
      return;
    }
    state.SetIterationTime(std::chrono::duration<double>(elapsed).count());
    std::filesystem::remove_all(dir);
  }
  state.counters["deliveries_per_s"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DrainDurableQueue)
    ->ArgNames({"deliveries", "connections"})
    ->Args({50'000, 64})
    ->Args({100'000, 64})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
