#include "dataplane/stages/lb_icmp.h"

#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include <cstring>

#include "dataplane/net/checksum.h"
#include "dataplane/tables/flow_table.h"
#include "dataplane/net/icmp_types.h"
#include "dataplane/net/l4_rewrite.h"
#include "dataplane/net/tcp_flags.h"
#include "dataplane/stages/flow_accounting.h"
#include "dataplane/stages/nat_handoff.h"

namespace meshplane::dataplane {
namespace {

// "Unreachable" about a SYN we sent to an endpoint: a failed connection
// attempt for outlier detection, counted once (the flow is reset, so a
// retransmitted SYN from the client is scheduled afresh and the flow's
// expiry does not count it again). Path MTU messages are not failures.
void endpoint_unreachable(WorkerCtx& w, uint32_t f) {
  const Flow& flow = w.lb.flows->flow(f);
  if (flow.state != FlowState::kSynSent || flow.routed()) return;
  w.lb.endpoints[flow.endpoint].connect_failures.add();
  touch_flow(w, f, 1, kTcpRst, 0);
}

}  // namespace

bool lb_relay_icmp_error(WorkerCtx& w, uint16_t in_port, rte_mbuf* m) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
  if (ip->next_proto_id != IPPROTO_ICMP || m->nb_segs != 1 || !w.lb.flows) return false;
  if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) return false;
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  const uint32_t icmp_len = rte_be_to_cpu_16(ip->total_length) - ihl;
  auto* icmp = reinterpret_cast<uint8_t*>(ip) + ihl;
  if (icmp_len < 8 + sizeof(rte_ipv4_hdr) + 8) return false;  // RFC 792: the quote has 8 bytes past the header
  if (icmp[0] != kIcmpDestUnreachable && icmp[0] != kIcmpTimeExceeded) return false;
  auto* inner = reinterpret_cast<rte_ipv4_hdr*>(icmp + 8);
  const uint32_t inner_ihl = (inner->version_ihl & 0xf) * 4u;
  if ((inner->version_ihl >> 4) != 4 || inner_ihl < sizeof(rte_ipv4_hdr) || icmp_len < 8 + inner_ihl + 8) return false;
  const uint8_t proto = inner->next_proto_id;
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return false;
  auto* l4 = reinterpret_cast<uint8_t*>(inner) + inner_ihl;
  auto* ports = reinterpret_cast<uint16_t*>(l4);

  // The quoted packet went NAT address:port -> endpoint: its reverse is the flow's reply key.
  const FlowKey reply{inner->dst_addr, inner->src_addr, ports[1], ports[0], proto};
  const FlowTable::Hit hit = w.lb.flows->lookup(reply);
  if (hit.flow == FlowTable::kNone || hit.direction != 1) return hand_off_to_port_owner(w, in_port, m, ports[0]);
  const FlowKey& original = w.lb.flows->flow(hit.flow).key[0];  // client -> VIP, as the client sent it
  if (proto == IPPROTO_TCP && icmp[0] == kIcmpDestUnreachable && icmp[1] != kIcmpFragmentationNeeded)
    endpoint_unreachable(w, hit.flow);

  // Inner header back to what the client sent. The quoted L4 checksum is
  // patched when the quote holds it (UDP always; TCP when 18 bytes are quoted).
  const uint32_t addresses = checksum_delta32(inner->src_addr, original.src_addr) +
                             checksum_delta32(inner->dst_addr, original.dst_addr);
  const uint32_t all = addresses + checksum_delta16(ports[0], original.src_port) +
                       checksum_delta16(ports[1], original.dst_port);
  const uint32_t l4_quoted = icmp_len - 8 - inner_ihl;
  uint16_t* l4_ck = l4_checksum(l4, proto);
  if (proto == IPPROTO_UDP ? *l4_ck != 0 : l4_quoted >= 18) *l4_ck = checksum_apply(*l4_ck, all);
  inner->hdr_checksum = checksum_apply(inner->hdr_checksum, addresses);
  inner->src_addr = original.src_addr;
  inner->dst_addr = original.dst_addr;
  ports[0] = original.src_port;
  ports[1] = original.dst_port;

  // The message covers the quote, so its checksum is computed again (at most 576 bytes).
  icmp[2] = icmp[3] = 0;
  const uint16_t ck = static_cast<uint16_t>(~rte_raw_cksum(icmp, icmp_len));
  std::memcpy(icmp + 2, &ck, 2);
  ip->hdr_checksum = checksum_apply(ip->hdr_checksum, checksum_delta32(ip->dst_addr, original.src_addr));
  ip->dst_addr = original.src_addr;
  w.counters->icmp_errors_relayed.add();
  w.graph.to(Stage::kRoute, m);
  return true;
}

}  // namespace meshplane::dataplane
