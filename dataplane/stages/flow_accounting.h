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

// A full-NAT flow holds one of the worker's NAT ports (its reply key).
inline bool holds_nat_port(const Flow& flow) { return flow.keys == 2 && !flow.routed(); }

// What a flow's end changes besides the table.
inline void flow_ended(WorkerCtx& w, const Flow& flow) {
  if (flow.routed()) return;
  if (is_open(flow.state)) w.lb.endpoints[flow.endpoint].active_flows.sub();
  if (holds_nat_port(flow)) w.counters->nat_flows.sub();
}

inline void forget_flow(WorkerCtx& w, uint32_t f) {
  flow_ended(w, w.lb.flows->flow(f));
  w.lb.flows->erase(f);
}

// FlowTable::ExpireHook: `ctx` is the WorkerCtx.
inline void on_flow_expire(void* ctx, const Flow& flow) { flow_ended(*static_cast<WorkerCtx*>(ctx), flow); }

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
