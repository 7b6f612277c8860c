// Per-worker load-balancer counters, indexed by the stable service and
// endpoint slots of the snapshot (so they survive reloads). Written only by
// their worker; the control thread sums them over workers.
#pragma once

#include <cstdint>

#include "dataplane/worker/counters.h"
#include "dataplane/worker/drop_reason.h"

namespace meshplane::dataplane {

struct ServiceCounters {
  MESHPLANE_SERVICE_COUNTERS(MESHPLANE_COUNTER_MEMBER)
  Counter drops[kLbDropReasonCount];

  void drop(DropReason r) { drops[static_cast<size_t>(r) - kFirstLbDropReason].add(); }
  void reset();
};

struct EndpointCounters {
  MESHPLANE_ENDPOINT_COUNTERS(MESHPLANE_COUNTER_MEMBER)

  void reset();
};

MESHPLANE_COUNTER_TABLE(kServiceCounters, ServiceCounters, MESHPLANE_SERVICE_COUNTERS)
MESHPLANE_COUNTER_TABLE(kEndpointCounters, EndpointCounters, MESHPLANE_ENDPOINT_COUNTERS)

inline void ServiceCounters::reset() {
  for (const auto& c : kServiceCounters) (this->*c.member).set(0);
  for (auto& d : drops) d.set(0);
}

inline void EndpointCounters::reset() {
  for (const auto& c : kEndpointCounters) (this->*c.member).set(0);
}

}  // namespace meshplane::dataplane
