// RCU publication under load: a reader thread (a worker's pattern: read the
// current snapshot, use it, report quiescent) runs while the control thread
// publishes thousands of snapshots. Every old snapshot must be freed, and
// never while the reader can still see it: under AddressSanitizer (the
// ASan run of the unit tests) a read of freed memory aborts the test.
#include "dataplane/tables/snapshot_slot.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <thread>

namespace meshplane::dataplane {
namespace {

TEST(SnapshotSlot, ReaderNeverSeesAFreedSnapshot) {
  constexpr uint64_t kPublishes = 5000;
  SnapshotSlot slot(1);
  auto make = [](uint64_t g) {
    auto s = std::make_unique<Snapshot>();
    s->generation = g;
    s->icmp_errors_per_second = static_cast<uint32_t>(g * 7 + 1);  // a second field to check against the first
    s->local_addresses.assign(4, {static_cast<uint32_t>(g), 0, 0, 0});
    return s;
  };
  slot.publish(make(1));
  std::atomic<bool> stop{false}, online{false};
  std::atomic<uint64_t> reads{0}, torn{0}, backwards{0};
  std::thread reader([&] {
    cpu_set_t all;  // the test's main thread is pinned by EAL; the reader needs a CPU of its own
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
    slot.worker_online(0);
    online = true;
    uint64_t last = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const Snapshot* s = slot.current();
      const uint64_t g = s->generation;
      if (s->icmp_errors_per_second != g * 7 + 1 || s->local_addresses.size() != 4 ||
          s->local_addresses[3].address != static_cast<uint32_t>(g))
        torn.fetch_add(1);
      if (g < last) backwards.fetch_add(1);
      last = g;
      reads.fetch_add(1, std::memory_order_relaxed);
      slot.quiescent(0);
    }
    slot.worker_offline(0);
  });
  while (!online) std::this_thread::yield();
  for (uint64_t g = 2; g <= kPublishes; ++g) slot.publish(make(g));
  stop = true;
  reader.join();
  EXPECT_EQ(slot.retired(), kPublishes - 1) << "every replaced snapshot freed once";
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_EQ(backwards.load(), 0u);
  EXPECT_GT(reads.load(), kPublishes);
  EXPECT_EQ(slot.current()->generation, kPublishes);
}

}  // namespace
}  // namespace meshplane::dataplane
