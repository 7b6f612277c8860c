// Reading the workers' counters without stopping them, and printing them for
// people (table) and scripts (JSON). Names come from the drop-reason list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/model.h"
#include "ctrl/lb_registry.h"
#include "ctrl/port_setup.h"
#include "dataplane/counters.h"
#include "dataplane/lb_counters.h"
#include "dataplane/neighbour_table.h"

namespace meshplane::ctrl {

struct StatsSource {
  const std::vector<RunningPort>* ports = nullptr;
  const dataplane::WorkerCounters* workers = nullptr;  // worker_count entries
  std::vector<unsigned> worker_lcores;
  const dataplane::WorkerCounters* control = nullptr;  // drops counted by the control thread
  const dataplane::NeighbourTable* neighbours = nullptr;
  const config::Policy* policy = nullptr;
  const LbRegistry* registry = nullptr;  // null: no load balancer (counters below unused)
  const dataplane::ServiceCounters* service_counters = nullptr;    // worker-major
  const dataplane::EndpointCounters* endpoint_counters = nullptr;  // worker-major
  uint64_t generation = 0;
  double uptime_seconds = 0;
};

std::string stats_json(const StatsSource& src);
// The "services" array of stats_json: per service and endpoint, summed over workers.
std::string services_json(const StatsSource& src);
std::string services_table(const StatsSource& src);
std::string stats_table(const StatsSource& src);

}  // namespace meshplane::ctrl
