// Reading the workers' counters without stopping them, into the stats
// message (meshplane.v1.GetStatsResponse); ctrl/api/stats_text.h prints it.
// Counters are walked through the lists in dataplane/worker/counter_list.h, drops
// through dataplane/worker/drop_reason.h: nothing here names a counter.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/model.h"
#include "ctrl/apply/lb_registry.h"
#include "ctrl/apply/sa_registry.h"
#include "ctrl/compile/access_compiler.h"
#include "ctrl/compile/pattern_compiler.h"
#include "ctrl/runtime/sa_table.h"
#include "ctrl/runtime/port_setup.h"
#include "dataplane/inspect/inspect_state.h"
#include "dataplane/worker/counters.h"
#include "dataplane/worker/lb_counters.h"
#include "dataplane/tables/circuit_breaker.h"
#include "dataplane/tables/neighbour_table.h"
#include "meshplane.pb.h"

namespace meshplane::ctrl {

struct StatsSource {
  const std::vector<RunningPort>* ports = nullptr;
  std::vector<std::string> port_states;                // by port: up, link-down, detached
  const dataplane::WorkerCounters* workers = nullptr;  // worker_count entries
  std::vector<unsigned> worker_lcores;
  const dataplane::WorkerCounters* control = nullptr;  // drops counted by the control thread
  const dataplane::NeighbourTable* neighbours = nullptr;
  const config::Policy* policy = nullptr;
  std::function<void(v1::GetStatsResponse&)> ike;  // adds IKE's peers; empty: no ike
  const std::vector<config::Peer>* peers = nullptr;  // as running: with the SAs IKE negotiated
  const LbRegistry* registry = nullptr;  // null: no load balancer (counters below unused)
  const dataplane::ServiceCounters* service_counters = nullptr;    // worker-major
  const dataplane::EndpointCounters* endpoint_counters = nullptr;  // worker-major
  const dataplane::BreakerState* breakers = nullptr;  // circuit breaker counts, by service and endpoint slot
  const SaRegistry* sa_registry = nullptr;  // null: no SAs listed
  const SaTable* sa_table = nullptr;
  const dataplane::SaCounters* sa_counters = nullptr;  // worker-major, max_sas each
  const AccessTable* access = nullptr;  // the running access rules and their hits
  const PatternLibrary* patterns = nullptr;  // the running pattern sets
  // An endpoint's health (healthy, unhealthy, ejected) for services with health checks or outlier detection.
  std::function<std::string(const std::string&, uint32_t, uint16_t)> health;
  std::vector<const dataplane::InspectState*> inspect;  // by worker; empty: nothing inspected
  uint64_t generation = 0;
  double uptime_seconds = 0;
};

v1::GetStatsResponse stats_message(const StatsSource& src);
// The services part of stats_message: per service and endpoint, summed over workers.
void add_services(const StatsSource& src, v1::GetStatsResponse& out);
// The SAs part: per SA of the running policy, summed over workers; never keys.
void add_sas(const StatsSource& src, v1::GetStatsResponse& out);
// The access rules with their hits.
void add_access_rules(const StatsSource& src, v1::GetStatsResponse& out);
// The services' authorization with their counters (after add_services).
void add_authorizations(const StatsSource& src, v1::GetStatsResponse& out);
// The pattern sets with their counters and their patterns' matches.
void add_pattern_sets(const StatsSource& src, v1::GetStatsResponse& out);

}  // namespace meshplane::ctrl
