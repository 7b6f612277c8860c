// Circuit breakers on services and their endpoints (docs/config.md, "circuit
// breaking"): at most so many open connections at once and so many new ones
// per second, for every worker together. The counts are atomics by service
// and endpoint slot outside snapshots (a policy change neither resets nor
// refills them), taken with fetch_add and given back when a counted flow
// stops being open: exact across workers, no lock. Only flows of services
// with a breaker are counted (Flow::breaker), so services without one pay
// nothing; connections opened before a service had a breaker are not counted.
#pragma once

#include <rte_common.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "dataplane/tables/rate_limit.h"

namespace meshplane::dataplane {

struct BreakerCount {
  std::atomic<uint32_t> active{0};  // open counted flows
  std::atomic<uint64_t> tat{0};     // the rate's GCRA state
};

struct alignas(RTE_CACHE_LINE_SIZE) ServiceBreakerCount : BreakerCount {};

// One level's limits, as the snapshot holds them.
struct BreakerLimit {
  uint32_t max_active = 0;  // 0: no cap
  Gcra rate;                // new connections

  // Counts one more open flow in `c` if both limits allow it; false (and
  // nothing taken) otherwise. Increment first, then compare: two workers
  // racing for the last place cannot both get it.
  bool take(BreakerCount& c, uint64_t now) const {
    if (max_active) {
      if (c.active.load(std::memory_order_relaxed) >= max_active) return false;
      if (c.active.fetch_add(1, std::memory_order_relaxed) >= max_active) {
        c.active.fetch_sub(1, std::memory_order_relaxed);
        return false;
      }
    } else {
      c.active.fetch_add(1, std::memory_order_relaxed);
    }
    if (rate.active() && !rate.take(c.tat, now)) {
      c.active.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
};

// A service's breaker, by service slot in the snapshot.
struct BreakerView {
  BreakerLimit service, endpoint;
  bool refuse_overflow = false;  // an endpoint at its limits: refuse instead of trying others
  bool configured = false;
};

// What every worker shares, by service and endpoint slot.
class BreakerState {
 public:
  BreakerState(uint32_t services, uint32_t endpoints)
      : services_(new ServiceBreakerCount[services]), endpoints_(new BreakerCount[endpoints]) {}
  BreakerCount& service(uint32_t slot) { return services_[slot]; }
  BreakerCount& endpoint(uint32_t slot) { return endpoints_[slot]; }
  const BreakerCount& endpoint(uint32_t slot) const { return endpoints_[slot]; }
  const BreakerCount& service(uint32_t slot) const { return services_[slot]; }

 private:
  std::unique_ptr<ServiceBreakerCount[]> services_;
  std::unique_ptr<BreakerCount[]> endpoints_;
};

}  // namespace meshplane::dataplane
