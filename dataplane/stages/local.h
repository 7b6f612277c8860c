// Stage 2: traffic addressed to the gateway itself (RFC 1122 3.2.2, RFC 1812
// 4.3.3.6): ICMP echo is answered, UDP gets port unreachable, other protocols
// protocol unreachable (TCP is dropped: no local listener, and a RST would
// tell scanners more than we need). Directed broadcasts are dropped.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/worker/graph.h"
#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// The kLocal stage: answers packets for the gateway; keeps transit packets for routing.
uint16_t local_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

}  // namespace meshplane::dataplane
