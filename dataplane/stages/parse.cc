#include "dataplane/stages/parse.h"

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "dataplane/worker/packet_meta.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);
constexpr uint32_t kArpLen = sizeof(rte_arp_hdr);

bool martian_source(uint32_t a) {
  const uint32_t first = a >> 24;
  return first == 0 || first == 127 || first >= 224;
}

inline DropReason check_ipv4(rte_mbuf* m) {
  if (m->data_len < kEthLen + sizeof(rte_ipv4_hdr)) return DropReason::kShortFrame;
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
  if ((ip->version_ihl >> 4) != 4) return DropReason::kBadIpv4Version;
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  if (ihl < sizeof(rte_ipv4_hdr) || kEthLen + ihl > m->data_len) return DropReason::kBadIpv4HeaderLength;
  const uint32_t total = rte_be_to_cpu_16(ip->total_length);
  if (total < ihl || kEthLen + total > m->pkt_len) return DropReason::kBadIpv4TotalLength;

  const uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD) return DropReason::kBadIpv4Checksum;
  // Summed with its checksum field, a valid header folds to 0xffff.
  if (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && rte_raw_cksum(ip, ihl) != 0xffff) return DropReason::kBadIpv4Checksum;

  const uint32_t src = rte_be_to_cpu_32(ip->src_addr);
  const uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
  if (martian_source(src)) return DropReason::kMartianSource;
  if (dst >= 0xE0000000u) return DropReason::kBroadcastOrMulticast;
  if ((dst >> 24) == 0 || (dst >> 24) == 127) return DropReason::kMartianDestination;

  // Ethernet pads short frames to 60 bytes; what follows the IP datagram is not ours to forward.
  if (m->pkt_len > kEthLen + total) rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - kEthLen - total));
  return DropReason::kCount;
}

}  // namespace

// Out of line for the decrypt stage; parse_process has check_ipv4 inlined in its loop.
DropReason ipv4_problem(rte_mbuf* m) { return check_ipv4(m); }

void punt(WorkerCtx& w, rte_mbuf* m) {
  if (w.traced.n) [[unlikely]] trace_left(w, m, TraceEvent::kPunted, 0);
  if (rte_ring_sp_enqueue(w.punt_ring, m) != 0) {
    drop(w, m, DropReason::kPuntRingFull);
    return;
  }
  w.counters->punted.add();
}

void punt_received(WorkerCtx& w, rte_mbuf* m, PuntReason reason, uint16_t in_port) {
  PacketMeta& pm = meta(m);
  pm.reason = reason;
  pm.port = static_cast<uint8_t>(in_port);
  punt(w, m);
}

uint16_t parse_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf** pkts, uint16_t n) {
  const rte_ether_addr& port_mac = s.ports[in_port].mac;
  PortCounters& pc = w.counters->ports[in_port];
  uint64_t bytes = 0;
  uint16_t kept = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 2 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 2], void*));
    rte_mbuf* m = pkts[i];
    bytes += m->pkt_len;
    if (m->data_len < kEthLen) {
      drop(w, m, DropReason::kShortFrame);
      continue;
    }
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    const bool broadcast = rte_is_broadcast_ether_addr(&eth->dst_addr);
    if (!broadcast && !rte_is_same_ether_addr(&eth->dst_addr, &port_mac)) {
      drop(w, m, DropReason::kL2NotForUs);
      continue;
    }
    const uint16_t type = eth->ether_type;
    if (type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
      if (broadcast) {
        drop(w, m, DropReason::kBroadcastOrMulticast);
        continue;
      }
      const DropReason r = check_ipv4(m);
      if (r != DropReason::kCount) {
        drop(w, m, r);
        continue;
      }
      pkts[kept++] = m;
    } else if (type == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
      if (m->data_len < kEthLen + kArpLen) {
        drop(w, m, DropReason::kArpMalformed);
        continue;
      }
      punt_received(w, m, PuntReason::kArp, in_port);
    } else if (type == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
      drop(w, m, DropReason::kIpv6Unsupported);
    } else {
      drop(w, m, DropReason::kUnsupportedEthertype);
    }
  }
  pc.rx_packets.add(n);
  pc.rx_bytes.add(bytes);
  return kept;
}

}  // namespace meshplane::dataplane
