// Flow table: memory per tracked flow and insert / lookup cost per operation
// at 1M and 10M flows (random keys, so lookups miss the CPU caches as real
// traffic does).
//   build/bench/flow_table_bench
#include <rte_cycles.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "dataplane/tables/flow_table.h"

using meshplane::dataplane::FlowKey;
using meshplane::dataplane::FlowState;
using meshplane::dataplane::FlowTable;

int main() {
  for (uint32_t n : {1u << 20, 10'000'000u}) {
    std::mt19937_64 rng(5);
    std::vector<FlowKey> keys(n);
    for (auto& k : keys) {
      const uint64_t r = rng();
      k = FlowKey{};
      k.src_addr = static_cast<uint32_t>(r), k.dst_addr = 0x0a000001, k.src_port = static_cast<uint16_t>(r >> 32);
      k.dst_port = static_cast<uint16_t>(r >> 48), k.proto = 6;
    }
    FlowTable t(n, {});
    auto t0 = std::chrono::steady_clock::now();
    uint32_t inserted = 0;
    for (uint32_t i = 0; i < n; ++i) {
      FlowKey reply = keys[i];
      reply.pad[0] = 1;  // a distinct reply key per flow
      inserted += t.insert(keys[i], reply, FlowState::kEstablished, 0) != FlowTable::kNone;
    }
    const double insert_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(rng() % n);
    t0 = std::chrono::steady_clock::now();
    uint64_t found = 0;
    for (uint32_t i : order) found += t.lookup(keys[i]).flow != FlowTable::kNone;
    const double lookup_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
    // The same lookups a burst of 32 at a time, with prefetch.
    std::vector<const FlowKey*> ptrs(32);
    FlowTable::Hit hits[32];
    uint64_t found_burst = 0;
    t0 = std::chrono::steady_clock::now();
    for (uint32_t b = 0; b + 32 <= n; b += 32) {
      for (uint32_t j = 0; j < 32; ++j) ptrs[j] = &keys[order[b + j]];
      t.lookup_burst(ptrs.data(), 32, hits);
      for (auto& h : hits) found_burst += h.flow != FlowTable::kNone;
    }
    const double burst_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
    std::printf("flow table %9u flows: %.1f bytes/flow (%.0f MiB), insert %.0f ns, random lookup %.0f ns, "
                "in bursts of 32 %.0f ns (%lu and %lu of %u found, %u inserted)\n",
                n, double(t.memory_bytes()) / n, t.memory_bytes() / 1048576.0, insert_ns, lookup_ns, burst_ns,
                static_cast<unsigned long>(found), static_cast<unsigned long>(found_burst), n, inserted);
  }
  return 0;
}
