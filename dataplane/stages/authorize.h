// Authorization in the load-balancer stage: a service's policy decides each
// new connection once, from who its client is (the identity its source maps
// to, and the peer whose SAs it came over); the flow keeps the epoch it was
// decided in, so established packets pay one byte compare. After a change
// (a new epoch) a flow is decided again on its next packet, and each
// worker's flows are swept in the background (lb.cc), so the change's cuts
// are counted within milliseconds.
#pragma once

#include <cstdint>

#include "dataplane/tables/flow_table.h"
#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// A new connection (its original 5-tuple, network order) to the service in
// `slot`, which has authorization `policy` (AuthzView::policy_of): true if
// allowed; an audit rule's match is counted and reported either way. With
// `inspect`, an allowed connection's pattern set is left there (1 + its slot,
// the deciding rule's or the authorization's; 0: none given).
bool authorize(WorkerCtx& w, const Snapshot& s, uint32_t policy, uint32_t slot, const FlowKey& key,
               uint32_t* inspect = nullptr);

// A routed connection (or, for protocols without ports, a packet) to a
// destination that policy `policy` (AuthzView::destination_policy) decides:
// true if allowed; an audit rule's match is counted and reported either way.
bool authorize_routed(WorkerCtx& w, const Snapshot& s, uint32_t policy, const FlowKey& key,
                      uint32_t* inspect = nullptr);

// A flow decided in an older epoch: true if still allowed, or if its
// service's (or destination's) authorization keeps existing connections (its epoch is brought
// up to date); false if now denied (counted as cut: the caller forgets it).
bool reauthorize(WorkerCtx& w, const Snapshot& s, Flow& f);

}  // namespace meshplane::dataplane
