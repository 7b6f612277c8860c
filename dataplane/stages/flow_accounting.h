// What a worker does with its flow table besides lookups, shared by the
// stages that keep flows (lb.cc for services, routed_authz.cc for routed
// connections): endpoints' active_flows follow their flows' states (a routed
// flow has no endpoint to count), NAT ports in use are counted, and sampled
// flows are logged when they start and end (dataplane/worker/flow_log.h).
#pragma once

#include <rte_cycles.h>
#include <rte_ring_elem.h>

#include "dataplane/net/tcp_flags.h"
#include "dataplane/stages/circuit_breakers.h"
#include "dataplane/stages/inspect.h"
#include "dataplane/tables/flow_table.h"
#include "dataplane/worker/flow_log.h"
#include "dataplane/worker/lb_counters.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// A full-NAT flow holds one of the worker's NAT ports (its reply key).
inline bool holds_nat_port(const Flow& flow) { return flow.keys == 2 && !flow.routed(); }

// A flow-log record to the control thread, within the worker's rate and the ring's room.
inline void send_flow_log(WorkerCtx& w, const Flow& flow, FlowLogEvent event, FlowEnd reason,
                          const FlowLog::Counts& c) {
  FlowLog& log = *w.flow_log;
  FlowLogRecord r{flow.key[0], flow.key[1], c.start_ms, event == FlowLogEvent::kEnd ? w.lb.now : 0,
                        c.packets, c.bytes, flow.service, flow.endpoint, event, reason, flow.keys, {}};
  if (log.bucket.take(rte_rdtsc()) && rte_ring_sp_enqueue_elem(log.ring, &r, sizeof r) == 0)
    w.counters->flow_logged.add();
  else
    w.counters->flow_log_lost.add();
}

// A flow was just made (and filled in) for a packet of `bytes`.
inline void flow_started(WorkerCtx& w, uint32_t f, uint32_t bytes) {
  if (!w.flow_log) [[likely]] return;
  FlowLog& log = *w.flow_log;
  FlowLog::Counts& c = log.counts[f];
  c = {};
  if (log.seen++ % log.sample != 0) return;
  c = {w.lb.now | 1, 1, bytes};  // start_ms is never 0 for a sampled flow
  send_flow_log(w, w.lb.flows->flow(f), FlowLogEvent::kStart, FlowEnd::kNone, c);
}

// A service flow became open, or stopped being open: its endpoint's
// active_flows and, when the flow is counted, its circuit breakers follow.
inline void count_open(WorkerCtx& w, const Flow& flow, bool open) {
  Counter& active = w.lb.endpoints[flow.endpoint].active_flows;
  open ? active.add() : active.sub();
  if (flow.breaker) [[unlikely]] breaker_count(w, flow.service, flow.endpoint, open);
}

// What a flow's end changes besides the table.
inline void flow_ended(WorkerCtx& w, uint32_t f, FlowEnd reason) {
  const Flow& flow = w.lb.flows->flow(f);
  if (flow.inspected) [[unlikely]] inspect_flow_ended(w, f);
  if (w.flow_log) [[unlikely]]
    if (const FlowLog::Counts& c = w.flow_log->counts[f]; c.start_ms) send_flow_log(w, flow, FlowLogEvent::kEnd, reason, c);
  if (flow.routed()) return;
  if (is_open(flow.state)) count_open(w, flow, false);
  if (holds_nat_port(flow)) w.counters->nat_flows.sub();
}

inline void forget_flow(WorkerCtx& w, uint32_t f, FlowEnd reason) {
  flow_ended(w, f, reason);
  w.lb.flows->erase(f);
}

// An endpoint's answer to a SYN, for outlier detection: a RST is a failed
// attempt, a SYN-ACK an answered one (a SYN that is never answered fails when
// its flow expires).
inline void count_connect(EndpointCounters& e, uint8_t tcp_flags) {
  if (tcp_flags & kTcpRst)
    e.connect_failures.add();
  else if (tcp_flags & kTcpSyn)
    e.connect_answers.add();
}

// FlowTable::ExpireHook: `ctx` is the WorkerCtx.
inline void on_flow_expire(void* ctx, const Flow& flow) {
  WorkerCtx& w = *static_cast<WorkerCtx*>(ctx);
  if (flow.state == FlowState::kSynSent && !flow.routed()) w.lb.endpoints[flow.endpoint].connect_failures.add();
  const FlowEnd reason = flow.state == FlowState::kClosing ? FlowEnd::kClosed
                         : flow.state == FlowState::kReset ? FlowEnd::kReset
                                                           : FlowEnd::kIdle;
  flow_ended(w, static_cast<uint32_t>(&flow - &w.lb.flows->flow(0)), reason);
}

// Records a packet of `bytes` on a flow and keeps active_flows in step with its state.
[[gnu::always_inline]] inline void touch_flow(WorkerCtx& w, uint32_t f, uint8_t direction, uint8_t tcp_flags,
                                              uint32_t bytes) {
  if (w.flow_log) [[unlikely]]
    if (FlowLog::Counts& c = w.flow_log->counts[f]; c.start_ms) {
      ++c.packets;
      c.bytes += bytes;
    }
  if (!(tcp_flags & (kTcpSyn | kTcpRst | kTcpFin))) {  // UDP, or a segment that keeps the flow open or closed
    w.lb.flows->touch(f, direction, tcp_flags, w.lb.now);
    return;
  }
  Flow& flow = w.lb.flows->flow(f);
  const bool was_open = is_open(flow.state);
  w.lb.flows->touch(f, direction, tcp_flags, w.lb.now);
  if (was_open != is_open(flow.state) && !flow.routed()) count_open(w, flow, !was_open);
}

}  // namespace meshplane::dataplane
