// libFuzzer target: parse_event_request (engine/delivery/payload.hpp); an accepted payload then
// through check_payload's Rack query encoder and delivery_body. The properties checked are in
// tests/fuzz/fuzz_checks.hpp; tools/fuzz runs it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/fuzz_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  hookd::fuzz::abort_if_broken(hookd::fuzz::check_event_body(input), "event_body");
  return 0;
}
