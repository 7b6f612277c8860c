// Payload matching as workers read it (dataplane/stages/inspect.cc): the
// pattern sets of the policy, each a Hyperscan stream-mode database compiled
// on the control thread (ctrl/compile/pattern_compiler.cc), in slots that
// stay with a set's name across policy changes; its patterns' actions; and a
// Hyperscan scratch per worker, allocated before the snapshot is published.
#pragma once

#include <cstdint>
#include <vector>

struct hs_database;
struct hs_scratch;

namespace meshplane::dataplane {

enum class PatternAction : uint8_t { kBlock, kAlert, kTag };  // config::PatternAction's order

struct PatternView {
  uint32_t counter;     // the pattern's counter slot in every worker (stable across changes)
  PatternAction action;
  bool start_anchored;  // matches only from a stream's start: not on connections picked up mid-stream
};

struct PatternSetView {
  const hs_database* db = nullptr;  // null: no set in this slot
  uint32_t id = 0;  // of the compiled database: a set whose patterns change gets another
  uint32_t depth = 0;  // bytes inspected of each direction
  uint32_t first_pattern = 0, pattern_count = 0;  // InspectView::patterns; Hyperscan's id indexes from first
  bool client = true, server = true;  // directions inspected
  bool hold_out_of_order = true;      // hold segments past a hole (SegmentOrderer), or stop at the first
  bool fail_closed = false;           // inspection that cannot go on resets the connection
};

struct InspectView {
  std::vector<PatternSetView> sets;  // by slot
  std::vector<PatternView> patterns;
  std::vector<hs_scratch*> scratch;  // by worker id; enough for every set's database
  uint32_t events_per_second = 100;  // block and alert events, per worker

  // The set in slot `slot`, or null.
  const PatternSetView* set(uint32_t slot) const {
    return slot < sets.size() && sets[slot].db ? &sets[slot] : nullptr;
  }
};

}  // namespace meshplane::dataplane
