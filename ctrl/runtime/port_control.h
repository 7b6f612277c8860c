// Taking ports in and out of the workers' poll set so that no worker is ever
// inside rx or tx on a port that is being stopped or whose peer has left.
//
// DPDK's memif PMD (22.11 and later releases) unmaps a link's shared memory on
// its interrupt thread when the peer disconnects, with no handshake with the
// cores polling it: a worker in rx/tx at that moment faults. So a peer that
// means to leave is first detached here (stop polling, one grace period, stop
// the device), and a port whose link goes down leaves the poll set within a
// millisecond. A peer that vanishes without warning can still catch a worker
// inside that window: docs/operations.md, "Ports and peers that leave".
#pragma once

#include <string>
#include <vector>

#include "ctrl/apply/event_log.h"
#include "ctrl/apply/policy_manager.h"
#include "ctrl/runtime/port_setup.h"
#include "dataplane/worker/port_gate.h"
#include "dataplane/tables/snapshot_slot.h"

namespace meshplane::ctrl {

class PortControl {
 public:
  PortControl(std::vector<RunningPort>& ports, dataplane::PortGate& gate, dataplane::SnapshotSlot& workers,
              EventLog& events);

  // Operator. Detach: stop polling, wait until no worker is inside the port,
  // stop it. Attach: start it; the workers poll it again once its link is up.
  Outcome set(const std::string& name, bool attach, uint64_t generation);
  // Control loop: a port whose link went down leaves the poll set at once and
  // comes back when the link is up again (unless an operator detached it).
  void watch_links(uint64_t generation);

  // "up" (polled), "link-down" or "detached".
  std::string state(size_t port) const;

 private:
  void detach(size_t port, uint64_t generation);
  config::Status attach(size_t port, uint64_t generation);
  void close_gate(size_t port);

  std::vector<RunningPort>& ports_;
  dataplane::PortGate& gate_;
  dataplane::SnapshotSlot& workers_;
  EventLog& events_;
  std::vector<bool> detached_;
};

}  // namespace meshplane::ctrl
