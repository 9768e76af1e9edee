// libFuzzer target: parse_webhook_url and parse_stored_webhook_url
// (engine/registry/webhook_url.hpp). The properties checked are in tests/fuzz/fuzz_checks.hpp;
// tools/fuzz runs it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/fuzz_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  hookd::fuzz::abort_if_broken(hookd::fuzz::check_webhook_url(input), "webhook_url");
  return 0;
}
