// In-place rewrites of IPv4 TCP/UDP headers with incremental checksum updates
// (RFC 1624): NAT's tuple rewrite and a router's TTL decrement.
#pragma once

#include <netinet/in.h>
#include <cstddef>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/net/checksum.h"

namespace meshplane::dataplane {

// The L4 checksum field: bytes 16-17 of a TCP header, 6-7 of a UDP header
// (IPv4 and L4 headers are 2-byte aligned in the frame).
inline uint16_t* l4_checksum(void* l4, uint8_t proto) {
  return static_cast<uint16_t*>(l4) + (proto == IPPROTO_TCP ? offsetof(rte_tcp_hdr, cksum) : offsetof(rte_udp_hdr, dgram_cksum)) / 2;
}

// Sets source and destination address and port (all network byte order) of
// a TCP or UDP packet. The IP header checksum and the L4 checksum (whose
// pseudo-header covers the addresses) are patched, not recomputed; a UDP
// checksum of 0 (none, RFC 768) stays 0.
inline void rewrite_tuple(rte_ipv4_hdr* ip, void* l4, uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst,
                          uint16_t dport) {
  auto* ports = static_cast<uint16_t*>(l4);  // source then destination port, for TCP and UDP alike
  // The address change is common to both checksums (the pseudo-header holds the addresses).
  const uint32_t addresses = checksum_delta32(ip->src_addr, src) + checksum_delta32(ip->dst_addr, dst);
  uint16_t* ck = l4_checksum(l4, proto);
  if (proto == IPPROTO_TCP || *ck != 0) {
    uint16_t c = checksum_apply(
        *ck, addresses + checksum_delta16(ports[0], sport) + checksum_delta16(ports[1], dport));
    if (proto == IPPROTO_UDP && c == 0) c = 0xffff;  // 0 would mean "no checksum"
    *ck = c;
  }
  ip->hdr_checksum = checksum_apply(ip->hdr_checksum, addresses);
  ip->src_addr = src;
  ip->dst_addr = dst;
  ports[0] = sport;
  ports[1] = dport;
}

// Decrements TTL as a router does, patching the header checksum.
inline void decrement_ttl(rte_ipv4_hdr* ip) {
  const uint16_t old_word = *reinterpret_cast<const uint16_t*>(&ip->time_to_live);
  --ip->time_to_live;
  ip->hdr_checksum = checksum_replace16(ip->hdr_checksum, old_word, *reinterpret_cast<const uint16_t*>(&ip->time_to_live));
}

}  // namespace meshplane::dataplane
