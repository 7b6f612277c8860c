#include "dataplane/tables/neighbour_table.h"

#include <gtest/gtest.h>

#include <pthread.h>

#include <atomic>
#include <thread>

namespace meshplane::dataplane {
namespace {

rte_ether_addr mac(uint8_t last) { return {{0x02, 0, 0, 0, 0, last}}; }

TEST(NeighbourTable, InsertLookupUpdate) {
  NeighbourTable t(16);
  EXPECT_EQ(t.lookup(0, 0x0a000001).state, NeighbourState::kNone);
  const int32_t s = t.insert(0, 0x0a000001);
  ASSERT_GE(s, 0);
  EXPECT_EQ(t.lookup(0, 0x0a000001).state, NeighbourState::kIncomplete);
  EXPECT_EQ(t.lookup(1, 0x0a000001).state, NeighbourState::kNone) << "port is part of the key";
  t.set(s, NeighbourState::kReachable, mac(7));
  const auto l = t.lookup(0, 0x0a000001);
  EXPECT_EQ(l.state, NeighbourState::kReachable);
  EXPECT_EQ(l.mac.addr_bytes[5], 7);
  EXPECT_EQ(t.insert(0, 0x0a000001), s) << "insert of an existing key returns its slot";
  EXPECT_EQ(t.size(), 1u);
}

TEST(NeighbourTable, RefusesBeyondCapacity) {
  NeighbourTable t(16);
  for (uint32_t i = 0; i < 16; ++i) ASSERT_GE(t.insert(0, 0x0a000000 + i), 0);
  EXPECT_EQ(t.insert(0, 0x0b000000), -1);
  for (uint32_t i = 0; i < 16; ++i) EXPECT_EQ(t.lookup(0, 0x0a000000 + i).state, NeighbourState::kIncomplete);
}

// A reader racing the writer only ever sees a complete (state, MAC) pair that
// the writer stored: MAC byte 5 always equals the state's generation marker.
TEST(NeighbourTable, ConcurrentReaderSeesConsistentLinks) {
  NeighbourTable t(1024);
  std::atomic<bool> reader_done{false}, first_round{false};
  std::atomic<uint64_t> bad{0}, seen{0};
  // The writer keeps rewriting entries for as long as the reader reads, so the
  // two overlap however the threads are scheduled.
  std::thread reader([&] {
    // EAL pinned the test's main thread to lcore 0 and threads inherit that:
    // let the reader run on any CPU so the two really overlap.
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
    while (!first_round.load()) std::this_thread::yield();
    for (int pass = 0; pass < 2000; ++pass)
      for (uint32_t i = 0; i < 512; ++i) {
        const auto l = t.lookup(1, i);
        if (l.state == NeighbourState::kReachable) {
          seen.fetch_add(1, std::memory_order_relaxed);
          if (l.mac.addr_bytes[4] != (i & 0xff) || l.mac.addr_bytes[3] != ((i >> 8) & 0xff)) bad.fetch_add(1);
        }
      }
    reader_done.store(true);
  });
  for (uint32_t round = 0; !reader_done.load(); ++round)
    for (uint32_t i = 0; i < 512; ++i) {
      const int32_t s = t.insert(1, i);
      rte_ether_addr m = mac(static_cast<uint8_t>(round));
      m.addr_bytes[4] = static_cast<uint8_t>(i);
      m.addr_bytes[3] = static_cast<uint8_t>(i >> 8);
      t.set(s, round % 2 ? NeighbourState::kProbe : NeighbourState::kReachable, m);
      if (i == 511) first_round.store(true);
    }
  reader.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(seen.load(), 0u);
}

}  // namespace
}  // namespace meshplane::dataplane
