// Services' circuit breakers in the load-balancer stage
// (dataplane/tables/circuit_breaker.h): a new connection takes a place in its
// service's count and in its endpoint's, or goes to another endpoint with
// room, or is refused; an open flow gives its places back when it closes.
#pragma once

#include <cstdint>

#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// Endpoints of a service the overflow tries besides Maglev's pick: a bound
// on the work a refused connection costs (every endpoint of a service with
// fewer than this many).
inline constexpr uint32_t kBreakerOverflowTries = 64;

// The endpoint a new connection of `svc` (flow hash `hash`, Maglev's pick
// `pick`) goes to under breaker `b`, its places taken; null: refused.
const LbEndpoint* breaker_admit(WorkerCtx& w, const LbView& lb, const LbService& svc, const BreakerView& b,
                                const LbEndpoint* pick, uint32_t hash);

// Gives back (open false) or takes again (true) a counted flow's places in
// service slot `service` and endpoint slot `endpoint`.
void breaker_count(WorkerCtx& w, uint32_t service, uint32_t endpoint, bool open);

}  // namespace meshplane::dataplane
