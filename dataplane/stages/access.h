// The access stage: stateless access rules on every packet after decryption
// and before load balancing, a burst at a time through rte_acl. Allowed
// packets go on; denied ones are dropped; rejected ones are answered (TCP
// RST, or ICMP "communication administratively prohibited") and dropped.
// A rule with `log` sends a record to the control thread, rate limited.
#pragma once

#include <cstdint>

#include "dataplane/tables/access_view.h"
#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/graph.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// What a worker tells the control thread about a packet a `log` rule matched.
struct AccessLogRecord {
  uint32_t table;  // AccessView::table: whose rules `rule` indexes
  uint32_t rule;
  AccessKey key;
  AccessVerdict verdict;
  uint8_t unused[3];
};
static_assert(sizeof(AccessLogRecord) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

// The classifier input for `m`, a valid IPv4 packet (parse stage) from policy port `port`.
AccessKey access_key(const rte_mbuf* m, uint16_t port);

uint16_t access_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

}  // namespace meshplane::dataplane
