// The access stage: stateless access rules on every packet after decryption
// and before load balancing, a burst at a time through rte_acl. Allowed
// packets go on; denied ones are dropped; rejected ones are answered (TCP
// RST, or ICMP "communication administratively prohibited") and dropped.
// A rule with `log` sends a record to the control thread, rate limited.
#pragma once

#include <cstdint>

#include "dataplane/stages/access_key.h"
#include "dataplane/tables/access_view.h"
#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/graph.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

enum class LogKind : uint8_t {
  kAccess,      // an access rule with `log` matched a packet
  kAuthzAudit,  // an audit rule of a service's authorization matched a new connection
  kRoutedAudit,  // an audit rule of a destination's authorization matched a routed connection (or packet)
};

// What a worker tells the control thread about a packet a `log` rule (or an
// audit rule) matched.
struct AccessLogRecord {
  uint32_t table;  // kAccess: AccessView::table, whose rules `rule` indexes; kAuthzAudit: the service slot;
                   // kRoutedAudit: the policy (1-based, AuthzView::destination_policy)
  uint32_t rule;   // kAuthzAudit, kRoutedAudit: index into AuthzView::rules
  AccessKey key;
  AccessVerdict verdict;
  LogKind kind;
  uint8_t unused[2];
};
static_assert(sizeof(AccessLogRecord) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

// Hands a record to the control thread, within the per-worker rate
// (s.access.log_per_second) and the ring's room; otherwise counts it as suppressed.
void send_log(WorkerCtx& w, const Snapshot& s, AccessLogRecord& r);

// Drops `m`, counted as `reason`, answering it: a TCP segment with a RST, anything
// else with ICMP "communication administratively prohibited" (rate limited).
void reject_packet(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m, DropReason reason);

uint16_t access_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

}  // namespace meshplane::dataplane
