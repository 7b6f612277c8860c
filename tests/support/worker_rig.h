// One worker wired as the daemon wires it, without threads or ports, for unit
// tests and in-process benchmarks: a policy compiled into a snapshot (ports a
// and b), an mbuf pool, the punt and hand-off rings, a neighbour table, SA
// state, and with services a flow table and counters sized by the policy. run() passes packets through
// the pipeline; what it sends waits in w.tx.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "ctrl/apply/lb_registry.h"
#include "ctrl/apply/sa_registry.h"
#include "ctrl/runtime/sa_table.h"
#include "dataplane/inspect/inspect_state.h"
#include "dataplane/ipsec/aes_gcm.h"
#include "ctrl/compile/compiled_snapshot.h"
#include "dataplane/tables/flow_table.h"
#include "dataplane/tables/neighbour_table.h"
#include "dataplane/worker/lb_counters.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::testing {

inline const rte_ether_addr kMacA{{0x02, 0, 0, 0, 0, 0x0a}}, kMacB{{0x02, 0, 0, 0, 0, 0x0b}};

class WorkerRig {
 public:
  struct Options {
    uint16_t workers = 1;      // hand-off rings, and this worker's share of NAT ports
    uint32_t mbufs = 2047;
  };
  // Check ok() (else `error` says why the policy did not load or compile).
  explicit WorkerRig(const std::string& policy_text) : WorkerRig(policy_text, Options{}) {}
  WorkerRig(const std::string& policy_text, Options options);
  ~WorkerRig();
  WorkerRig(const WorkerRig&) = delete;
  WorkerRig& operator=(const WorkerRig&) = delete;

  bool ok() const { return error.empty(); }
  // A new document, applied at `now` as the control thread does (slots, compile); false with `error` if refused.
  bool reload(const std::string& policy_text, ctrl::LbRegistry::Clock::time_point now = ctrl::LbRegistry::Clock::now());
  // Compiles the running policy again with the registry's slots (after registry->expire()).
  bool publish();
  void run(rte_mbuf* m, uint16_t in_port = 0);
  void run(rte_mbuf** pkts, uint16_t n, uint16_t in_port = 0);
  void clear_tx();

  std::string error;
  config::Policy policy;
  std::unique_ptr<ctrl::LbRegistry> registry;
  std::unique_ptr<ctrl::SaRegistry> sa_registry;
  std::unique_ptr<ctrl::SaTable> sa_table;  // numbers are not recorded on disk
  dataplane::GcmEngine gcm;
  std::unique_ptr<dataplane::SaCounters[]> sa_counters;  // by SA slot
  std::unique_ptr<ctrl::CompiledSnapshot> snapshot;
  rte_mempool* pool = nullptr;
  rte_ring* punt = nullptr;
  std::vector<rte_ring*> handoff;
  dataplane::NeighbourTable neighbours{64};
  dataplane::WorkerCounters counters;
  std::unique_ptr<dataplane::FlowTable> flows;
  std::unique_ptr<dataplane::ServiceCounters[]> services;    // by service slot
  std::unique_ptr<dataplane::EndpointCounters[]> endpoints;  // by endpoint slot
  std::unique_ptr<dataplane::RateLimitState> limits;         // the workers' shared buckets
  std::unique_ptr<dataplane::BreakerState> breakers;         // the workers' shared circuit breaker counts
  std::unique_ptr<dataplane::InspectState> inspect;          // with pattern sets
  rte_ring* inspect_events = nullptr;                         // InspectEventRecord
  dataplane::WorkerCtx w;

 private:
  bool update_sas();
  config::Policy published_policy_;  // what `snapshot` was compiled from  // slots for the policy's SAs, set up as the daemon does
};

}  // namespace meshplane::testing
