// Payload inspection's side of the daemon: each worker's inspection state
// (reserved at start for inspection.flows_per_worker connections, committed
// as used) and its event ring, and the control thread's reading of those
// events into log lines and pattern_block / pattern_alert / inspect_failed
// events.
#pragma once

#include <rte_ring.h>

#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "ctrl/apply/lb_registry.h"
#include "ctrl/compile/pattern_compiler.h"
#include "dataplane/inspect/inspect_state.h"
#include "dataplane/stages/inspect.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::ctrl {

class InspectRuntime {
 public:
  InspectRuntime(uint16_t workers, uint32_t flow_capacity, const config::InspectionSettings& settings);
  ~InspectRuntime();
  InspectRuntime(const InspectRuntime&) = delete;
  InspectRuntime& operator=(const InspectRuntime&) = delete;

  void attach(dataplane::WorkerCtx& w) const;
  std::vector<const dataplane::InspectState*> states() const;

  struct Event {
    std::string kind;  // pattern_block, pattern_alert, inspect_failed
    std::string message;
  };
  // The events workers sent since the last call, described.
  std::vector<Event> drain(const PatternLibrary* patterns, const LbRegistry* registry);

 private:
  std::vector<std::unique_ptr<dataplane::InspectState>> states_;
  std::vector<rte_ring*> rings_;
};

// "pattern 'admin' of set 'guard' blocked tcp 10.0.0.2:40000 -> 10.0.1.100:80 (service 'web'), client to
// server: reset both ways". `service`: the flow's service name ("" for routed connections).
std::string describe_inspect_event(const dataplane::InspectEventRecord& r, const PatternLibrary* patterns,
                                   const std::string& service);

}  // namespace meshplane::ctrl
