// Full NAT's source (address, port) for a new flow. NAT source ports are split
// between workers (LbWorker::nat_port_base/span), so a reply's port names the
// worker that holds its flow; addresses step through the endpoint's NAT pool.
// A try succeeds when no flow of this worker already uses that (address,
// port) towards the endpoint and protocol.
#pragma once

#include <rte_byteorder.h>

#include <cstdint>

#include "dataplane/worker/drop_reason.h"
#include "dataplane/tables/flow_table.h"
#include "dataplane/tables/lb_view.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// What a new NAT flow asks for: its client's 5-tuple and hash, the endpoint,
// the listener's target port (network order), and the first port to try
// (an offset into this worker's share, from nat_first_offset()).
struct NatRequest {
  const FlowKey* original;
  uint32_t hash;
  const LbEndpoint* endpoint;
  uint16_t target_port;
  uint16_t first_offset;
};

// Hands out the first port offset to try, in turn, so a share fills up
// completely and the first try is known (and prefetched) before any flow of
// a burst is made.
inline uint16_t nat_first_offset(LbWorker& lb) {
  const uint16_t offset = lb.nat_port_cursor;
  lb.nat_port_cursor = static_cast<uint16_t>(offset + 1u == lb.nat_port_span ? 0 : offset + 1u);
  return offset;
}

// A step through a share of `span` ports for a flow's retries, from its hash:
// in [1, span), coprime with span so that the tries do not cycle early.
uint32_t nat_port_stride(uint32_t hash, uint32_t span);

// The reply 5-tuple of try `attempt`: the endpoint answering one of our NAT
// (address, port) pairs. Tries after the first step through the share by the
// flow's own `stride` (nat_port_stride; double hashing, since tries stepping
// by one run into the clusters of earlier flows' tries).
inline FlowKey nat_reply_key(const WorkerCtx& w, const LbView& lb, const NatRequest& r, uint32_t attempt,
                             uint32_t stride) {
  const uint32_t span = w.lb.nat_port_span;
  const uint32_t offset = attempt == 0 ? r.first_offset : (r.first_offset + attempt * stride) % span;
  const LbEndpoint& ep = *r.endpoint;
  return FlowKey{ep.address, lb.nat_pool[ep.nat_first + (r.hash + attempt) % ep.nat_count],
                 ep.port ? ep.port : r.target_port,
                 rte_cpu_to_be_16(static_cast<uint16_t>(w.lb.nat_port_base + w.worker_id * span + offset)),
                 r.original->proto};
}

// Inserts the flow under the first free reply tuple; FlowTable::kNone with
// `why` (flow_table_full, nat_ports_exhausted) when there is none. Inline,
// as nat_reply_key: both run for every new flow.
inline uint32_t nat_insert(WorkerCtx& w, const LbView& lb, const NatRequest& r, FlowState state, DropReason& why) {
  FlowTable& flows = *w.lb.flows;
  if (flows.size() == flows.capacity()) {
    why = DropReason::kFlowTableFull;
    return FlowTable::kNone;
  }
  uint32_t stride = 0;  // worked out at the first retry
  constexpr uint32_t kAttempts = 64;
  for (uint32_t attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt == 1) stride = nat_port_stride(r.hash, w.lb.nat_port_span);
    const uint32_t f = flows.insert(*r.original, nat_reply_key(w, lb, r, attempt, stride), state, w.lb.now);
    if (f != FlowTable::kNone) return f;
  }
  why = DropReason::kNatPortsExhausted;
  return FlowTable::kNone;
}

}  // namespace meshplane::dataplane
