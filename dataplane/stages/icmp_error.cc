#include "dataplane/stages/icmp_error.h"

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include <algorithm>

#include "dataplane/net/icmp_types.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);
constexpr uint32_t kPrepend = sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr);

bool is_icmp_error_type(uint8_t type) {
  return type == kIcmpDestUnreachable || type == kIcmpSourceQuench || type == kIcmpRedirect ||
         type == kIcmpTimeExceeded || type == kIcmpParameterProblem;
}

// RFC 1812 4.3.2.7: no error about an ICMP error, a non-initial fragment, or a
// packet whose source does not name a single host (checked in parse).
bool error_allowed(const rte_mbuf* m, const rte_ipv4_hdr* ip) {
  if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) return false;
  if (ip->next_proto_id == IPPROTO_ICMP) {
    const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
    if (m->data_len < kEthLen + ihl + 1) return false;
    const uint8_t type = *(reinterpret_cast<const uint8_t*>(ip) + ihl);
    if (is_icmp_error_type(type)) return false;
  }
  return true;
}

}  // namespace

bool icmp_error(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m, uint8_t type, uint8_t code,
                uint16_t mtu) {
  const auto* orig = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
  if (m->nb_segs != 1 || !error_allowed(m, orig)) {
    w.counters->icmp_errors_suppressed.add();
    return false;
  }
  if (!w.icmp_errors.take_at(s.icmp_errors_per_second, s.icmp_errors_burst, rte_rdtsc(), rte_get_tsc_hz())) {
    w.counters->icmp_errors_suppressed.add();
    return false;
  }

  const uint32_t orig_src = orig->src_addr;  // network order, becomes the destination
  const uint32_t quote = std::min<uint32_t>(rte_be_to_cpu_16(orig->total_length), kIcmpQuoteLimit - kPrepend);
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - kEthLen - quote));
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, kPrepend));
  if (!eth) {  // no headroom: cannot happen with DPDK's default 128 bytes
    w.counters->icmp_errors_suppressed.add();
    return false;
  }
  // Layout now: [eth][ip][icmp][quoted original IP header + data]; the old
  // Ethernet header sat where the new IP and ICMP headers go.
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);

  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = 0xc0;  // internetwork control precedence, as routers send errors
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(kPrepend + quote));
  ip->packet_id = rte_cpu_to_be_16(w.ip_id++);
  ip->fragment_offset = 0;
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_ICMP;
  ip->src_addr = rte_cpu_to_be_32(s.ports[in_port].primary_address);
  ip->dst_addr = orig_src;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);

  icmp->icmp_type = type;
  icmp->icmp_code = code;
  icmp->icmp_cksum = 0;
  icmp->icmp_ident = 0;
  icmp->icmp_seq_nb = rte_cpu_to_be_16(mtu);  // RFC 1191: next-hop MTU in the low 16 bits
  icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, sizeof(*icmp) + quote));

  w.counters->icmp_errors_sent.add();
  w.graph.to(Stage::kRouteOriginated, m);
  return true;
}

void drop_with_icmp_error(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m, DropReason reason,
                          uint8_t type, uint8_t code, uint16_t mtu) {
  w.counters->drop(reason);
  if (!icmp_error(w, s, in_port, m, type, code, mtu)) discard(w, m);
}

}  // namespace meshplane::dataplane
