// meshplane-gen: a pktgen-like DPDK traffic generator. Sends Ethernet/IPv4
// UDP or TCP packets for N flows out of one port at a target rate (or as
// fast as it can), receives on another (or the same), and reports
// throughput, loss and latency percentiles from the TSC stamp each packet
// carries. One lcore does both; run it on a core of its own.
//   meshplane-gen [EAL options] -- --tx-port 0 --rx-port 1 --dst-mac M --dst-ip A [options]
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <string>
#include <vector>

#include "bench/gen/latency.h"
#include "bench/gen/pacer.h"
#include "bench/gen/packet.h"

using namespace meshplane::gen;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

bool parse_mac(const std::string& s, uint8_t out[6]) {
  unsigned v[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(v[i]);
  return true;
}

bool parse_ip(const std::string& s, uint32_t& out) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  out = ntohl(a.s_addr);
  return true;
}

int setup_port(uint16_t port, rte_mempool* pool) {
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc < 0) return rc;
  if (int rc = rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), nullptr, pool); rc < 0) return rc;
  if (int rc = rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), nullptr); rc < 0) return rc;
  return rte_eth_dev_start(port);
}

}  // namespace

int main(int argc, char** argv) {
  const int eal = rte_eal_init(argc, argv);
  if (eal < 0) {
    std::fprintf(stderr, "meshplane-gen: EAL initialisation failed\n");
    return 3;
  }
  argc -= eal;
  argv += eal;
  CLI::App app{"meshplane-gen: DPDK traffic generator (throughput, loss, latency)"};
  uint16_t tx_port = 0, rx_port = 1;
  std::string src_mac = "02:00:00:00:99:01", dst_mac, src_ip = "10.1.0.1", dst_ip, proto = "udp", json_path;
  uint32_t flows = 1, size = 60;
  uint64_t rate = 0;
  double seconds = 5, warmup = 1;
  uint16_t dst_port = 80, src_port = 1024, ports_per_ip = 1024;
  bool new_flows = false;
  uint32_t packets_per_flow = 1;
  app.add_option("--tx-port", tx_port, "DPDK port to send on")->capture_default_str();
  app.add_option("--rx-port", rx_port, "DPDK port to receive on (may equal --tx-port)")->capture_default_str();
  app.add_option("--src-mac", src_mac)->capture_default_str();
  app.add_option("--dst-mac", dst_mac, "the device under test's MAC on the tx side")->required();
  app.add_option("--src-ip", src_ip, "first source address")->capture_default_str();
  app.add_option("--dst-ip", dst_ip, "destination address (a route or a VIP)")->required();
  app.add_option("--dst-port", dst_port)->capture_default_str();
  app.add_option("--src-port", src_port, "first source port")->capture_default_str();
  app.add_option("--ports-per-ip", ports_per_ip, "source ports per source address")->capture_default_str();
  app.add_option("--proto", proto)->check(CLI::IsMember({"udp", "tcp"}))->capture_default_str();
  app.add_option("--flows", flows, "distinct 5-tuples, sent round robin")->capture_default_str();
  app.add_flag("--new-flows", new_flows, "open new flows all the time, cycling through --flows");
  app.add_option("--packets-per-flow", packets_per_flow,
                 "with --new-flows: packets of each flow; TCP sends SYN, data (ACK|PSH), then FIN|ACK")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("--size", size, "frame size without FCS: 60 is a 64-byte frame (TCP needs 70)")
      ->capture_default_str();
  app.add_option("--rate", rate, "packets per second; 0: as fast as possible")->capture_default_str();
  app.add_option("--seconds", seconds, "measured time")->capture_default_str();
  app.add_option("--warmup", warmup, "seconds sent before measuring (flows get established)")->capture_default_str();
  app.add_option("--json", json_path, "also write the results here");
  bool hold = false;
  app.add_flag("--hold", hold,
               "after the results, print 'done' and keep the links up until stdin closes (so the device under test "
               "can detach its ports before this peer leaves: meshctl ports detach)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  FlowSpec spec;
  spec.flows = flows;
  spec.proto = proto == "tcp" ? 6 : 17;
  spec.dst_port = dst_port;
  spec.src_port = src_port;
  spec.ports_per_ip = ports_per_ip;
  if (!parse_mac(src_mac, spec.src_mac) || !parse_mac(dst_mac, spec.dst_mac) || !parse_ip(src_ip, spec.src_ip) ||
      !parse_ip(dst_ip, spec.dst_ip) || size < (spec.proto == 6 ? kMinTcpFrame : kMinUdpFrame)) {
    std::fprintf(stderr, "meshplane-gen: bad address or size (frames need %zu bytes for UDP, %zu for TCP)\n",
                 kMinUdpFrame, kMinTcpFrame);
    return 2;
  }

  rte_mempool* pool = rte_pktmbuf_pool_create("gen", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (!pool || setup_port(tx_port, pool) < 0 || (rx_port != tx_port && setup_port(rx_port, pool) < 0)) {
    std::fprintf(stderr, "meshplane-gen: cannot set up ports %u/%u\n", tx_port, rx_port);
    return 3;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_rdtsc();
  const uint64_t measure_from = start + static_cast<uint64_t>(warmup * hz);
  const uint64_t stop_at = measure_from + static_cast<uint64_t>(seconds * hz);
  Pacer pacer(hz, rate, start);
  LatencyHistogram latency;
  uint64_t seq = 0, tx_measured = 0, rx_measured = 0, rx_bytes = 0, first_measured_seq = ~0ull, last_measured_seq = 0;
  uint64_t rx_foreign = 0, tx_refused = 0;
  constexpr uint32_t kBurst = 32;
  rte_mbuf* pkts[kBurst];
  // A paced run measures by schedule, not by clock: the packets scheduled for
  // the measured window are the ones counted, however late a busy machine
  // sends them, so R pps for S s counts exactly R * S packets (sent or
  // refused). An unpaced run measures what it sends between the two times.
  const uint64_t first_measured = rate ? static_cast<uint64_t>(warmup * static_cast<double>(rate)) : 0;
  const uint64_t schedule_end = first_measured + static_cast<uint64_t>(seconds * static_cast<double>(rate));
  // After sending, keep receiving a little for packets in flight.
  uint64_t drain_until = ~0ull;
  for (uint64_t now = rte_rdtsc(); now < drain_until && !g_stop; now = rte_rdtsc()) {
    const bool sending = rate ? pacer.total() < schedule_end : now < stop_at;
    if (!sending && drain_until == ~0ull) drain_until = now + hz / 10;
    if (sending) {
      uint32_t n = pacer.allowed(now, kBurst);
      if (rate) {  // a burst lies wholly before the measured window or wholly in it
        const uint64_t done = pacer.total();
        const uint64_t limit = done < first_measured ? first_measured : schedule_end;
        n = static_cast<uint32_t>(std::min<uint64_t>(n, limit - done));
      }
      const bool measured = rate ? pacer.total() >= first_measured : now >= measure_from;
      if (n && rte_pktmbuf_alloc_bulk(pool, pkts, n) == 0) {
        for (uint32_t i = 0; i < n; ++i) {
          uint32_t flow = static_cast<uint32_t>(seq % (flows ? flows : 1));
          uint8_t flags = 0x10;  // ACK: established traffic
          uint32_t tcp_seq = static_cast<uint32_t>(seq * 1000);
          if (new_flows) {
            const uint64_t position = seq % packets_per_flow;
            flow = static_cast<uint32_t>(seq / packets_per_flow);
            flags = position == 0 ? 0x02 : position + 1 == packets_per_flow ? 0x11 : 0x18;  // SYN, FIN|ACK, PSH|ACK
            tcp_seq = connection_seq(1000, position, size);
          }
          char* p = rte_pktmbuf_append(pkts[i], static_cast<uint16_t>(size));
          build_packet(reinterpret_cast<uint8_t*>(p), size, spec, flow, seq, now, flags, tcp_seq);
          ++seq;
        }
        const uint16_t sent = rte_eth_tx_burst(tx_port, 0, pkts, static_cast<uint16_t>(n));
        if (sent < n) {
          rte_pktmbuf_free_bulk(pkts + sent, n - sent);
          seq -= n - sent;  // those sequence numbers were never sent
        }
        pacer.sent(n);  // the schedule moves on: a full ring is the DUT's backlog, counted below
        if (measured) {
          tx_refused += n - sent;
          tx_measured += sent;
          if (first_measured_seq == ~0ull && sent) first_measured_seq = seq - sent;
          last_measured_seq = seq;
        }
      }
    }
    const uint16_t got = rte_eth_rx_burst(rx_port, 0, pkts, kBurst);
    const uint64_t rx_now = rte_rdtsc();
    for (uint16_t i = 0; i < got; ++i) {
      Stamp stamp;
      if (read_stamp(rte_pktmbuf_mtod(pkts[i], const uint8_t*), pkts[i]->data_len, stamp)) {
        if (stamp.sequence >= static_cast<uint32_t>(first_measured_seq) &&
            stamp.sequence < static_cast<uint32_t>(last_measured_seq)) {
          ++rx_measured;
          rx_bytes += pkts[i]->pkt_len;
          latency.record((rx_now - stamp.tx_tsc) * 1'000'000'000ull / hz);
        }
      } else {
        ++rx_foreign;
      }
    }
    rte_pktmbuf_free_bulk(pkts, got);
  }

  const double mpps_tx = static_cast<double>(tx_measured) / seconds / 1e6;
  const double mpps_rx = static_cast<double>(rx_measured) / seconds / 1e6;
  const double gbps = static_cast<double>(rx_bytes + rx_measured * 24) * 8 / seconds / 1e9;  // + FCS, preamble, gap
  const double loss = tx_measured ? 100.0 * static_cast<double>(tx_measured - std::min(tx_measured, rx_measured)) /
                                        static_cast<double>(tx_measured)
                                  : 0;
  const std::string json = fmt::format(
      "{{\"flows\":{},\"new_flows\":{},\"packets_per_flow\":{},\"size\":{},\"proto\":\"{}\",\"rate_pps\":{},\"seconds\":{},"
      "\"tx_packets\":{},\"rx_packets\":{},\"tx_mpps\":{:.3f},\"rx_mpps\":{:.3f},\"rx_gbps\":{:.3f},"
      "\"loss_percent\":{:.4f},\"latency_ns\":{{\"p50\":{},\"p99\":{},\"p999\":{},\"max\":{}}},"
      "\"tx_refused\":{},\"rx_foreign\":{}}}",
      flows, new_flows, packets_per_flow, size, proto, rate, seconds, tx_measured, rx_measured, mpps_tx, mpps_rx, gbps, loss,
      latency.percentile(50), latency.percentile(99), latency.percentile(99.9), latency.max(), tx_refused,
      rx_foreign);
  std::printf("sent %lu, received %lu in %.1f s: %.2f Mpps out, %.2f Mpps in (%.2f Gbit/s), loss %.3f%%\n"
              "latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
              tx_measured, rx_measured, seconds, mpps_tx, mpps_rx, gbps, loss, latency.percentile(50) / 1e3,
              latency.percentile(99) / 1e3, latency.percentile(99.9) / 1e3, latency.max() / 1e3);
  if (!json_path.empty()) std::ofstream(json_path) << json << '\n';
  if (hold) {
    std::printf("done\n");
    std::fflush(stdout);
    while (std::fgetc(stdin) != EOF) {
    }
  }
  rte_eth_dev_stop(tx_port);
  if (rx_port != tx_port) rte_eth_dev_stop(rx_port);
  rte_eal_cleanup();
  return 0;
}
