// config::Policy -> dataplane::Snapshot: the translation from what an operator
// wrote to what a worker reads. Plain control-side code, testable without
// workers running (needs EAL memory for the LPM table).
#pragma once

#include <rte_ether.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/status.h"
#include "ctrl/apply/sa_registry.h"
#include "ctrl/compile/lb_compiler.h"
#include "dataplane/tables/snapshot.h"

namespace meshplane::ctrl {

// What the running ports are: DPDK port ids and MACs in policy port order.
struct PortBinding {
  uint16_t dpdk_port = 0;
  rte_ether_addr mac{};
};

// A snapshot, or why none: kExhausted when memory ran out (the route table),
// kInvalid when the policy cannot be built (a check validate() missed).
struct CompileResult : config::Status {
  std::unique_ptr<CompiledSnapshot> snapshot;
};

// `lb` gives services and endpoints their slots, `sas` the SAs theirs;
// without them (tests, --check) slots are assigned afresh in policy order. With `previous` (the running
// snapshot and its policy), its route table is shared when the routes are
// unchanged, and its unchanged services are copied (compile_lb). Pattern sets
// already compiled by another thread are taken from `patterns`.
CompileResult compile_snapshot(const config::Policy& policy, const std::vector<PortBinding>& ports,
                                  uint64_t generation, const LbRegistry* lb = nullptr, const Previous& previous = {},
                                  const SaRegistry* sas = nullptr, const PatternCache* patterns = nullptr);

}  // namespace meshplane::ctrl
