#include "dataplane/net/ipip.h"

#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_ip.h>

namespace meshplane::dataplane {

bool ipip_encapsulate(rte_mbuf* m, uint32_t outer_src, uint32_t outer_dst, uint16_t id) {
  const rte_ether_hdr eth = *rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (!rte_pktmbuf_prepend(m, sizeof(rte_ipv4_hdr))) return false;
  auto* out_eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  *out_eth = eth;
  auto* outer = reinterpret_cast<rte_ipv4_hdr*>(out_eth + 1);
  const auto* inner = outer + 1;
  outer->version_ihl = RTE_IPV4_VHL_DEF;
  outer->type_of_service = inner->type_of_service;
  outer->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(rte_be_to_cpu_16(inner->total_length) + sizeof(rte_ipv4_hdr)));
  outer->packet_id = rte_cpu_to_be_16(id);
  outer->fragment_offset = inner->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
  outer->time_to_live = 64;
  outer->next_proto_id = IPPROTO_IPIP;
  outer->src_addr = outer_src;
  outer->dst_addr = outer_dst;
  outer->hdr_checksum = 0;
  outer->hdr_checksum = rte_ipv4_cksum(outer);
  return true;
}

}  // namespace meshplane::dataplane
