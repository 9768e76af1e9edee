// The registry's subscriber lookup (a RocksDB prefix scan) at a few registry sizes:
// what a publish would pay without the engine's in-memory snapshot.
#include <filesystem>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include "store/database.hpp"
#include "store/webhook_registry.hpp"

namespace {

using namespace hookd::store;

void BM_SubscribersPrefixScan(benchmark::State& state) {
  std::string dir = (std::filesystem::temp_directory_path() / "hookd-bench-XXXXXX").string();
  if (!mkdtemp(dir.data())) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  {
    auto db = database::open({.path = dir});
    if (!db) {
      state.SkipWithError(db.error().message.c_str());
      return;
    }
    auto registry = webhook_registry::open(**db);
    const auto accounts = state.range(0);
    const auto per_account = state.range(1);
    for (std::int64_t a = 0; a < accounts; ++a) {
      for (std::int64_t w = 0; w < per_account; ++w) {
        webhook_record r;
        r.account = "acct" + std::to_string(a);
        r.name = "hook";
        r.active = true;
        r.events = {"customer_created", w % 2 ? "outbound_message" : "user_assignment"};
        r.url = "https://example.com/h";
        r.http_method = "POST";
        if (!(*registry)->create(r)) {
          state.SkipWithError("create failed");
          return;
        }
      }
    }
    std::int64_t found = 0;
    for (auto _ : state) {
      auto ids = (*registry)->subscribers("acct0", "customer_created");
      found += static_cast<std::int64_t>(ids->size());
      benchmark::DoNotOptimize(ids);
    }
    state.counters["matches"] =
        benchmark::Counter(static_cast<double>(found), benchmark::Counter::kAvgIterations);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SubscribersPrefixScan)
    ->ArgNames({"accounts", "webhooks_per_account"})
    ->Args({1, 10})
    ->Args({100, 10})
    ->Args({10, 1000});

}  // namespace
