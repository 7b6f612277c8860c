// A worker's payload-inspection state (dataplane/stages/inspect.cc): a fixed
// pool of per-connection records, allocated once on the control side, each
// holding both directions' segment orderers and the memory of their
// Hyperscan streams; which record a flow uses, by flow index; counters per
// pattern set and per pattern. Hyperscan allocates a stream's state through a
// process-wide hook: open() hands it the record's own memory, so opening and
// closing streams in a worker neither allocates nor frees.
#pragma once

#include <hs/hs_runtime.h>

#include <array>
#include <cstdint>
#include <memory>

#include "common/limits.h"
#include "dataplane/inspect/segment_orderer.h"
#include "dataplane/tables/huge_array.h"
#include "dataplane/worker/counters.h"

namespace meshplane::dataplane {

struct PatternSetCounters {
  MESHPLANE_PATTERN_SET_COUNTERS(MESHPLANE_COUNTER_MEMBER)
};
MESHPLANE_COUNTER_TABLE(kPatternSetCounters, PatternSetCounters, MESHPLANE_PATTERN_SET_COUNTERS)

// One connection under inspection.
struct alignas(64) InspectFlow {
  uint32_t flow = 0;      // the flow it belongs to
  uint32_t db_id = 0;     // PatternSetView::id its streams were opened with
  uint32_t set = 0;       // the set's slot
  uint32_t next_free = 0;
  uint8_t active = 0;     // bit d: direction d (0 client to server, 1 back) is still inspected
  uint8_t started = 0;    // bit d: direction d's first sequence number is known (order[d] is set)
  uint8_t midstream = 0;  // bit d: direction d was picked up after its start: anchored patterns do not apply
  hs_stream_t* stream[2] = {};  // open streams (null: not yet, or closed)
  SegmentOrderer order[2];
  alignas(64) std::array<uint8_t, kStreamStateBytes> stream_memory[2];
};

class InspectState {
 public:
  static constexpr uint32_t kNone = ~uint32_t{0};
  static constexpr uint32_t kBlocked = kNone - 1;  // of_flow: the connection was reset; its packets are dropped

  // `flow_capacity`: the worker's flow table size; `flows`: connections
  // inspected at once. Memory is reserved, and committed only as records are
  // first used (a gateway that inspects nothing pays nothing).
  InspectState(uint32_t flow_capacity, uint32_t flows);

  // Installs the stream allocation hook (once per process, before any stream opens).
  static void install_allocator();

  // A record for flow `f`, or kNone when none is left.
  uint32_t take(uint32_t f);
  void give_back(uint32_t record);
  InspectFlow& record(uint32_t i) { return records_[i]; }
  // The record flow `f` uses, kNone, or kBlocked.
  uint32_t of_flow(uint32_t f) const { return of_flow_[f] - 1; }
  void set_of_flow(uint32_t f, uint32_t record) { of_flow_[f] = record + 1; }
  uint32_t in_use() const { return in_use_; }
  uint32_t capacity() const { return capacity_; }

  // Opens direction d's stream of `r` in its own memory; false if the
  // database needs more state than kStreamStateBytes (the compiler refuses such sets).
  static bool open(InspectFlow& r, int d, const hs_database_t* db);
  // Closes direction d's stream: with `on_match`, end-of-data matches are reported first.
  static void close(InspectFlow& r, int d, hs_scratch_t* scratch = nullptr, match_event_handler on_match = nullptr,
                    void* ctx = nullptr);

  PatternSetCounters sets[kMaxPatternSets];
  Counter matches[kMaxPatterns];  // by pattern counter slot

 private:
  uint32_t capacity_;
  uint32_t free_head_ = kNone;  // records given back
  uint32_t fresh_ = 0;          // records [fresh_, capacity_) were never used
  uint32_t in_use_ = 0;
  HugeArray<InspectFlow> records_;
  HugeArray<uint32_t> of_flow_;  // 1 + record; 0: none (so fresh zero pages mean "none")
};

}  // namespace meshplane::dataplane
