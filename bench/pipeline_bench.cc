// Cycles per packet of the forwarding pipeline (parse -> local -> forward) on
// real mbufs, without a PMD: the same burst of 32 UDP packets is routed over
// and over, TTL restored between rounds outside the timed region. Gives the
// pipeline's own cost; port rx/tx cost comes from the generator benchmarks.
// With a destination authorization (docs/config.md) the routed-authz stage
// works too: "tracked" covers the traffic (32 flows, decided in the first
// round, established after), "elsewhere" covers another prefix only.
//   build/bench/pipeline_bench [rounds [none|tracked|elsewhere]]
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"

using namespace meshplane;

int main(int argc, char** argv) {
  const char* eal[] = {"bench", "--no-huge", "-m", "256", "--no-pci", "--no-shconf", "-l", "0", "--log-level",
                       "lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
  const long rounds = argc > 1 ? std::atol(argv[1]) : 200000;
  const std::string authz = argc > 2 ? argv[2] : "none";
  if (authz != "none" && authz != "tracked" && authz != "elsewhere") {
    std::fprintf(stderr, "usage: pipeline_bench [rounds [none|tracked|elsewhere]]\n");
    return 2;
  }
  std::string policy = R"(ports:
  - {name: a, device: a, addresses: [10.0.1.1/24]}
  - {name: b, device: b, addresses: [10.0.2.1/24]}
routes:
  - {prefix: 10.20.0.0/16, via: 10.0.2.2}
)";
  if (authz != "none")
    policy += std::string(R"(authorization:
  - name: bench
    destinations: [)") + (authz == "tracked" ? "10.20.0.0/16" : "10.99.0.0/16") + R"(]
    default: deny
    rules:
      - {name: clients, action: allow, from: {prefixes: [10.0.1.0/24]}, to: {ports: [53], protocols: [udp]}}
)";
  testing::WorkerRig rig(policy, {.mbufs = 1023});
  if (!rig.ok()) {
    std::fprintf(stderr, "%s\n", rig.error.c_str());
    return 1;
  }
  const rte_ether_addr mac_nh{{2, 0, 0, 0, 2, 2}};
  rig.neighbours.set(rig.neighbours.insert(1, 0x0a000202), dataplane::NeighbourState::kReachable, mac_nh);
  dataplane::WorkerCtx& w = rig.w;

  constexpr uint16_t kBurst = 32;
  rte_mbuf* pkts[kBurst];
  for (uint16_t i = 0; i < kBurst; ++i) {
    testing::Frame f;
    f.dst = testing::kMacA, f.ip_src = 0x0a000102, f.ip_dst = 0x0a140000 + i;  // 10.20.0.i: the static route
    f.l4 = testing::udp(1000, 53, 18);                                            // 60-byte frames
    pkts[i] = testing::build(rig.pool, f);
  }
  auto reset = [&] {
    for (auto* m : pkts) testing::refresh_for_forwarding(m, testing::kMacA);
  };
  reset();
  std::vector<uint64_t> samples;
  uint64_t total = 0;
  for (long r = 0; r < rounds; ++r) {
    if (r % 200 == 0) reset();
    const uint64_t t0 = rte_rdtsc_precise();
    rig.run(pkts, kBurst);
    const uint64_t dt = rte_rdtsc_precise() - t0;
    total += dt;
    if (samples.size() < 100000) samples.push_back(dt);
    if (w.tx[1].count != kBurst) {
      std::fprintf(stderr, "pipeline did not forward the burst (tx %u)\n", w.tx[1].count);
      return 1;
    }
    w.tx[1].count = 0;
    for (auto* m : pkts) rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr = testing::kMacA;
  }
  std::sort(samples.begin(), samples.end());
  const double hz = static_cast<double>(rte_get_tsc_hz());
  const double mean = static_cast<double>(total) / (static_cast<double>(rounds) * kBurst);
  std::printf("pipeline (parse, lb with no services, routed authorization: %s, local, forward), 64 B UDP, bursts of "
              "%u, %ld rounds\n",
              authz.c_str(), kBurst, rounds);
  std::printf("  mean   %.1f cycles/packet (%.1f ns, %.1f Mpps/core at %.2f GHz)\n", mean, mean / hz * 1e9,
              hz / mean / 1e6, hz / 1e9);
  std::printf("  median %.1f cycles/packet, p99 %.1f\n", samples[samples.size() / 2] / double(kBurst),
              samples[samples.size() * 99 / 100] / double(kBurst));
  return 0;
}
