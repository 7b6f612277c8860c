// A snapshot as the compiler hands it over: what workers read (the base
// class) plus what it shares with the snapshots compiled after it and the
// inputs each shared table was built from, so that an unchanged part is
// reused instead of rebuilt. Workers never see these members.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "ctrl/compile/access_compiler.h"
#include "ctrl/compile/maglev_builder.h"
#include "ctrl/compile/pattern_compiler.h"
#include "dataplane/tables/snapshot.h"

struct rte_lpm;

namespace meshplane::ctrl {

struct CompiledSnapshot final : dataplane::Snapshot {
  // The route table (an rte_lpm is 64 MiB and takes tens of milliseconds to
  // build) and the routes it holds.
  std::shared_ptr<rte_lpm> route_table;
  std::vector<uint64_t> route_inputs;
  // Per entry of lb.subsets: the Maglev table its slots point into, and that
  // table's inputs (table size, members with weights and positions).
  std::vector<std::shared_ptr<const MaglevTable>> subset_tables;
  std::vector<std::string> subset_keys;
  // The access rules' classifier and hit counters (rebuilt only when the rules or port names change).
  std::shared_ptr<const AccessTable> access_table;
  // The pattern sets' databases and scratch (inspect points into them), and their names' slots.
  std::shared_ptr<const PatternLibrary> patterns;
  // What authz.rules stand for, by the same index (events, explain).
  struct AuthzRuleName {
    std::string name;
    int line = 0;
  };
  std::vector<AuthzRuleName> authz_rules;
  // What authz.policies stand for, by the same index: "service 'web'", "destination 'admin'".
  std::vector<std::string> authz_policies;
};

// The running snapshot and the policy it was compiled from.
struct Previous {
  const CompiledSnapshot* snapshot = nullptr;
  const config::Policy* policy = nullptr;
};

}  // namespace meshplane::ctrl
