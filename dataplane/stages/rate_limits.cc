#include "dataplane/stages/rate_limits.h"

#include <rte_byteorder.h>
#include <rte_cycles.h>

#include "dataplane/tables/rate_limit.h"
#include "dataplane/worker/lb_counters.h"

namespace meshplane::dataplane {

bool admit_connection(WorkerCtx& w, const RateLimitView& r, uint32_t slot, uint32_t source) {
  if (!w.lb.limits) return true;
  const uint64_t now = rte_rdtsc();
  // Per source first: a source over its own limit takes nothing from the service's.
  if (r.per_source.active()) {
    bool shared = false;
    auto& tat = w.lb.limits->source(slot, rte_be_to_cpu_32(source) & r.source_mask, now, shared);
    if (shared) w.lb.services[slot].rate_limit_shared_sources.add();
    if (!r.per_source.take(tat, now)) return false;
  }
  return !r.connections.active() || r.connections.take(w.lb.limits->service(slot).connections, now);
}

bool admit_packet(WorkerCtx& w, const RateLimitView& r, uint32_t slot) {
  return !w.lb.limits || !r.packets.active() || r.packets.take(w.lb.limits->service(slot).packets, rte_rdtsc());
}

}  // namespace meshplane::dataplane
