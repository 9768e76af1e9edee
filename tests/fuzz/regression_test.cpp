// Replays each fuzz target's seed corpus (tests/fuzz/corpus/<target>/) and every input
// that once broke it (tests/fuzz/regressions/<target>/) through the same checks, in the
// normal build: what a fuzzer found stays fixed without clang. The folders are read at
// run time, so a new regression file needs no change here.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/fuzz/admin_server_harness.hpp"
#include "tests/fuzz/fuzz_checks.hpp"

namespace hookd::fuzz {
namespace {

namespace fs = std::filesystem;

// The seeds and regressions of `target`, sorted (a folder may be missing: git keeps no
// empty folder).
std::vector<fs::path> inputs_of(const std::string& target) {
  std::vector<fs::path> out;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path folder = fs::path(HOOKD_FUZZ_DIR) / kind / target;
    if (!fs::is_directory(folder)) continue;
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (entry.is_regular_file()) out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void replay(const std::string& target, const std::function<verdict(std::string_view)>& check) {
  const auto files = inputs_of(target);
  ASSERT_FALSE(files.empty()) << "no seed corpus for " << target;
  for (const auto& file : files) {
    const auto broken = check(read_file(file));
    EXPECT_FALSE(broken) << file << ": " << broken.value_or("");
  }
}

TEST(FuzzRegressions, WebhookBodiesKeepTheirProperties) {
  replay("webhook_body", check_webhook_body);
}

TEST(FuzzRegressions, EventBodiesKeepTheirProperties) { replay("event_body", check_event_body); }

TEST(FuzzRegressions, RackQueriesKeepTheirProperties) { replay("rack_query", check_rack_query); }

TEST(FuzzRegressions, WebhookUrlsKeepTheirProperties) { replay("webhook_url", check_webhook_url); }

TEST(FuzzRegressions, AdminServerSurvivesEveryInputAndStillAnswersHealthz) {
  admin_server_harness server;
  replay("admin_server", [&server](std::string_view input) { return server.exchange(input); });
  const auto broken = server.healthy();
  EXPECT_FALSE(broken) << broken.value_or("");
}

}  // namespace
}  // namespace hookd::fuzz
