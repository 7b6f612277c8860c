// Cycles per packet of the forwarding pipeline (parse -> local -> forward) on
// real mbufs, without a PMD: the same burst of 32 UDP packets is routed over
// and over, TTL restored between rounds outside the timed region. Gives the
// pipeline's own cost; port rx/tx cost comes from the generator benchmarks.
//   build/bench/pipeline_bench [rounds]
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "config/parser.h"
#include "ctrl/compile/snapshot_compiler.h"
#include "dataplane/tables/neighbour_table.h"
#include "dataplane/worker/packet_meta.h"
#include "dataplane/worker/pipeline.h"
#include "dataplane/worker/tx.h"

using namespace meshplane;

int main(int argc, char** argv) {
  const char* eal[] = {"bench", "--no-huge", "-m", "256", "--no-pci", "--no-shconf", "-l", "0", "--log-level",
                       "lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
  const long rounds = argc > 1 ? std::atol(argv[1]) : 200000;

  auto parsed = config::load_policy_text(R"(ports:
  - {name: a, device: a, addresses: [10.0.1.1/24]}
  - {name: b, device: b, addresses: [10.0.2.1/24]}
routes:
  - {prefix: 10.20.0.0/16, via: 10.0.2.2}
)",
                                         "bench");
  const rte_ether_addr mac_a{{2, 0, 0, 0, 0, 0xa}}, mac_b{{2, 0, 0, 0, 0, 0xb}}, mac_nh{{2, 0, 0, 0, 2, 2}};
  auto compiled = ctrl::compile_snapshot(parsed.policy, {{0, mac_a}, {1, mac_b}}, 1);
  dataplane::NeighbourTable table(64);
  table.set(table.insert(1, 0x0a000202), dataplane::NeighbourState::kReachable, mac_nh);
  dataplane::WorkerCounters counters;
  dataplane::WorkerCtx w;
  w.port_count = 2;
  w.neighbours = &table;
  w.counters = &counters;
  w.punt_ring = rte_ring_create("punt", 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);

  rte_mempool* pool = rte_pktmbuf_pool_create("bench", 1023, 0, sizeof(dataplane::PacketMeta),
                                              RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  constexpr uint16_t kBurst = 32;
  rte_mbuf* pkts[kBurst];
  for (uint16_t i = 0; i < kBurst; ++i) {
    pkts[i] = rte_pktmbuf_alloc(pool);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(pkts[i], 60));
    eth->dst_addr = mac_a;
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    *ip = {};
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = RTE_BE16(46);
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(0x0a000102);
    ip->dst_addr = rte_cpu_to_be_32(0x0a140000 + i);  // 10.20.0.i: the static route
  }
  auto reset = [&] {
    for (auto* m : pkts) {
      auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
      ip->time_to_live = 255;
      ip->hdr_checksum = 0;
      ip->hdr_checksum = rte_ipv4_cksum(ip);
      rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr = mac_a;
    }
  };
  reset();
  std::vector<uint64_t> samples;
  uint64_t total = 0;
  for (long r = 0; r < rounds; ++r) {
    if (r % 200 == 0) reset();
    const uint64_t t0 = rte_rdtsc_precise();
    dataplane::pipeline_process(w, *compiled.snapshot, 0, pkts, kBurst);
    const uint64_t dt = rte_rdtsc_precise() - t0;
    total += dt;
    if (samples.size() < 100000) samples.push_back(dt);
    if (w.tx[1].count != kBurst) {
      std::fprintf(stderr, "pipeline did not forward the burst (tx %u)\n", w.tx[1].count);
      return 1;
    }
    w.tx[1].count = 0;
    for (auto* m : pkts) rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr = mac_a;
  }
  std::sort(samples.begin(), samples.end());
  const double hz = static_cast<double>(rte_get_tsc_hz());
  const double mean = static_cast<double>(total) / (static_cast<double>(rounds) * kBurst);
  std::printf("pipeline (parse, lb with no services, local, forward), 64 B UDP, bursts of %u, %ld rounds\n", kBurst, rounds);
  std::printf("  mean   %.1f cycles/packet (%.1f ns, %.1f Mpps/core at %.2f GHz)\n", mean, mean / hz * 1e9,
              hz / mean / 1e6, hz / 1e9);
  std::printf("  median %.1f cycles/packet, p99 %.1f\n", samples[samples.size() / 2] / double(kBurst),
              samples[samples.size() * 99 / 100] / double(kBurst));
  return 0;
}
