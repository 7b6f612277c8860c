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
#include <deque>
#include <map>
#include <memory>
#include <mutex>
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

// Compiled sets by definition, for any thread: the API thread compiles a
// document's sets before it queues the document (Hyperscan takes seconds for
// a thousand patterns, and the control thread answers ARP and the API
// meanwhile), and the control thread's compile finds them here. Keeps the
// newest 2 x kMaxPatternSets.
class PatternCache {
 public:
  // Compiles the sets of `policy` not here yet; what Hyperscan refuses is
  // left for the control thread's compile to report.
  void prepare(const config::Policy& policy);
  std::shared_ptr<const CompiledPatternSet> find(const config::PatternSet& set) const;

 private:
  mutable std::mutex mutex_;
  std::deque<std::shared_ptr<const CompiledPatternSet>> sets_;  // newest last
};

// Compiles `policy`'s pattern sets for `workers` workers, reusing `previous`
// (may be null): its unchanged sets, its name slots; and `cache`'s sets (may
// be null). A pattern Hyperscan refuses within its set is reported at its
// line and column with Hyperscan's reason (kInvalid); so is a set whose
// stream state would not fit a worker's per-connection room (kStreamStateBytes).
config::Status compile_patterns(const config::Policy& policy, const PatternLibrary* previous, unsigned workers,
                                std::shared_ptr<const PatternLibrary>& out, const PatternCache* cache = nullptr);

}  // namespace meshplane::ctrl
