// libFuzzer target: the admin server fed raw bytes. One real server (router, engine on a
// temporary RocksDB folder, tokens of k_fuzz_tokens) per process; each input is written
// on a fresh loopback connection that is then half-closed and read until the server closes
// it. Broken: a crash or sanitizer report, a connection the server neither answers nor
// closes, or GET /healthz not answered 200 (checked every k_health_every inputs).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/log.hpp"
#include "tests/fuzz/admin_server_harness.hpp"

namespace {

constexpr std::uint64_t k_health_every = 100;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // A 5xx logs a line; the fuzzer's own output is what matters here.
  hookd::engine::log::set_min_level(hookd::engine::log::level::error);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Stopped and removed by its destructor when libFuzzer exits normally.
  static hookd::fuzz::admin_server_harness server;
  static std::uint64_t inputs = 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  hookd::fuzz::abort_if_broken(server.exchange(input), "admin_server");
  if (++inputs % k_health_every == 0) {
    hookd::fuzz::abort_if_broken(server.healthy(), "admin_server");
  }
  return 0;
}
