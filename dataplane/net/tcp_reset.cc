#include "dataplane/net/tcp_reset.h"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include <netinet/in.h>

#include <cstring>

#include "dataplane/net/tcp_flags.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);
constexpr uint32_t kIpLen = sizeof(rte_ipv4_hdr);

}  // namespace

bool make_tcp_reset(rte_mbuf* m, uint16_t id) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(reinterpret_cast<uint8_t*>(ip) + ihl);
  const uint8_t flags = tcp->tcp_flags;
  if (flags & kTcpRst) return false;

  const uint32_t data_off = (tcp->data_off >> 4) * 4u;
  const uint32_t seg_len = rte_be_to_cpu_16(ip->total_length) - ihl - data_off + ((flags & kTcpSyn) ? 1 : 0) +
                           ((flags & kTcpFin) ? 1 : 0);
  rte_tcp_hdr reset{};
  reset.src_port = tcp->dst_port;
  reset.dst_port = tcp->src_port;
  if (flags & kTcpAck) {
    reset.sent_seq = tcp->recv_ack;
    reset.tcp_flags = kTcpRst;
  } else {
    reset.recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(tcp->sent_seq) + seg_len);
    reset.tcp_flags = kTcpRst | kTcpAck;
  }
  reset.data_off = 5 << 4;

  const rte_be32_t sender = ip->src_addr;
  ip->src_addr = ip->dst_addr;
  ip->dst_addr = sender;
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = 0;
  ip->total_length = RTE_BE16(kIpLen + sizeof(rte_tcp_hdr));
  ip->packet_id = rte_cpu_to_be_16(id);
  ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = 64;
  auto* out = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
  std::memcpy(out, &reset, sizeof reset);
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - (kEthLen + kIpLen + sizeof(rte_tcp_hdr))));
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  out->cksum = rte_ipv4_udptcp_cksum(ip, out);
  return true;
}

bool write_tcp_reset(rte_mbuf* m, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq,
                     uint16_t id) {
  constexpr uint16_t kLen = kEthLen + kIpLen + sizeof(rte_tcp_hdr);
  if (rte_pktmbuf_data_room_size(m->pool) < RTE_PKTMBUF_HEADROOM + kLen) return false;
  if (m->next) {
    rte_pktmbuf_free(m->next);
    m->next = nullptr;
    m->nb_segs = 1;
  }
  if (rte_pktmbuf_tailroom(m) + m->data_len < kLen) rte_pktmbuf_reset_headroom(m);
  m->data_len = m->pkt_len = kLen;
  m->ol_flags = 0;
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  std::memset(eth, 0, kEthLen);
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  *ip = {};
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = RTE_BE16(kIpLen + sizeof(rte_tcp_hdr));
  ip->packet_id = rte_cpu_to_be_16(id);
  ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_TCP;
  ip->src_addr = src;
  ip->dst_addr = dst;
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
  *tcp = {};
  tcp->src_port = sport;
  tcp->dst_port = dport;
  tcp->sent_seq = seq;
  tcp->data_off = 5 << 4;
  tcp->tcp_flags = kTcpRst;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
  return true;
}

}  // namespace meshplane::dataplane
