// TCP MSS clamping (as routers do on tunnel entry, RFC 4459 section 3.2): a
// SYN's maximum segment size option is lowered to what fits, its checksum
// patched (RFC 1624).
#pragma once

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include <cstdint>
#include <cstring>

#include "dataplane/net/checksum.h"
#include "dataplane/net/tcp_flags.h"

namespace meshplane::dataplane {

// Lowers the MSS option of the TCP SYN in `ip` (first fragment, header
// within `len` bytes) to `mss` if larger. True when it changed.
inline bool clamp_tcp_mss(rte_ipv4_hdr* ip, uint32_t len, uint16_t mss) {
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  if (ip->next_proto_id != IPPROTO_TCP || (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) ||
      len < ihl + sizeof(rte_tcp_hdr))
    return false;
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(reinterpret_cast<uint8_t*>(ip) + ihl);
  if (!(tcp->tcp_flags & kTcpSyn)) return false;
  const uint32_t thl = (tcp->data_off >> 4) * 4u;
  if (thl < sizeof(rte_tcp_hdr) || ihl + thl > len) return false;
  uint8_t* opt = reinterpret_cast<uint8_t*>(tcp) + sizeof(rte_tcp_hdr);
  const uint8_t* end = reinterpret_cast<uint8_t*>(tcp) + thl;
  while (opt < end) {
    if (*opt == 0) return false;  // end of options
    if (*opt == 1) {              // no-op
      ++opt;
      continue;
    }
    if (opt + 1 >= end || opt[1] < 2 || opt + opt[1] > end) return false;
    if (opt[0] == 2 && opt[1] == 4) {  // MSS
      uint16_t old_be;
      std::memcpy(&old_be, opt + 2, 2);
      if (rte_be_to_cpu_16(old_be) <= mss) return false;
      const uint16_t new_be = rte_cpu_to_be_16(mss);
      std::memcpy(opt + 2, &new_be, 2);
      // The option may start at an odd offset: patch with the 16-bit words as they sit.
      const size_t at = static_cast<size_t>(opt + 2 - reinterpret_cast<uint8_t*>(tcp));
      if (at % 2 == 0) {
        tcp->cksum = checksum_replace16(tcp->cksum, old_be, new_be);
      } else {
        tcp->cksum = 0;
        tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
      }
      return true;
    }
    opt += opt[1];
  }
  return false;
}

}  // namespace meshplane::dataplane
