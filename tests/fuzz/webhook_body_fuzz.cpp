// libFuzzer target: parse_webhook_request (engine/registry/webhook_validation.hpp) in its three
// modes, against a catalog of a few event types. The properties checked are in
// tests/fuzz/fuzz_checks.hpp; tools/fuzz runs it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/fuzz_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  hookd::fuzz::abort_if_broken(hookd::fuzz::check_webhook_body(input), "webhook_body");
  return 0;
}
