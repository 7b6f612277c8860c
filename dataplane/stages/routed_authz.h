// The routed-authorization stage: connections the gateway routes (not to a
// VIP, not to itself) towards a destination prefix that has an
// authorization are decided when they start, by who the client is, and
// tracked in the worker's flow table with the epoch they were decided in,
// as services' connections are (lb.cc): established packets pay a lookup,
// replies keep the flow's state, a change of policy re-decides them.
//
// Both directions of a connection must meet the same flow, so each routed
// connection belongs to one worker, chosen by a hash that is the same for a
// packet and its reply; a packet that arrives at another worker is handed
// to the owner's ring (nat_handoff.h), as NAT replies are.
//
// TCP and UDP are decided per connection; other protocols, and fragments
// after the first (no ports), packet by packet with port 0. A connection a
// protected destination opens is not this authorization's: it is tracked
// undecided, so that its replies pass.
#pragma once

#include <cstdint>

#include "dataplane/tables/flow_table.h"
#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/graph.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// The worker of `workers` that keeps the routed connection `k` belongs to:
// the same for its original and its reply 5-tuple.
uint32_t routed_owner(const FlowKey& k, uint16_t workers);

// The kRoutedAuthz stage: returns how many packets it kept (allowed, or not
// its business), in their order, for the local stage.
uint16_t routed_authz_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

}  // namespace meshplane::dataplane
