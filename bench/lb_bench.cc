// Cycles per packet of the load balancer on real mbufs, without a PMD: the
// whole pipeline (parse -> lb -> local -> forward) for TCP to a NAT service
// with 16 endpoints and 4 NAT addresses. Three scenarios:
//   new flows        SYNs with fresh 5-tuples (flow insert, Maglev, NAT port search)
//   established, 1   the same flow over and over (hot cache)
//   established, N   random flows among N tracked (DRAM-bound lookups)
// Headers are restored between bursts outside the timed region.
//   build/bench/lb_bench [flows [rounds_one [rounds_many [services [access_rules [authorization [flow_logs [breaker]]]]]]]]
//     (default 1,000,000 100,000 100,000 1 0 0 0 0). With breaker 1, web has a circuit
//     breaker with caps no connection reaches (every connection counted). With flow_logs N > 0, flow
//     logs are on and one flow in N is sampled (dataplane/worker/flow_log.h;
//     records past the ring or the rate are counted as lost, as they would be). With authorization 1, the
//     service has an authorization that every client passes (a mapped
//     identity, a deny rule and an allow rule to ask). With access_rules, the
//     policy has that many random access rules (bench/access_rules.h) that
//     every packet is classified against and passes. With services > 1 the policy
//     lists services - 1 others (VIPs 10.30.x.y around the measured one's
//     10.30.0.10, ports 80 and 443) before it: the VIP and listener maps then
//     hold that many keys.
// (bench/instructions.py runs it under callgrind with small counts to get
// instructions per packet of each scenario by difference.)
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_tcp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/access_rules.h"
#include "dataplane/worker/flow_log.h"
#include "tests/support/worker_rig.h"

using namespace meshplane;
using namespace meshplane::dataplane;

namespace {

constexpr uint16_t kBurst = 32;
using testing::kMacA;

// Client i: 10.1.x.y, port 1024 + (i mod 1024): distinct 5-tuples to the VIP.
void write_syn_or_ack(rte_mbuf* m, uint32_t client, bool syn) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  eth->dst_addr = kMacA;
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  *ip = {};
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = RTE_BE16(40);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_TCP;
  ip->src_addr = rte_cpu_to_be_32(0x0a010000 + (client >> 10));
  ip->dst_addr = rte_cpu_to_be_32(0x0a1e000a);  // the VIP
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
  *tcp = {};
  tcp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(1024 + (client & 1023)));
  tcp->dst_port = RTE_BE16(80);
  tcp->data_off = 5 << 4;
  tcp->tcp_flags = syn ? RTE_TCP_SYN_FLAG : RTE_TCP_ACK_FLAG;
}

struct Result {
  uint64_t cycles = 0, packets = 0;
  double per_packet() const { return packets ? static_cast<double>(cycles) / static_cast<double>(packets) : 0.0; }
};

// Services on the VIPs 10.30.x.y next to the measured one's (10.30.0.10),
// one endpoint each, listed before it.
std::string other_services(long n) {
  std::string t;
  for (long i = 0; i < n; ++i) {
    const long v = i < 9 ? i : i + 1;  // skips 10.30.0.10
    t += "  - {name: s" + std::to_string(i) + ", vip: 10.30." + std::to_string(v / 250) + "." +
         std::to_string(v % 250 + 1) +
         ", table_size: 251, ports: [{port: 80}, {port: 443}], endpoints: [{address: 10.0.2.11}]}\n";
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const char* eal[] = {"bench", "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0", "--log-level",
                       "lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
  const uint32_t flows = argc > 1 ? static_cast<uint32_t>(std::atol(argv[1])) : 1'000'000;
  const long rounds_one = argc > 2 ? std::atol(argv[2]) : 100'000;
  const long rounds_many = argc > 3 ? std::atol(argv[3]) : 100'000;
  const long service_count = argc > 4 ? std::max(1L, std::atol(argv[4])) : 1;
  const long access_rules = argc > 5 ? std::max(0L, std::atol(argv[5])) : 0;
  const bool authorization = argc > 6 && std::atol(argv[6]) != 0;
  const long flow_log_sample = argc > 7 ? std::max(0L, std::atol(argv[7])) : 0;
  const bool breaker = argc > 8 && std::atol(argv[8]) != 0;  // web has a circuit breaker no connection reaches

  std::string endpoints;
  for (int i = 0; i < 16; ++i) endpoints += (i ? ", " : "") + std::string("{address: 10.0.2.") + std::to_string(11 + i) + "}";
  const std::string text = R"(ports:
  - {name: a, device: a, addresses: [10.0.1.1/24]}
  - {name: b, device: b, addresses: [10.0.2.1/24]}
routes:
  - {prefix: 10.1.0.0/16, via: 10.0.1.2}
load_balancer:
  flow_capacity: )" + std::to_string(flows + kBurst) + R"(
  max_services: )" + std::to_string(service_count + 16) + R"(
  max_endpoints: )" + std::to_string(service_count + 32) + R"(
  nat_addresses: [10.0.2.100, 10.0.2.101, 10.0.2.102, 10.0.2.103]
services:
)" + other_services(service_count - 1) + R"(  - name: web
    vip: 10.30.0.10
    ports: [{protocol: tcp, port: 80, target_port: 8080}]
    endpoints: [)" + endpoints + "]\n" +
                           (breaker ? "    circuit_breaker: {max_connections: 100000000, per_endpoint: "
                                      "{max_connections: 100000000}}\n"
                                    : "") +
                           bench::random_access_rules(static_cast<size_t>(access_rules)) +
                           (authorization ? R"(identities:
  - {name: clients, prefixes: [10.1.0.0/16]}
authorization:
  - service: web
    default: deny
    rules:
      - {name: not-these, action: deny, from: {prefixes: [172.16.0.0/12]}}
      - {name: clients, action: allow, from: {identities: [clients]}, to: {ports: [80], protocols: [tcp]}}
)" : "");
  testing::WorkerRig rig(text, {.mbufs = 1023});
  if (!rig.ok()) {
    std::fprintf(stderr, "%s\n", rig.error.c_str());
    return 1;
  }
  for (int i = 0; i < 16; ++i)
    rig.neighbours.set(rig.neighbours.insert(1, 0x0a00020b + i), NeighbourState::kReachable,
                       {{2, 0, 0, 0, 2, uint8_t(11 + i)}});
  WorkerCtx& w = rig.w;
  std::unique_ptr<FlowLog> flow_log;
  if (flow_log_sample) {
    rte_ring* ring = rte_ring_create_elem("bench_flow_log", sizeof(FlowLogRecord), 4096, SOCKET_ID_ANY,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
    flow_log = std::make_unique<FlowLog>(flows + kBurst, ring, static_cast<uint32_t>(flow_log_sample), 10000);
    w.flow_log = flow_log.get();
  }
  const FlowTable& flow_table = *rig.flows;
  const WorkerCounters& counters = rig.counters;
  rte_mempool* pool = rig.pool;
  rte_mbuf* pkts[kBurst];
  for (auto& m : pkts) {
    m = rte_pktmbuf_alloc(pool);
    rte_pktmbuf_append(m, 60);
  }
  auto run = [&](Result& r) {
    const uint64_t t0 = rte_rdtsc_precise();
    rig.run(pkts, kBurst);
    r.cycles += rte_rdtsc_precise() - t0;
    r.packets += kBurst;
    if (w.tx[1].count != kBurst) {
      std::fprintf(stderr, "burst not forwarded (tx %u); drops: flow_table_full %lu nat_ports_exhausted %lu\n",
                   w.tx[1].count, counters.dropped(DropReason::kFlowTableFull),
                   counters.dropped(DropReason::kNatPortsExhausted));
      std::exit(1);
    }
    w.tx[1].count = 0;
  };

  Result fresh, one, many;
  for (uint32_t base = 0; base + kBurst <= flows; base += kBurst) {
    for (uint16_t i = 0; i < kBurst; ++i) write_syn_or_ack(pkts[i], base + i, true);
    run(fresh);
  }
  for (long round = 0; round < rounds_one; ++round) {
    for (auto* m : pkts) write_syn_or_ack(m, 0, false);
    run(one);
  }
  std::mt19937 rng(42);
  std::uniform_int_distribution<uint32_t> pick(0, flows / kBurst * kBurst - 1);
  for (long round = 0; round < rounds_many; ++round) {
    for (auto* m : pkts) write_syn_or_ack(m, pick(rng), false);
    run(many);
  }

  const double hz = static_cast<double>(rte_get_tsc_hz());
  const std::string logs = flow_log_sample ? "flow logs of 1 flow in " + std::to_string(flow_log_sample) : "no flow logs";
  std::printf("load balancer, full NAT, 16 endpoints, 4 NAT addresses, 60 B TCP, bursts of %u, %ld service(s), "
              "%ld access rule(s), %s, %s, TSC %.2f GHz\n", kBurst, service_count, access_rules,
              authorization ? "authorization" : "no authorization", logs.c_str(), hz / 1e9);
  auto line = [&](const char* what, const Result& r) {
    std::printf("  %-28s %7.1f cycles/packet  %6.1f ns  %5.2f Mpps/core\n", what, r.per_packet(),
                r.per_packet() / hz * 1e9, hz / r.per_packet() / 1e6);
  };
  line("new flows (table filling)", fresh);
  line("established, 1 flow", one);
  std::string label = "established, " + std::to_string(flow_table.size()) + " flows";
  line(label.c_str(), many);
  std::printf("  flow table: %u flows, %.0f bytes/flow of capacity (%zu MiB)\n", flow_table.size(),
              static_cast<double>(flow_table.memory_bytes()) / flow_table.capacity(),
              flow_table.memory_bytes() >> 20);
  return 0;
}
