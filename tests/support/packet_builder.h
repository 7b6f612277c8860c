// Builds test frames in real mbufs and checks them with an independent RFC 1071
// checksum (not DPDK's), so a wrong incremental update cannot hide.
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace meshplane::testing {

inline uint16_t rfc1071(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (len & 1) sum += p[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);  // host order; 0 when data includes a valid checksum
}

struct Frame {
  rte_ether_addr dst{}, src{};
  uint16_t ether_type = RTE_ETHER_TYPE_IPV4;
  uint32_t ip_src = 0, ip_dst = 0;  // host order
  uint8_t ttl = 64;
  uint8_t proto = IPPROTO_UDP;
  uint16_t frag = 0;  // host order flags+offset
  std::vector<uint8_t> l4;  // ICMP/UDP header and payload, as given
};

inline std::vector<uint8_t> udp(uint16_t sport, uint16_t dport, size_t payload) {
  std::vector<uint8_t> v(8 + payload, 0xab);
  v[0] = sport >> 8, v[1] = sport & 0xff, v[2] = dport >> 8, v[3] = dport & 0xff;
  v[4] = (8 + payload) >> 8, v[5] = (8 + payload) & 0xff, v[6] = 0, v[7] = 0;  // checksum 0: none (RFC 768)
  return v;
}

inline std::vector<uint8_t> tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                                size_t payload) {
  std::vector<uint8_t> v(20 + payload, 0xcd);
  v[0] = sport >> 8, v[1] = sport & 0xff, v[2] = dport >> 8, v[3] = dport & 0xff;
  for (int i = 0; i < 4; ++i) v[4 + i] = seq >> (24 - 8 * i), v[8 + i] = ack >> (24 - 8 * i);
  v[12] = 5 << 4, v[13] = flags, v[14] = 0xff, v[15] = 0xff;  // window
  v[16] = v[17] = v[18] = v[19] = 0;                           // checksum (see with_l4_checksum), urgent
  return v;
}

// RFC 793/768 checksum over the pseudo-header and the L4 bytes, host order;
// 0 when `l4` already holds a correct checksum.
inline uint16_t l4_sum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t* l4, size_t len) {
  std::vector<uint8_t> buf(12 + len);
  for (int i = 0; i < 4; ++i) buf[i] = src >> (24 - 8 * i), buf[4 + i] = dst >> (24 - 8 * i);
  buf[8] = 0, buf[9] = proto, buf[10] = len >> 8, buf[11] = len & 0xff;
  std::memcpy(buf.data() + 12, l4, len);
  return rfc1071(buf.data(), buf.size());
}

inline uint16_t checksum_offset(uint8_t proto) { return proto == IPPROTO_TCP ? 16 : 6; }

inline std::vector<uint8_t> icmp_echo(uint16_t id, uint16_t seq, size_t payload) {
  std::vector<uint8_t> v(8 + payload, 0x5a);
  v[0] = 8, v[1] = 0, v[2] = 0, v[3] = 0, v[4] = id >> 8, v[5] = id & 0xff, v[6] = seq >> 8, v[7] = seq & 0xff;
  const uint16_t c = rfc1071(v.data(), v.size());
  v[2] = c >> 8, v[3] = c & 0xff;
  return v;
}

inline rte_mbuf* build(rte_mempool* pool, const Frame& f) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  const size_t ip_len = 20 + f.l4.size();
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(14 + ip_len)));
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
  eth->dst_addr = f.dst;
  eth->src_addr = f.src;
  eth->ether_type = rte_cpu_to_be_16(f.ether_type);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + 14);
  memset(ip, 0, 20);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(ip_len));
  ip->packet_id = rte_cpu_to_be_16(0x1234);
  ip->fragment_offset = rte_cpu_to_be_16(f.frag);
  ip->time_to_live = f.ttl;
  ip->next_proto_id = f.proto;
  ip->src_addr = rte_cpu_to_be_32(f.ip_src);
  ip->dst_addr = rte_cpu_to_be_32(f.ip_dst);
  const uint16_t c = rfc1071(ip, 20);
  ip->hdr_checksum = rte_cpu_to_be_16(c);
  memcpy(p + 34, f.l4.data(), f.l4.size());
  return m;
}

// The frame with a correct TCP/UDP checksum (computed here, independently of DPDK).
inline Frame with_l4_checksum(Frame f) {
  const uint16_t off = checksum_offset(f.proto);
  f.l4[off] = f.l4[off + 1] = 0;
  const uint16_t c = l4_sum(f.ip_src, f.ip_dst, f.proto, f.l4.data(), f.l4.size());
  f.l4[off] = c >> 8, f.l4[off + 1] = c & 0xff;
  return f;
}

// A routed packet made ready to be routed again (benchmarks loop one burst):
// TTL back to 255 with its checksum, and addressed to the gateway's port a.
inline void refresh_for_forwarding(rte_mbuf* m, const rte_ether_addr& gateway_mac) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
  ip->time_to_live = 255;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr = gateway_mac;
}

inline rte_ipv4_hdr* ipv4_of(rte_mbuf* m) { return rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, 14); }
inline rte_ether_hdr* eth_of(rte_mbuf* m) { return rte_pktmbuf_mtod(m, rte_ether_hdr*); }

// 0 when the TCP/UDP checksum of the IPv4 packet in `m` verifies.
inline uint16_t l4_sum_of(rte_mbuf* m) {
  const rte_ipv4_hdr* ip = ipv4_of(m);
  const size_t ihl = (ip->version_ihl & 0xf) * 4u;
  return l4_sum(rte_be_to_cpu_32(ip->src_addr), rte_be_to_cpu_32(ip->dst_addr), ip->next_proto_id,
                reinterpret_cast<const uint8_t*>(ip) + ihl, rte_be_to_cpu_16(ip->total_length) - ihl);
}

}  // namespace meshplane::testing
