#include "dataplane/stages/access.h"

#include <rte_acl.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ring_elem.h>
#include <rte_tcp.h>

#include "dataplane/net/icmp_types.h"
#include "dataplane/net/tcp_reset.h"
#include "dataplane/stages/icmp_error.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);

// A TCP segment with its whole header in the first segment: one a RST can answer.
bool resettable(const rte_mbuf* m) {
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
  if (ip->next_proto_id != IPPROTO_TCP || m->nb_segs != 1) return false;
  if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) return false;
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  return rte_be_to_cpu_16(ip->total_length) >= ihl + sizeof(rte_tcp_hdr) &&
         m->data_len >= kEthLen + ihl + sizeof(rte_tcp_hdr);
}

}  // namespace

void reject_packet(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m, DropReason reason) {
  if (resettable(m)) {
    if (make_tcp_reset(m, w.ip_id++)) {
      w.counters->drop(reason);
      w.graph.to(Stage::kRouteOriginated, m);
    } else {
      drop(w, m, reason);  // a RST is never answered
    }
    return;
  }
  drop_with_icmp_error(w, s, in_port, m, reason, kIcmpDestUnreachable,
                       kIcmpAdministrativelyProhibited);
}

void send_log(WorkerCtx& w, const Snapshot& s, AccessLogRecord& r) {
  if (w.access_log_rate != s.access.log_per_second) {
    w.access_log_bucket.configure(s.access.log_per_second, s.access.log_per_second, rte_get_tsc_hz());
    w.access_log_rate = s.access.log_per_second;
  }
  if (w.access_log && w.access_log_bucket.take(rte_rdtsc()) &&
      rte_ring_sp_enqueue_elem(w.access_log, &r, sizeof r) == 0)
    w.counters->access_logged.add();
  else
    w.counters->access_log_suppressed.add();
}

uint16_t access_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  const AccessView& a = s.access;
  if (!a.active()) return in.n;
  AccessKey keys[kRxBurst];
  const uint8_t* data[kRxBurst];
  uint32_t results[kRxBurst] = {};
  for (uint16_t i = 0; i < in.n; ++i) {
    keys[i] = access_key(in.pkts[i], in_port);
    data[i] = reinterpret_cast<const uint8_t*>(&keys[i]);
  }
  if (a.classifier) rte_acl_classify(a.classifier, data, results, in.n, 1);
  Counter* hits = a.hits + size_t{w.worker_id} * a.hit_stride;
  uint16_t kept = 0;
  for (uint16_t i = 0; i < in.n; ++i) {
    rte_mbuf* m = in.pkts[i];
    AccessVerdict verdict = a.default_verdict;
    if (const uint32_t matched = results[i]) {
      const uint32_t rule = matched - 1;
      const AccessRuleView& r = a.rules[rule];
      verdict = r.verdict;
      hits[rule].add();
      if (r.log) {
        AccessLogRecord record{a.table, rule, keys[i], verdict, LogKind::kAccess, {}};
        send_log(w, s, record);
      }
    }
    switch (verdict) {
      case AccessVerdict::kAllow:
        in.pkts[kept++] = m;
        break;
      case AccessVerdict::kDeny:
        drop(w, m, DropReason::kAccessDenied);
        break;
      case AccessVerdict::kReject:
        reject_packet(w, s, in_port, m, DropReason::kAccessRejected);
        break;
    }
  }
  return kept;
}

}  // namespace meshplane::dataplane
