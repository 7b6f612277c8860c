// Pattern sets -> dataplane::InspectView: one Hyperscan stream-mode
// database per set, compiled on the control thread, with one scratch per
// worker allocated before the snapshot is published. A set whose definition
// did not change keeps its database (and its id, so connections under
// inspection carry on undisturbed). Set and pattern names keep their slots
// (per-set and per-pattern counters in every worker) for the life of the
// process: a name that returns gets its old slot back, and slots are never
// given to another name, so counters and the connections bound to a slot
// never change meaning.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/status.h"

struct hs_database;
struct hs_scratch;

namespace meshplane::ctrl {

struct CompiledPatternSet {
  CompiledPatternSet() = default;
  CompiledPatternSet(const CompiledPatternSet&) = delete;
  CompiledPatternSet& operator=(const CompiledPatternSet&) = delete;
  ~CompiledPatternSet();

  config::PatternSet definition;
  hs_database* db = nullptr;
  uint32_t id = 0;  // unique per compiled database
  size_t stream_bytes = 0;
  size_t database_bytes = 0;
};

struct PatternLibrary {
  PatternLibrary() = default;
  PatternLibrary(const PatternLibrary&) = delete;
  PatternLibrary& operator=(const PatternLibrary&) = delete;
  ~PatternLibrary();

  std::vector<std::shared_ptr<const CompiledPatternSet>> sets;  // by slot; null: not in this policy
  std::map<std::string, uint32_t> set_slots;      // every set name seen -> its slot
  std::map<std::string, uint32_t> pattern_slots;  // "set/pattern" -> its counter slot
  std::vector<std::string> pattern_names;         // by counter slot: "set/pattern"
  std::vector<hs_scratch*> scratch;               // by worker
  uint32_t events_per_second = 0;

  // 1 + the slot of set `name` in this policy; 0: none (or "").
  uint32_t slot1(const std::string& name) const;
};

// Compiles `policy`'s pattern sets for `workers` workers, reusing `previous`
// (may be null): its unchanged sets, its name slots. A pattern Hyperscan
// refuses within its set is reported at its line and column with
// Hyperscan's reason (kInvalid); so is a set whose stream state would not
// fit a worker's per-connection room (kStreamStateBytes).
config::Status compile_patterns(const config::Policy& policy, const PatternLibrary* previous, unsigned workers,
                                std::shared_ptr<const PatternLibrary>& out);

}  // namespace meshplane::ctrl
