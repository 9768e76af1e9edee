// libFuzzer target: check_payload(data, true), the Rack query encoder of GET and DELETE deliveries,
// and delivery_body on what it accepts. The properties checked are in tests/fuzz/fuzz_checks.hpp;
// tools/fuzz runs it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/fuzz_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  hookd::fuzz::abort_if_broken(hookd::fuzz::check_rack_query(input), "rack_query");
  return 0;
}
