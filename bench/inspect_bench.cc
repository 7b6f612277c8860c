// Payload inspection on real mbufs, without a PMD: the whole pipeline
// (parse -> lb -> inspect -> route) for TCP data segments of 32 connections
// to a NAT service whose pattern set has N patterns, against the same
// pipeline without a set and with connections past their inspection limit,
// and Hyperscan's own block-mode scan of the same payloads in the same run.
// None of the patterns match the payload (a clean stream is the common case:
// everything is scanned).
//   build/bench/inspect_bench [patterns [frame_bytes [rounds [plain|inspected|past]]]]   (default 100 1400 20000)
// frame_bytes: the Ethernet frame without FCS (64: 10 payload bytes; 1400: 1346).
// With a last argument, only that pipeline runs, once (for callgrind).
// (bench/instructions.py runs it under callgrind for instructions per packet.)
#include <hs/hs.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "dataplane/stages/inspect.h"
#include "tests/support/worker_rig.h"

using namespace meshplane;
using namespace meshplane::dataplane;

namespace {

constexpr uint16_t kBurst = 32;  // one segment of each connection per burst

// Patterns shaped like a request filter's: literal paths and tokens, and
// regexes with classes and bounded repeats. None occurs in the payload.
std::vector<std::string> make_patterns(long n) {
  std::mt19937 rng(7);
  std::vector<std::string> out;
  for (long i = 0; i < n; ++i) {
    const unsigned r = rng() % 100000;
    switch (i % 4) {
      case 0: out.push_back("/admin" + std::to_string(r) + "/"); break;
      case 1: out.push_back("select\\s+\\w+\\s+from\\s+t" + std::to_string(r)); break;
      case 2: out.push_back("token=[a-f0-9]{8}-" + std::to_string(r)); break;
      default: out.push_back("\\.\\./etc/" + std::to_string(r) + "[a-z]{2,6}"); break;
    }
  }
  return out;
}

std::string policy(const std::vector<std::string>& patterns, uint32_t inspect_bytes) {
  std::string t = R"(ports:
  - {name: a, device: a, addresses: [10.0.1.1/24]}
  - {name: b, device: b, addresses: [10.0.2.1/24]}
routes:
  - {prefix: 10.1.0.0/16, via: 10.0.1.2}
load_balancer: {flow_capacity: 4096}
inspection: {flows_per_worker: 64}
services:
  - name: web
    vip: 10.30.0.10
)";
  if (!patterns.empty()) t += "    inspect: guard\n";
  t += "    ports: [{protocol: tcp, port: 80, target_port: 8080}]\n    endpoints: [{address: 10.0.2.11}]\n";
  if (patterns.empty()) return t;
  t += "pattern_sets:\n  - name: guard\n    inspect_bytes: " + std::to_string(inspect_bytes) +
       "\n    directions: client\n    patterns:\n";
  for (const auto& p : patterns) t += "      - {regex: '" + p + "', flags: [caseless], action: block}\n";
  return t;
}

// Text-like payload: what a request body looks like to the scanner.
std::vector<uint8_t> payload_bytes(size_t n) {
  static const char kText[] = "GET /index.html?user=alice&item=42 HTTP/1.1 host: shop accept: text/html ";
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(kText[i % (sizeof kText - 1)]);
  return v;
}

void write_segment(rte_mbuf* m, uint32_t client, uint8_t flags, uint32_t seq, const std::vector<uint8_t>& payload,
                   uint16_t frame) {
  rte_pktmbuf_reset(m);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, frame));
  eth->dst_addr = testing::kMacA;
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  const bool data = !(flags & RTE_TCP_SYN_FLAG);
  const uint16_t len = static_cast<uint16_t>(data ? frame - 14 : 40);
  if (!data) rte_pktmbuf_trim(m, frame - 54);
  *ip = {};
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(len);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_TCP;
  ip->src_addr = rte_cpu_to_be_32(0x0a010000 + client);
  ip->dst_addr = rte_cpu_to_be_32(0x0a1e000a);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
  *tcp = {};
  tcp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(2000 + client));
  tcp->dst_port = RTE_BE16(80);
  tcp->sent_seq = rte_cpu_to_be_32(seq);
  tcp->recv_ack = rte_cpu_to_be_32(1);
  tcp->data_off = 5 << 4;
  tcp->tcp_flags = flags;
  if (data) std::memcpy(tcp + 1, payload.data(), payload.size());
}

struct Result {
  uint64_t cycles = 0, packets = 0;
  double per_packet() const { return packets ? static_cast<double>(cycles) / static_cast<double>(packets) : 0.0; }
};

// Cycles per data packet through the pipeline: `rounds` bursts of one
// segment from each of 32 connections. Connections are replaced by fresh ones
// (their SYNs untimed) before they pass `per_connection` segments, so an
// inspected run stays within inspect_bytes throughout.
Result pipeline(const std::string& text, uint16_t frame, long rounds, long per_connection,
                const std::vector<uint8_t>& payload, uint64_t* blocked = nullptr) {
  testing::WorkerRig rig(text, {.mbufs = 1023});
  if (!rig.ok()) {
    std::fprintf(stderr, "%s\n", rig.error.c_str());
    std::exit(1);
  }
  rig.neighbours.set(rig.neighbours.insert(1, 0x0a00020b), NeighbourState::kReachable, {{2, 0, 0, 0, 2, 11}});
  rte_mbuf* pkts[kBurst];
  Result r;
  uint32_t first_client = 0, seq = 0;
  for (long round = 0; round < rounds; ++round) {
    if (round % per_connection == 0) {  // a new generation of connections: SYNs
      first_client = static_cast<uint32_t>(round / per_connection * kBurst) % 60000;
      for (auto& m : pkts) m = rte_pktmbuf_alloc(rig.pool);
      for (uint16_t i = 0; i < kBurst; ++i)
        write_segment(pkts[i], first_client + i, RTE_TCP_SYN_FLAG, 1000, payload, frame);
      rig.run(pkts, kBurst);
      rig.clear_tx();
      seq = 1001;
    }
    for (auto& m : pkts) m = rte_pktmbuf_alloc(rig.pool);
    for (uint16_t i = 0; i < kBurst; ++i) write_segment(pkts[i], first_client + i, RTE_TCP_ACK_FLAG, seq, payload, frame);
    seq += static_cast<uint32_t>(payload.size());
    const uint64_t t0 = rte_rdtsc_precise();
    rig.run(pkts, kBurst);
    r.cycles += rte_rdtsc_precise() - t0;
    r.packets += kBurst;
    if (rig.w.tx[1].count != kBurst) {
      std::fprintf(stderr, "burst not forwarded (tx %u)\n", rig.w.tx[1].count);
      std::exit(1);
    }
    rig.clear_tx();
  }
  if (blocked) *blocked = rig.counters.dropped(DropReason::kPatternBlocked);
  return r;
}

// The patterns (caseless, as the policy has them) compiled in `mode`; `ms` the time it took.
hs_database_t* compile(const std::vector<std::string>& patterns, unsigned mode, double& ms) {
  std::vector<const char*> e;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < patterns.size(); ++i) {
    e.push_back(patterns[i].c_str());
    flags.push_back(HS_FLAG_CASELESS);
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  const uint64_t t0 = rte_rdtsc_precise();
  if (hs_compile_multi(e.data(), flags.data(), ids.data(), static_cast<unsigned>(e.size()), mode, nullptr, &db,
                       &err) != HS_SUCCESS) {
    std::fprintf(stderr, "hs_compile_multi: %s\n", err->message);
    std::exit(1);
  }
  ms = static_cast<double>(rte_rdtsc_precise() - t0) / static_cast<double>(rte_get_tsc_hz()) * 1e3;
  return db;
}

// Hyperscan alone, block mode, the same patterns over the same payloads.
double block_mode_cycles(const std::vector<std::string>& patterns, const std::vector<uint8_t>& payload, long scans) {
  double ms = 0;
  hs_database_t* db = compile(patterns, HS_MODE_BLOCK, ms);
  hs_scratch_t* scratch = nullptr;
  hs_alloc_scratch(db, &scratch);
  auto none = [](unsigned, unsigned long long, unsigned long long, unsigned, void*) { return 0; };
  const uint64_t t0 = rte_rdtsc_precise();
  for (long i = 0; i < scans; ++i)
    hs_scan(db, reinterpret_cast<const char*>(payload.data()), static_cast<unsigned>(payload.size()), 0, scratch, none,
            nullptr);
  const double per = static_cast<double>(rte_rdtsc_precise() - t0) / static_cast<double>(scans);
  hs_free_scratch(scratch);
  hs_free_database(db);
  return per;
}

// What an apply that changes this set pays: Hyperscan's stream-mode compile (on the API thread).
void report_compile(const std::vector<std::string>& patterns) {
  double ms = 0;
  hs_database_t* db = compile(patterns, HS_MODE_STREAM, ms);
  size_t database = 0, stream = 0;
  hs_database_size(db, &database);
  hs_stream_size(db, &stream);
  std::printf("  compile (stream mode, once per apply that changes the set): %.1f ms, database %zu bytes, "
              "stream state %zu bytes\n",
              ms, database, stream);
  hs_free_database(db);
}

}  // namespace

int main(int argc, char** argv) {
  const char* eal[] = {"bench", "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0", "--log-level",
                       "lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
  const long n = argc > 1 ? std::max(1L, std::atol(argv[1])) : 100;
  const uint16_t frame = static_cast<uint16_t>(argc > 2 ? std::max(64L, std::min(9000L, std::atol(argv[2]))) : 1400);
  const long rounds = argc > 3 ? std::max(1L, std::atol(argv[3])) : 20000;
  const std::vector<uint8_t> payload = payload_bytes(frame - 54u);
  const std::vector<std::string> patterns = make_patterns(n);
  // Each connection carries at most inspect_bytes (the most a set may inspect) while measured.
  const long per_connection = std::max<long>(1, kMaxInspectBytes / static_cast<long>(payload.size()) - 1);

  if (argc > 4) {
    const std::string only = argv[4];
    const std::string text = only == "plain" ? policy({}, 0) : policy(patterns, only == "past" ? 1 : kMaxInspectBytes);
    std::printf("%s: %.1f cycles/packet\n", only.c_str(),
                pipeline(text, frame, rounds, per_connection, payload).per_packet());
    return 0;
  }
  // Best of three runs of each, interleaved: a shared VM's noise only ever adds cycles.
  uint64_t blocked = 0;
  double plain = 1e18, inspected = 1e18, past = 1e18, block = 1e18;
  for (int run = 0; run < 3; ++run) {
    plain = std::min(plain, pipeline(policy({}, 0), frame, rounds, per_connection, payload).per_packet());
    inspected = std::min(inspected, pipeline(policy(patterns, kMaxInspectBytes), frame, rounds, per_connection,
                                             payload, &blocked).per_packet());
    // Done after the first segment's first byte: later segments pay only the flow's bit test.
    past = std::min(past, pipeline(policy(patterns, 1), frame, rounds, per_connection, payload).per_packet());
    block = std::min(block, block_mode_cycles(patterns, payload, rounds * kBurst));
  }
  if (blocked) std::fprintf(stderr, "warning: %lu packets blocked: the payload matched a pattern\n", blocked);

  const double hz = static_cast<double>(rte_get_tsc_hz());
  const double bits = static_cast<double>(payload.size()) * 8;
  std::printf("payload inspection, %ld pattern(s), %u-byte frames (%zu payload bytes), 32 connections, "
              "bursts of %u, best of 3, TSC %.2f GHz\n", n, frame, payload.size(), kBurst, hz / 1e9);
  auto line = [&](const char* what, double cycles) {
    std::printf("  %-34s %8.1f cycles/packet  %7.2f Gbit/s of payload per core\n", what, cycles,
                bits * hz / cycles / 1e9);
  };
  line("no pattern set (NAT only)", plain);
  line("inspected (stream mode)", inspected);
  line("past inspect_bytes", past);
  line("inspection alone (difference)", inspected - plain);
  line("Hyperscan block mode, same data", block);
  report_compile(patterns);
  std::printf("  per-connection state: %zu bytes (both directions' orderers and stream state, at most %u each)\n",
              sizeof(InspectFlow), kStreamStateBytes);
  return 0;
}
