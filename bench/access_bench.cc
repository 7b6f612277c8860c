// The access stage's cost: the forwarding pipeline (parse -> decrypt ->
// access -> lb -> local -> forward) on real mbufs without a PMD, with 0, 10,
// 1,000 and 10,000 random access rules (bench/access_rules.h; the traffic
// passes every one), and what the rules cost the control thread: reading
// and validating the policy (the shadowing check included), building the
// rte_acl classifier, its memory. The traffic: bursts of 32 UDP packets from
// 32 sources to 32 destinations, so the classifier walks different paths.
//   build/bench/access_bench [rounds [rule counts, comma-separated]]
//     (default 100,000 and 0,10,1000,10000)
// The load balancer with rules: build/bench/lb_bench FLOWS ROUNDS ROUNDS 1 RULES.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "bench/access_rules.h"
#include "config/parser.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"

using namespace meshplane;

namespace {

constexpr uint16_t kBurst = 32;

const std::string kBase = R"(ports:
  - {name: a, device: a, addresses: [10.0.1.1/24]}
  - {name: b, device: b, addresses: [10.0.2.1/24]}
routes:
  - {prefix: 10.20.0.0/16, via: 10.0.2.2}
  - {prefix: 10.1.0.0/16, via: 10.0.1.2}
)";

int measure(size_t rules, long rounds) {
  const std::string text = kBase + bench::random_access_rules(rules);
  const auto t0 = std::chrono::steady_clock::now();
  const auto loaded = config::load_policy_text(text, "bench.yaml");
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s", loaded.message.c_str());
    return 1;
  }
  testing::WorkerRig rig(text, {.mbufs = 1023});
  if (!rig.ok()) {
    std::fprintf(stderr, "%s\n", rig.error.c_str());
    return 1;
  }
  rig.neighbours.set(rig.neighbours.insert(1, 0x0a000202), dataplane::NeighbourState::kReachable, {{2, 0, 0, 0, 2, 2}});
  dataplane::WorkerCtx& w = rig.w;
  rte_mbuf* pkts[kBurst];
  for (uint16_t i = 0; i < kBurst; ++i) {
    testing::Frame f;
    f.dst = testing::kMacA, f.ip_src = 0x0a010000 + i * 97, f.ip_dst = 0x0a140000 + i * 131;
    f.l4 = testing::udp(static_cast<uint16_t>(1000 + i * 7), static_cast<uint16_t>(53 + i), 18);
    pkts[i] = testing::build(rig.pool, f);
  }
  uint64_t total = 0;
  for (long r = 0; r < rounds; ++r) {
    for (auto* m : pkts) testing::refresh_for_forwarding(m, testing::kMacA);
    const uint64_t start = rte_rdtsc_precise();
    rig.run(pkts, kBurst);
    total += rte_rdtsc_precise() - start;
    if (w.tx[1].count != kBurst) {
      std::fprintf(stderr, "the burst was not forwarded (tx %u): a rule matched the traffic\n", w.tx[1].count);
      return 1;
    }
    w.tx[1].count = 0;
  }
  const double hz = static_cast<double>(rte_get_tsc_hz());
  const double cpp = static_cast<double>(total) / (static_cast<double>(rounds) * kBurst);
  const auto& table = *rig.snapshot->access_table;
  std::printf("%6zu rules  %7zu entries  pipeline %6.1f cycles/packet (%5.1f Mpps/core)  read+validate %7.3f s  "
              "build %7.3f s  classifier %8.1f KiB\n",
              rules, table.entries(), cpp, hz / cpp / 1e6, load_s, table.build_seconds(),
              static_cast<double>(table.memory_bytes()) / 1024.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<const char*> eal = {"bench", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "-l", "0",
                                  "--log-level", "lib.eal:error"};
  if (const char* simd = std::getenv("SIMD")) eal.push_back(simd);
  if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) return 1;
  const long rounds = argc > 1 ? std::atol(argv[1]) : 100'000;
  std::vector<size_t> counts;
  std::stringstream list(argc > 2 ? argv[2] : "0,10,1000,10000");
  for (std::string item; std::getline(list, item, ',');) counts.push_back(std::stoul(item));
  std::printf("access stage: forwarding 64 B UDP in bursts of %u, %ld rounds, TSC %.2f GHz\n", kBurst, rounds,
              static_cast<double>(rte_get_tsc_hz()) / 1e9);
  for (size_t n : counts)
    if (int rc = measure(n, rounds)) return rc;
  return 0;
}
