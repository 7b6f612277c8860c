// One received burst through the stages, in packet-path order.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// Consumes all `n` packets: each is queued for transmit, punted or dropped.
// Transmit queues are flushed by the caller (worker loop) once per iteration.
void pipeline_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf** pkts, uint16_t n);

// Packets the control thread wants on the wire (ARP, packets held while their
// next hop was resolved), from this worker's inject ring: they enter the graph
// at egress (routed already). Returns how many.
uint16_t inject_process(WorkerCtx& w, const Snapshot& s);

}  // namespace meshplane::dataplane
