#include "dataplane/stages/local.h"

#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_cycles.h>
#include <rte_ip.h>

#include <algorithm>

#include "dataplane/net/checksum.h"
#include "dataplane/stages/icmp_error.h"
#include "dataplane/stages/parse.h"
#include "dataplane/worker/packet_meta.h"
#include "dataplane/net/icmp_types.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);

void echo_reply(WorkerCtx& w, rte_mbuf* m, rte_ipv4_hdr* ip, uint32_t ihl) {
  const uint32_t icmp_len = rte_be_to_cpu_16(ip->total_length) - ihl;
  auto* icmp = reinterpret_cast<rte_icmp_hdr*>(reinterpret_cast<uint8_t*>(ip) + ihl);
  if (icmp_len < sizeof(rte_icmp_hdr) || m->nb_segs != 1 || rte_raw_cksum(icmp, icmp_len) != 0xffff) {
    drop(w, m, DropReason::kBadIcmp);
    return;
  }
  // Type 8 -> 0 changes the type/code word only: patch the checksum (RFC 1624).
  const uint16_t old_word = *reinterpret_cast<const uint16_t*>(icmp);
  icmp->icmp_type = kIcmpEchoReply;
  icmp->icmp_cksum = checksum_replace16(icmp->icmp_cksum, old_word, *reinterpret_cast<const uint16_t*>(icmp));

  const rte_be32_t requester = ip->src_addr;
  ip->src_addr = ip->dst_addr;
  ip->dst_addr = requester;
  ip->time_to_live = 64;
  ip->fragment_offset = 0;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  w.counters->icmp_echo_replies.add();
  w.graph.to(Stage::kRouteOriginated, m);
}

// With an exception path, a packet the gateway does not serve goes to the
// host's kernel (punted to the control thread, which owns the TAPs), within
// the per-worker rate. False: there is none, the caller handles it.
bool to_host(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m) {
  if (!s.host_packets_per_second) return false;
  if (!w.host_bucket.take_at(s.host_packets_per_second, std::max<uint32_t>(s.host_packets_per_second / 10, 32),
                             rte_rdtsc(), rte_get_tsc_hz())) {
    drop(w, m, DropReason::kExceptionLimited);
    return true;
  }
  punt_received(w, m, PuntReason::kHost, in_port);
  return true;
}

void deliver_local(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
    if (!to_host(w, s, in_port, m))  // the host's kernel reassembles; the gateway does not
      drop(w, m, DropReason::kLocalNotServed);
    return;
  }
  switch (ip->next_proto_id) {
    case IPPROTO_ICMP: {
      const auto* type = reinterpret_cast<const uint8_t*>(ip) + ihl;
      if (rte_be_to_cpu_16(ip->total_length) > ihl && *type == kIcmpEchoRequest) {
        echo_reply(w, m, ip, ihl);
        return;
      }
      if (!to_host(w, s, in_port, m))  // echo replies and errors for the host's own pings and connections
        drop(w, m, DropReason::kLocalNotServed);
      return;
    }
    case IPPROTO_TCP:
      if (!to_host(w, s, in_port, m)) drop(w, m, DropReason::kLocalNotServed);
      return;
    default: {
      if (to_host(w, s, in_port, m)) return;
      const uint8_t code = ip->next_proto_id == IPPROTO_UDP ? kIcmpPortUnreachable : kIcmpProtocolUnreachable;
      drop_with_icmp_error(w, s, in_port, m, DropReason::kLocalNotServed, kIcmpDestUnreachable, code);
      return;
    }
  }
}

}  // namespace

uint16_t local_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  uint16_t kept = 0;
  for (uint16_t i = 0; i < in.n; ++i) {
    rte_mbuf* m = in.pkts[i];
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
    const uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
    if (s.local(dst)) {
      deliver_local(w, s, in_port, m);
    } else if (s.directed_broadcast(dst)) {
      drop(w, m, DropReason::kBroadcastOrMulticast);
    } else {
      in.pkts[kept++] = m;
    }
  }
  return kept;
}

}  // namespace meshplane::dataplane
