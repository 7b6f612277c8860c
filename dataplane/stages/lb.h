// Stage 2: the L4 load balancer. Packets to a VIP are matched to a service
// and a tracked flow (new flows: subset by weight, then endpoint by Maglev),
// then rewritten (full NAT) or encapsulated (direct return) and routed.
// Replies to a NAT address are translated back. Everything else passes on.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/tables/flow_table.h"
#include "dataplane/worker/graph.h"
#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// The kLb stage: balanced and translated packets go on to routing; returns
// how many it kept (the rest, in their order) for the local stage.
uint16_t lb_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

// Removes flows whose time is up (bounded work; call once per loop).
void lb_expire(WorkerCtx& w, uint32_t budget);

// After an authorization change, checks up to `budget` more flow records
// against it (bounded work; call once per loop): denied flows are cut, and
// once every record was checked the worker's authz_swept counter says so.
void lb_sweep_authorization(WorkerCtx& w, const Snapshot& s, uint32_t budget);

}  // namespace meshplane::dataplane
