#include "dataplane/forward.h"

#include <rte_ether.h>
#include <rte_ip.h>

#include "dataplane/checksum.h"
#include "dataplane/icmp_error.h"
#include "dataplane/icmp_types.h"
#include "dataplane/neighbour_table.h"
#include "dataplane/packet_meta.h"
#include "dataplane/parse.h"
#include "dataplane/tx.h"

namespace meshplane::dataplane {

void route_packet(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m, bool transit) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);

  // RFC 1812 5.3.1: a router that would decrement TTL to zero discards and sends time exceeded.
  if (transit && ip->time_to_live <= 1) {
    drop_with_icmp_error(w, s, in_port, m, DropReason::kTtlExpired, kIcmpTimeExceeded, 0);
    return;
  }

  const uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
  const int32_t nh_index = s.route(dst);
  if (nh_index < 0) {
    if (transit)
      drop_with_icmp_error(w, s, in_port, m, DropReason::kNoRoute, kIcmpDestUnreachable, kIcmpNetUnreachable);
    else
      drop(w, m, DropReason::kNoRoute);
    return;
  }
  const NextHop nh = s.next_hops[nh_index];
  const PortView& out = s.ports[nh.port];

  const uint16_t ip_len = rte_be_to_cpu_16(ip->total_length);
  if (ip_len > out.mtu) {
    // RFC 1191: DF set -> "fragmentation needed" with the next-hop MTU. Without
    // DF a router would fragment; we do not fragment yet (counted, documented).
    if (transit && (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG)))
      drop_with_icmp_error(w, s, in_port, m, DropReason::kFragmentationNeeded, kIcmpDestUnreachable, kIcmpFragmentationNeeded, out.mtu);
    else
      drop(w, m, DropReason::kFragmentationNeeded);
    return;
  }

  if (transit) {
    // TTL is the high byte of the TTL/protocol word.
    const uint16_t old_word = *reinterpret_cast<const uint16_t*>(&ip->time_to_live);
    --ip->time_to_live;
    const uint16_t new_word = *reinterpret_cast<const uint16_t*>(&ip->time_to_live);
    ip->hdr_checksum = checksum_replace16(ip->hdr_checksum, old_word, new_word);
  }

  const uint32_t next_hop = nh.gateway ? nh.gateway : dst;
  const NeighbourLink link = w.neighbours->lookup(nh.port, next_hop);
  rte_ether_addr_copy(&out.mac, &eth->src_addr);
  if (neighbour_usable(link.state)) {
    rte_ether_addr_copy(&link.mac, &eth->dst_addr);
    w.counters->forwarded.add();
    tx_enqueue(w, nh.port, m);
    return;
  }
  if (link.state == NeighbourState::kIncomplete) {
    // Resolution is under way and the control thread already holds the first packets.
    drop(w, m, DropReason::kNeighbourUnresolved);
    return;
  }
  PacketMeta& pm = meta(m);
  pm.reason = PuntReason::kResolve;
  pm.port = static_cast<uint8_t>(nh.port);
  pm.next_hop = next_hop;
  punt(w, m);
}

uint16_t forward_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf** pkts, uint16_t n) {
  for (uint16_t i = 0; i < n; ++i) route_packet(w, s, in_port, pkts[i], true);
  return 0;
}

}  // namespace meshplane::dataplane
