#include "dataplane/tables/flow_table.h"

#include "dataplane/tables/huge_array.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace meshplane::dataplane {
namespace {

FlowKey key(uint32_t src, uint16_t sport, uint32_t dst = 0x0a000001, uint16_t dport = 80, uint8_t proto = 6) {
  FlowKey k{};
  k.src_addr = src, k.dst_addr = dst, k.src_port = sport, k.dst_port = dport, k.proto = proto;
  return k;
}
FlowKey reverse(const FlowKey& k) { return key(k.dst_addr, k.dst_port, k.src_addr, k.src_port, k.proto); }

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kFin = 0x01, kRst = 0x04;

// One record, one cache line: lookups prefetch a record's first line only.
TEST(FlowTable, RecordsSitOnCacheLines) {
  for (uint32_t capacity : {16u, 100'000u}) {
    FlowTable t(capacity, {});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&t.flow(0)) % 64, 0u) << capacity;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&t.flow(capacity - 1)) % 64, 0u) << capacity;
  }
}

TEST(HugeArray, IsHugePageAlignedInitialisedAndMovable) {
  HugeArray<Flow> a(5000);
  ASSERT_NE(a.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % HugeArray<Flow>::kHugePage, 0u);
  EXPECT_EQ(a[4999].keys, 2) << "value-initialised, default member values included";
  EXPECT_EQ(a[0].in_use, 0);
  a[4999].endpoint = 7;
  HugeArray<Flow> b(std::move(a));
  EXPECT_EQ(b.size(), 5000u);
  EXPECT_EQ(b[4999].endpoint, 7u);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(HugeArray<Flow>(0).data(), nullptr);
}

TEST(FlowTable, BothDirectionsFindTheSameFlow) {
  FlowTable t(16, {});
  const FlowKey out = key(0x0a000102, 40000);
  const FlowKey back = key(0x0a000205, 8080, 0x0a000201, 1025);  // after NAT: endpoint -> gateway
  const uint32_t f = t.insert(out, back, FlowState::kSynSent, 100);
  ASSERT_NE(f, FlowTable::kNone);
  EXPECT_EQ(t.lookup(out).flow, f);
  EXPECT_EQ(t.lookup(out).direction, 0);
  EXPECT_EQ(t.lookup(back).flow, f);
  EXPECT_EQ(t.lookup(back).direction, 1);
  EXPECT_EQ(t.lookup(reverse(out)).flow, FlowTable::kNone);
  EXPECT_EQ(t.insert(out, key(1, 1), FlowState::kSynSent, 100), FlowTable::kNone) << "key already tracked";
  t.erase(f);
  EXPECT_EQ(t.lookup(out).flow, FlowTable::kNone);
  EXPECT_EQ(t.lookup(back).flow, FlowTable::kNone);
  EXPECT_EQ(t.size(), 0u);
}

TEST(FlowTable, FullTableRefusesThenAcceptsAfterErase) {
  FlowTable t(100, {});
  for (uint32_t i = 0; i < 100; ++i) ASSERT_NE(t.insert(key(i, 1), key(i, 2), FlowState::kUdp, 0), FlowTable::kNone);
  EXPECT_EQ(t.insert(key(500, 1), key(500, 2), FlowState::kUdp, 0), FlowTable::kNone);
  t.erase(t.lookup(key(7, 1)).flow);
  EXPECT_NE(t.insert(key(500, 1), key(500, 2), FlowState::kUdp, 0), FlowTable::kNone);
  for (uint32_t i = 0; i < 100; ++i)
    if (i != 7) {
      EXPECT_NE(t.lookup(key(i, 2)).flow, FlowTable::kNone) << i;
    }
}

TEST(FlowTable, TimeoutsFollowTcpState) {
  FlowTimeouts to;
  to.syn_sent = 50, to.established = 1000, to.closing = 100, to.reset = 10;
  FlowTable t(16, to, 4096);
  ASSERT_NE(t.insert(key(1, 1), key(1, 2), FlowState::kSynSent, 0), FlowTable::kNone);
  const uint32_t answered = t.insert(key(2, 1), key(2, 2), FlowState::kSynSent, 0);
  t.touch(answered, 1, kSyn | kAck, 5);  // SYN-ACK from the endpoint
  EXPECT_EQ(t.flow(answered).state, FlowState::kEstablished);
  t.expire(60, 1000);
  EXPECT_EQ(t.lookup(key(1, 1)).flow, FlowTable::kNone) << "SYN never answered: gone after syn_sent";
  EXPECT_EQ(t.lookup(key(2, 1)).flow, answered) << "established flows outlive the SYN timeout";
  t.touch(answered, 0, kFin | kAck, 500);
  EXPECT_EQ(t.flow(answered).state, FlowState::kClosing);
  t.expire(599, 1000);
  EXPECT_EQ(t.lookup(key(2, 1)).flow, answered);
  t.expire(601, 1000);
  EXPECT_EQ(t.lookup(key(2, 1)).flow, FlowTable::kNone) << "closing timeout from the FIN";
  const uint32_t reset = t.insert(key(3, 1), key(3, 2), FlowState::kSynSent, 700);
  t.touch(reset, 1, kRst, 701);
  t.expire(712, 1000);
  EXPECT_EQ(t.lookup(key(3, 1)).flow, FlowTable::kNone);
}

TEST(FlowTable, ActiveFlowsAreReArmedNotExpired) {
  FlowTimeouts to;
  to.udp = 100;
  FlowTable t(16, to, 256);
  const uint32_t f = t.insert(key(1, 1), key(1, 2), FlowState::kUdp, 0);
  for (uint64_t now = 10; now <= 2000; now += 10) {  // longer than the wheel: wraps many times
    t.touch(f, now % 20 == 0, 0, now);
    t.expire(now, 1000);
    ASSERT_EQ(t.lookup(key(1, 1)).flow, f) << "at " << now;
  }
  t.expire(2101, 1000);
  EXPECT_EQ(t.size(), 0u);
}

TEST(FlowTable, ExpiryRespectsItsBudget) {
  FlowTimeouts to;
  to.udp = 10;
  FlowTable t(5000, to);
  for (uint32_t i = 0; i < 5000; ++i) t.insert(key(i, 1), key(i, 2), FlowState::kUdp, 1000);
  uint32_t total = 0, calls = 0;
  while (t.size() > 0) {
    const uint32_t n = t.expire(5000, 64);
    ASSERT_LE(n, 64u);
    total += n;
    ASSERT_LT(++calls, 1000u);
  }
  EXPECT_EQ(total, 5000u);
  EXPECT_GE(calls, 5000u / 64);
}

// Many inserts and erases in a small, crowded index, checked against a
// std::unordered_map: backward-shift deletion must never lose or invent a key.
TEST(FlowTable, MatchesAReferenceMapUnderChurn) {
  FlowTable t(256, {});
  std::unordered_map<uint64_t, uint32_t> model;  // (src << 16 | port) -> flow
  std::mt19937 rng(11);
  for (int op = 0; op < 200000; ++op) {
    const uint32_t src = rng() % 400;
    const uint16_t port = static_cast<uint16_t>(rng() % 3);
    const uint64_t id = (uint64_t{src} << 16) | port;
    const FlowKey k = key(src, port), r = key(src, static_cast<uint16_t>(port + 100));
    auto it = model.find(id);
    if (rng() % 2) {
      const uint32_t f = t.insert(k, r, FlowState::kUdp, 0);
      if (it != model.end() || model.size() == 256) {
        ASSERT_EQ(f, FlowTable::kNone) << op;
      } else {
        ASSERT_NE(f, FlowTable::kNone) << op;
        model[id] = f;
      }
    } else if (it != model.end()) {
      t.erase(it->second);
      model.erase(it);
    }
    if (op % 1000 == 0) {
      for (uint32_t s = 0; s < 400; ++s)
        for (uint16_t p = 0; p < 3; ++p) {
          auto m = model.find((uint64_t{s} << 16) | p);
          const auto hit = t.lookup(key(s, p));
          const auto reply = t.lookup(key(s, static_cast<uint16_t>(p + 100)));
          ASSERT_EQ(hit.flow, m == model.end() ? FlowTable::kNone : m->second) << op;
          ASSERT_EQ(reply.flow, hit.flow) << op;
        }
      ASSERT_EQ(t.size(), model.size());
    }
  }
}

TEST(FlowTable, BurstLookupAgreesWithSingleLookups) {
  FlowTable t(1000, {});
  for (uint32_t i = 0; i < 1000; i += 2) t.insert(key(i, 1), key(i, 2), FlowState::kUdp, 0);
  std::vector<FlowKey> keys;
  for (uint32_t i = 0; i < 64; ++i) keys.push_back(key(i * 7 % 1000, static_cast<uint16_t>(1 + i % 2)));
  std::vector<const FlowKey*> ptrs;
  for (const auto& k : keys) ptrs.push_back(&k);
  FlowTable::Hit hits[64], again[64];
  uint32_t hashes[64];
  t.lookup_burst(ptrs.data(), 64, hits);
  t.lookup_burst(ptrs.data(), 64, again, hashes);
  int found = 0;
  for (uint32_t i = 0; i < 64; ++i) {
    const auto one = t.lookup(keys[i]);
    EXPECT_EQ(hits[i].flow, one.flow) << i;
    EXPECT_EQ(hits[i].direction, one.direction) << i;
    EXPECT_EQ(again[i].flow, one.flow) << i;
    EXPECT_EQ(hashes[i], FlowTable::hash(keys[i])) << i;
    found += one.flow != FlowTable::kNone;
  }
  EXPECT_GT(found, 10);
  EXPECT_LT(found, 54);
}

// Design target: 10 million flows per node in 2 GB, i.e. at most 200 bytes a flow.
TEST(FlowTable, MemoryPerFlowWithinTarget) {
  FlowTable t(1 << 20, {});
  const double per_flow = static_cast<double>(t.memory_bytes()) / t.capacity();
  EXPECT_LE(per_flow, 200.0) << per_flow;
  RecordProperty("bytes_per_flow", std::to_string(per_flow));
}

}  // namespace
}  // namespace meshplane::dataplane
