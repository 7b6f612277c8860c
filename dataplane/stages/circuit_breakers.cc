#include "dataplane/stages/circuit_breakers.h"

#include <rte_cycles.h>

#include "dataplane/worker/lb_counters.h"

namespace meshplane::dataplane {

const LbEndpoint* breaker_admit(WorkerCtx& w, const LbView& lb, const LbService& svc, const BreakerView& b,
                                const LbEndpoint* pick, uint32_t hash) {
  BreakerState& state = *w.lb.breakers;
  const uint64_t now = b.service.rate.active() || b.endpoint.rate.active() ? rte_rdtsc() : 0;
  BreakerCount& service = state.service(svc.slot);
  if (!b.service.take(service, now)) return nullptr;
  if (b.endpoint.take(state.endpoint(pick->slot), now)) return pick;
  w.lb.endpoints[pick->slot].breaker_full.add();
  if (!b.refuse_overflow) {
    // Others from a place the flow hash picks, so one full endpoint's
    // overflow spreads over the rest instead of landing on its neighbour.
    const uint32_t n = svc.endpoint_count;
    const uint32_t at = static_cast<uint32_t>(pick - &lb.endpoint(svc, 0));
    uint32_t i = static_cast<uint32_t>((uint64_t{hash * 0x85EBCA6Bu} * n) >> 32);
    for (uint32_t k = 0, tries = 0; k < n && tries < kBreakerOverflowTries; ++k, i = i + 1 == n ? 0 : i + 1) {
      const LbEndpoint& e = lb.endpoint(svc, i);
      if (i == at || !e.eligible) continue;
      ++tries;
      if (b.endpoint.take(state.endpoint(e.slot), now)) {
        w.lb.services[svc.slot].breaker_overflowed.add();
        return &e;
      }
      w.lb.endpoints[e.slot].breaker_full.add();
    }
  }
  service.active.fetch_sub(1, std::memory_order_relaxed);
  return nullptr;
}

void breaker_count(WorkerCtx& w, uint32_t service, uint32_t endpoint, bool open) {
  BreakerState& state = *w.lb.breakers;
  if (open) {
    state.service(service).active.fetch_add(1, std::memory_order_relaxed);
    state.endpoint(endpoint).active.fetch_add(1, std::memory_order_relaxed);
  } else {
    state.service(service).active.fetch_sub(1, std::memory_order_relaxed);
    state.endpoint(endpoint).active.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace meshplane::dataplane
