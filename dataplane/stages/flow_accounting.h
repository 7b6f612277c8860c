// What a worker does with its flow table besides lookups, shared by the
// stages that keep flows (lb.cc for services, routed_authz.cc for routed
// connections): endpoints' active_flows follow their flows' states; a routed
// flow has no endpoint to count.
#pragma once

#include "dataplane/net/tcp_flags.h"
#include "dataplane/tables/flow_table.h"
#include "dataplane/worker/lb_counters.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

inline void forget_flow(WorkerCtx& w, uint32_t f) {
  const Flow& flow = w.lb.flows->flow(f);
  if (is_open(flow.state) && !flow.routed()) w.lb.endpoints[flow.endpoint].active_flows.sub();
  w.lb.flows->erase(f);
}

// FlowTable::ExpireHook: `ctx` is the WorkerCtx.
inline void on_flow_expire(void* ctx, const Flow& flow) {
  if (is_open(flow.state) && !flow.routed()) static_cast<WorkerCtx*>(ctx)->lb.endpoints[flow.endpoint].active_flows.sub();
}

// Records a packet on a flow and keeps active_flows in step with its state.
inline void touch_flow(WorkerCtx& w, uint32_t f, uint8_t direction, uint8_t tcp_flags) {
  if (!(tcp_flags & (kTcpSyn | kTcpRst | kTcpFin))) {  // UDP, or a segment that keeps the flow open or closed
    w.lb.flows->touch(f, direction, tcp_flags, w.lb.now);
    return;
  }
  Flow& flow = w.lb.flows->flow(f);
  const bool was_open = is_open(flow.state);
  w.lb.flows->touch(f, direction, tcp_flags, w.lb.now);
  if (was_open != is_open(flow.state) && !flow.routed()) {
    Counter& active = w.lb.endpoints[flow.endpoint].active_flows;
    was_open ? active.sub() : active.add();
  }
}

}  // namespace meshplane::dataplane
