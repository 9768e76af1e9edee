// An origin's share of memory (engine/delivery/origin_queue.hpp): what its concurrency
// limit or its answer rate can use in the next seconds, and the floor an open circuit
// falls to.
#include "engine/delivery/origin_queue.hpp"

#include <cstdint>

#include <gtest/gtest.h>

#include "engine/http/client.hpp"

namespace hookd::engine {
namespace {

constexpr std::int64_t k_t0 = 1'800'000'000'000;

http_outcome ok() { return http_outcome{}; }

http_outcome refused() {
  http_outcome o;
  o.error = error_kind::connect;
  o.message = "connection refused";
  return o;
}

TEST(OriginShare, StartsAtWhatItsConnectionsCanUse) {
  const origin_queue o(32);
  EXPECT_EQ(o.share(), 32 * origin_queue::k_held_per_slot);
}

TEST(OriginShare, GrowsWithAFastReceiversAnswerRate) {
  origin_queue o(4);
  // 20,000 answers a second for two seconds: it can use 40,000 in the next two.
  for (int i = 0; i <= 40'000; ++i) (void)o.on_outcome(ok(), k_t0 + i / 20);
  EXPECT_GE(o.share(), 39'000u);
  EXPECT_LE(o.share(), 41'000u);
}

TEST(OriginShare, FallsToTheFloorWhileTheCircuitIsOpen) {
  origin_queue o(32, circuit_options{.failures_to_open = 5,
                                     .cool_down = std::chrono::seconds(10),
                                     .max_cool_down = std::chrono::seconds(300)});
  for (int i = 0; i < 5; ++i) (void)o.on_outcome(refused(), k_t0 + i);
  ASSERT_TRUE(o.circuit_open());
  EXPECT_EQ(o.share(), origin_queue::k_min_held);
}

TEST(OriginShare, ASlowReceiverHoldsWhatItsLimitAllowsNotMore) {
  origin_queue o(1);
  // One answer a second: the limit's share (256) is the larger.
  for (int i = 0; i < 10; ++i) (void)o.on_outcome(ok(), k_t0 + 1'000 * i);
  EXPECT_EQ(o.share(), origin_queue::k_held_per_slot);
}

}  // namespace
}  // namespace hookd::engine
