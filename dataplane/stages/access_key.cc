#include "dataplane/stages/access_key.h"

#include <rte_ether.h>
#include <rte_ip.h>

#include <cstring>

namespace meshplane::dataplane {

namespace {
constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);
}  // namespace

AccessKey access_key(const rte_mbuf* m, uint16_t port) {
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
  AccessKey k{ip->next_proto_id, {}, ip->src_addr, ip->dst_addr, 0, 0, rte_cpu_to_be_32(port)};
  const bool first_fragment = (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) == 0;
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  if (!first_fragment || ihl < sizeof(rte_ipv4_hdr) || m->data_len < kEthLen + ihl + 4 ||
      rte_be_to_cpu_16(ip->total_length) < ihl + 4)
    return k;
  const auto* l4 = rte_pktmbuf_mtod_offset(m, const uint8_t*, kEthLen + ihl);
  switch (ip->next_proto_id) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
    case IPPROTO_SCTP:
      std::memcpy(&k.source_port, l4, 4);  // both ports, network order
      break;
    case IPPROTO_ICMP:
      // Type and code, each in the low byte of a port field as rules see it.
      k.source_port = rte_cpu_to_be_16(l4[0]);
      k.destination_port = rte_cpu_to_be_16(l4[1]);
      break;
    default:
      break;
  }
  return k;
}

}  // namespace meshplane::dataplane
