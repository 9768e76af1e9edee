// Cost of parsing and validating a webhook request body (the admin API's create
// path), for the Sonar example and for a body with every catalog type set.
#include <string>

#include <benchmark/benchmark.h>

#include "engine/registry/webhook_validation.hpp"
#include "hookd/engine/event_catalog.hpp"

namespace {

using namespace hookd::engine;

void BM_ParseWebhookRequest(benchmark::State& state) {
  const auto catalog = event_catalog::sonar_default();
  std::string settings;
  const auto n = static_cast<std::size_t>(state.range(0));
  for (std::size_t i = 0; i < n && i < catalog.types().size(); ++i) {
    if (!settings.empty()) settings += ", ";
    settings += "\"" + catalog.types()[i] + "\": \"true\"";
  }
  const std::string body =
      R"({"webhook": {"name": "webhook to capture customer state changes", "active": "true",
          "settings": {)" +
      settings + R"(}, "url": "https://endpoint.com/catch-a-hook", "http_method": "POST"}})";
  for (auto _ : state) {
    auto fields = parse_webhook_request(body, catalog, webhook_mode::create);
    if (!fields) {
      state.SkipWithError("the benchmark body does not validate");
      break;
    }
    benchmark::DoNotOptimize(fields);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseWebhookRequest)->ArgName("settings")->Arg(1)->Arg(11);

}  // namespace
