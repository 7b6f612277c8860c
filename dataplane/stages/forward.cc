#include "dataplane/stages/forward.h"

#include <rte_ether.h>
#include <rte_ip.h>

#include "dataplane/net/checksum.h"
#include "dataplane/stages/icmp_error.h"
#include "dataplane/net/icmp_types.h"
#include "dataplane/tables/neighbour_table.h"
#include "dataplane/worker/packet_meta.h"
#include "dataplane/stages/parse.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {

namespace {

enum class Origin {
  kTransit,       // forwarded: TTL handling, ICMP errors about it
  kOriginated,    // the gateway's own (replies, errors, resets): neither
  kEncapsulated,  // the gateway's own ESP to a peer: neither; its next hop comes resolved (never a tunnel)
};

// True when `m` is routed and rewritten, for egress; false when it went
// elsewhere (into a tunnel: to kEncrypt). One copy per origin, so none pays
// for another's branches.
template <Origin origin>
bool route(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m) {
  constexpr bool transit = origin == Origin::kTransit;
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);

  // RFC 1812 5.3.1: a router that would decrement TTL to zero discards and sends time exceeded.
  if (transit && ip->time_to_live <= 1) {
    drop_with_icmp_error(w, s, in_port, m, DropReason::kTtlExpired, kIcmpTimeExceeded, 0);
    return false;
  }

  const uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
  // ESP to a peer: the encrypt stage left the peer's next hop (routed when the snapshot was compiled).
  const int32_t nh_index = origin == Origin::kEncapsulated ? static_cast<int32_t>(m->hash.usr) : s.route(dst);
  if (nh_index < 0) {
    if constexpr (transit)
      drop_with_icmp_error(w, s, in_port, m, DropReason::kNoRoute, kIcmpDestUnreachable, kIcmpNetUnreachable);
    else
      drop(w, m, DropReason::kNoRoute);
    return false;
  }
  const NextHop& nh = s.next_hops[nh_index];
  const PortView& out = s.ports[nh.port];
  const uint16_t mtu = nh.mtu;  // into a tunnel: what is left once ESP is added

  const uint16_t ip_len = rte_be_to_cpu_16(ip->total_length);
  if (ip_len > mtu) {
    // RFC 1191: DF set -> "fragmentation needed" with the next-hop MTU. Without
    // DF a router would fragment; we do not fragment yet (counted, documented).
    if (transit && (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG)))
      drop_with_icmp_error(w, s, in_port, m, DropReason::kFragmentationNeeded, kIcmpDestUnreachable, kIcmpFragmentationNeeded, mtu);
    else
      drop(w, m, DropReason::kFragmentationNeeded);
    return false;
  }

  if constexpr (transit) {
    // TTL is the high byte of the TTL/protocol word.
    const uint16_t old_word = *reinterpret_cast<const uint16_t*>(&ip->time_to_live);
    --ip->time_to_live;
    const uint16_t new_word = *reinterpret_cast<const uint16_t*>(&ip->time_to_live);
    ip->hdr_checksum = checksum_replace16(ip->hdr_checksum, old_word, new_word);
  }
  if (nh.tunnel) {
    m->hash.usr = nh.tunnel - 1u;
    w.graph.to(Stage::kEncrypt, m);
    return false;
  }

  const uint32_t next_hop = nh.gateway ? nh.gateway : dst;
  const NeighbourLink link = w.neighbours->lookup(nh.port, next_hop);
  rte_ether_addr_copy(&out.mac, &eth->src_addr);
  if (neighbour_usable(link.state)) {
    rte_ether_addr_copy(&link.mac, &eth->dst_addr);
    w.counters->forwarded.add();
    m->port = nh.port;
    return true;
  }
  if (link.state == NeighbourState::kIncomplete) {
    // Resolution is under way and the control thread already holds the first packets.
    drop(w, m, DropReason::kNeighbourUnresolved);
    return false;
  }
  PacketMeta& pm = meta(m);
  pm.reason = PuntReason::kResolve;
  pm.port = static_cast<uint8_t>(nh.port);
  pm.next_hop = next_hop;
  punt(w, m);
  return false;
}

template <Origin origin>
uint16_t route_burst(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  uint16_t kept = 0;
  for (uint16_t i = 0; i < in.n; ++i)
    if (route<origin>(w, s, in_port, in.pkts[i])) in.pkts[kept++] = in.pkts[i];
  return kept;
}

}  // namespace

uint16_t route_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  return route_burst<Origin::kTransit>(w, s, in_port, in);
}

uint16_t route_originated_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  return route_burst<Origin::kOriginated>(w, s, in_port, in);
}

uint16_t route_encrypted_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  return route_burst<Origin::kEncapsulated>(w, s, in_port, in);
}

}  // namespace meshplane::dataplane
