// Services' rate limits in the load-balancer stage (dataplane/tables/rate_limit.h):
// new connections per service and per source prefix, and packets from
// clients per service, all shared by every worker.
#pragma once

#include <cstdint>

#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// A new connection from `source` (network order) to the service in `slot`
// with limits `r`: true when every limit admits it (each takes a token).
bool admit_connection(WorkerCtx& w, const RateLimitView& r, uint32_t slot, uint32_t source);

// A packet from a client to the service in `slot`: true when its packet limit admits it.
bool admit_packet(WorkerCtx& w, const RateLimitView& r, uint32_t slot);

}  // namespace meshplane::dataplane
