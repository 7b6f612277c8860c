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
  Counter rescheduled;      // new connections on a tracked 5-tuple whose flow had ended or lost its endpoint
  Counter packets;          // both directions
  Counter bytes;
  Counter drops[kLbDropReasonCount];

  void drop(DropReason r) { drops[static_cast<size_t>(r) - kFirstLbDropReason].add(); }
  void reset() {
    for (auto* k : {&new_flows, &stateless_flows, &rescheduled, &packets, &bytes}) k->set(0);
    for (auto& d : drops) d.set(0);
  }
};

struct EndpointCounters {
  Counter new_flows;
  Counter active_flows;  // open flows (not closing) in this worker's table now, kept up by the worker
  Counter packets;
  Counter bytes;

  void reset() {
    for (auto* k : {&new_flows, &active_flows, &packets, &bytes}) k->set(0);
  }
};

}  // namespace meshplane::dataplane
