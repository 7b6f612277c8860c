// GCRA buckets against their definition: over any stretch of time a bucket
// admits at most rate x time + burst, and, offered more, at least rate x
// time; several threads taking from one bucket never get more than that; the
// per-source table keeps sources apart, bounded, and shares rather than
// evicting an active source.
#include "dataplane/tables/rate_limit.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace meshplane::dataplane {
namespace {

// 1,000 cycles per token (a 1 GHz clock at 1 Mpps), bursts of 10.
constexpr Gcra kLimit{1000, 9 * 1000};

TEST(Gcra, AdmitsTheRateAndTheBurstNoMore) {
  std::atomic<uint64_t> tat{0};
  uint64_t admitted = 0;
  const uint64_t start = 1'000'000;
  // Offered every 100 cycles (ten times the rate) for 1,000,000 cycles.
  for (uint64_t now = start; now < start + 1'000'000; now += 100) admitted += kLimit.take(tat, now);
  EXPECT_GE(admitted, 1000u);       // rate x time
  EXPECT_LE(admitted, 1000u + 10);  // plus one burst
  // Idle for a while, then a burst: exactly 10 at once.
  uint64_t burst = 0;
  for (int i = 0; i < 100; ++i) burst += kLimit.take(tat, start + 5'000'000);
  EXPECT_EQ(burst, 10u);
}

TEST(Gcra, ThreadsSharingABucketGetNoMoreThanOne) {
  std::atomic<uint64_t> tat{0};
  std::atomic<uint64_t> clock{1'000'000};  // a shared simulated clock the threads advance together
  std::atomic<uint64_t> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100'000; ++i) {
        const uint64_t now = clock.fetch_add(10) + 10;
        if (kLimit.take(tat, now)) admitted.fetch_add(1);
      }
    });
  for (auto& t : threads) t.join();
  const uint64_t elapsed = clock.load() - 1'000'000;  // 4,000,000 cycles
  EXPECT_LE(admitted.load(), elapsed / 1000 + 10);
  EXPECT_GE(admitted.load(), elapsed / 1000 - 1);
}

TEST(RateLimitState, SourcesHaveTheirOwnBucketsWithinAFixedTable) {
  RateLimitState state(4, 64);
  bool shared = false;
  auto& a = state.source(1, 0x0a000001, 100, shared);
  EXPECT_FALSE(shared);
  auto& b = state.source(1, 0x0a000002, 100, shared);
  EXPECT_NE(&a, &b);
  EXPECT_EQ(&a, &state.source(1, 0x0a000001, 100, shared)) << "the same source finds its bucket again";
  EXPECT_NE(&a, &state.source(2, 0x0a000001, 100, shared)) << "per service";
  // Far more active sources than slots: each gets a bucket, some shared, none evicted while active.
  size_t shared_count = 0;
  for (uint32_t s = 0; s < 1000; ++s) {
    auto& tat = state.source(3, 0x0b000000 + s, 1000, shared);
    shared_count += shared;
    if (!shared) {
      EXPECT_TRUE(kLimit.take(tat, 1000));  // now active: its tat is in the future
    }
  }
  EXPECT_GE(shared_count, 1000u - 64);
}

}  // namespace
}  // namespace meshplane::dataplane
