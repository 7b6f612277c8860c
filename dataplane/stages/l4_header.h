// Reading a TCP or UDP packet's ports for the stages that keep flows (lb.cc,
// routed_authz.cc): the header is read only when all of it is in the first
// segment and within the packet's stated length.
#pragma once

#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/tables/flow_table.h"

namespace meshplane::dataplane {

// The L4 header of `ip` (a TCP or UDP packet in `m`), or null when short.
inline uint8_t* whole_l4_header(const rte_mbuf* m, rte_ipv4_hdr* ip) {
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  const uint32_t l4_len = ip->next_proto_id == IPPROTO_TCP ? sizeof(rte_tcp_hdr) : sizeof(rte_udp_hdr);
  if (rte_be_to_cpu_16(ip->total_length) < ihl + l4_len || m->data_len < sizeof(rte_ether_hdr) + ihl + l4_len)
    return nullptr;
  return reinterpret_cast<uint8_t*>(ip) + ihl;
}

// The packet's 5-tuple (network order), from the header whole_l4_header gave.
inline FlowKey flow_key_of(const rte_ipv4_hdr* ip, const uint8_t* l4) {
  const auto* ports = reinterpret_cast<const uint16_t*>(l4);
  return FlowKey{ip->src_addr, ip->dst_addr, ports[0], ports[1], ip->next_proto_id};
}

// Its TCP flags; 0 for UDP.
inline uint8_t tcp_flags_of(const rte_ipv4_hdr* ip, const uint8_t* l4) {
  return ip->next_proto_id == IPPROTO_TCP ? reinterpret_cast<const rte_tcp_hdr*>(l4)->tcp_flags : 0;
}

}  // namespace meshplane::dataplane
