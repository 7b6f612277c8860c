// Per-worker load-balancer counters, indexed by the stable service and
// endpoint slots of the snapshot (so they survive reloads). Written only by
// their worker; the control thread sums them over workers.
#pragma once

#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/drop_reason.h"

namespace meshplane::dataplane {

struct ServiceCounters {
  Counter new_flows;
  Counter stateless_flows;  // balanced without a flow entry (table full; direct return only)
  Counter packets;          // both directions
  Counter bytes;
  Counter drops[kLbDropReasonCount];

  void drop(DropReason r) { drops[static_cast<size_t>(r) - kFirstLbDropReason].add(); }
};

struct EndpointCounters {
  Counter new_flows;
  Counter active_flows;  // flows in this worker's table now (incremented and decremented by the worker)
  Counter packets;
  Counter bytes;
};

}  // namespace meshplane::dataplane
