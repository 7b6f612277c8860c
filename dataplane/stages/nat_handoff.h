// NAT source ports are split between workers, so a packet addressed to one
// of our NAT ports belongs to the worker whose share holds it. A worker that
// receives such a packet for a flow it does not have passes it to the owner's
// hand-off ring (multi-producer, single consumer). Routed connections use the
// same rings (dataplane/stages/routed_authz.cc).
#pragma once

#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/worker/packet_meta.h"
#include "dataplane/worker/tx.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// Passes `m` to worker `owner`, which takes it in at its load-balancer stage
// (or drops it, counted, when that worker's ring is full).
inline void hand_off(WorkerCtx& w, uint16_t in_port, rte_mbuf* m, uint32_t owner) {
  if (w.traced.n) [[unlikely]] trace_left(w, m, TraceEvent::kHandedOff, static_cast<uint16_t>(owner));
  meta(m).port = static_cast<uint8_t>(in_port);
  if (rte_ring_mp_enqueue(w.lb.handoff[owner], m) != 0)
    drop(w, m, DropReason::kHandoffRingFull);
  else
    w.counters->handed_off.add();
}

// True when `m` went (or was dropped) to another worker; false when the port
// is this worker's own or no NAT port at all.
inline bool hand_off_to_port_owner(WorkerCtx& w, uint16_t in_port, rte_mbuf* m, uint16_t nat_port_be) {
  const LbWorker& lb = w.lb;
  const uint32_t port = rte_be_to_cpu_16(nat_port_be);
  if (lb.workers < 2 || port < lb.nat_port_base) return false;
  const uint32_t owner = (port - lb.nat_port_base) / lb.nat_port_span;
  if (owner >= lb.workers || owner == w.worker_id) return false;
  hand_off(w, in_port, m, owner);
  return true;
}

}  // namespace meshplane::dataplane
