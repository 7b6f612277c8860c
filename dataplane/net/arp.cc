#include "dataplane/net/arp.h"

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_mempool.h>

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kFrameLen = sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr);

}  // namespace

std::optional<ArpMessage> arp_parse(const rte_mbuf* m) {
  if (m->data_len < kFrameLen) return std::nullopt;
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_ARP)) return std::nullopt;
  const auto* arp = reinterpret_cast<const rte_arp_hdr*>(eth + 1);
  if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) || arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
      arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
    return std::nullopt;
  const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
  if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) return std::nullopt;
  ArpMessage msg;
  msg.op = op;
  msg.sender_mac = arp->arp_data.arp_sha;
  msg.sender_ip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
  msg.target_mac = arp->arp_data.arp_tha;
  msg.target_ip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
  return msg;
}

void arp_make_reply(rte_mbuf* m, const rte_ether_addr& our_mac, uint32_t our_ip) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_tha = arp->arp_data.arp_sha;
  arp->arp_data.arp_tip = arp->arp_data.arp_sip;
  arp->arp_data.arp_sha = our_mac;
  arp->arp_data.arp_sip = rte_cpu_to_be_32(our_ip);
  eth->dst_addr = arp->arp_data.arp_tha;
  eth->src_addr = our_mac;
  if (m->pkt_len > kFrameLen) rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - kFrameLen));
}

rte_mbuf* arp_build_request(rte_mempool* pool, const rte_ether_addr& our_mac, uint32_t our_ip, uint32_t target_ip,
                            const rte_ether_addr* unicast_to) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (!m) return nullptr;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, kFrameLen));
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  if (unicast_to)
    eth->dst_addr = *unicast_to;
  else
    memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
  eth->src_addr = our_mac;
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
  arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = RTE_ETHER_ADDR_LEN;
  arp->arp_plen = 4;
  arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
  arp->arp_data.arp_sha = our_mac;
  arp->arp_data.arp_sip = rte_cpu_to_be_32(our_ip);
  memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
  arp->arp_data.arp_tip = rte_cpu_to_be_32(target_ip);
  return m;
}

}  // namespace meshplane::dataplane
