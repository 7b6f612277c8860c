#include "dataplane/inspect/inspect_state.h"

#include <cstdlib>

namespace meshplane::dataplane {
namespace {

// open() and close() tell the hooks, on their own thread, that the stream
// they are about to open or close lives in a record: Hyperscan then neither
// allocates nor frees for it. Streams opened by anything else (tests, tools)
// use malloc as without the hook.
thread_local void* t_next_stream = nullptr;
thread_local bool t_closing_record = false;

void* allocate_stream(size_t size) {
  if (void* p = t_next_stream) {
    t_next_stream = nullptr;
    return size <= kStreamStateBytes ? p : nullptr;
  }
  return std::malloc(size);
}

void free_stream(void* p) {
  if (t_closing_record) {
    t_closing_record = false;
    return;
  }
  std::free(p);
}

}  // namespace

// A zero-filled InspectFlow is a value-initialised one (the pool relies on it).
static_assert(static_cast<int>(SegmentOrderer::State::kInspecting) == 0);

InspectState::InspectState(uint32_t flow_capacity, uint32_t flows)
    : capacity_(flows),
      records_(flows, HugeArray<InspectFlow>::ZeroPages{}),
      of_flow_(flow_capacity, HugeArray<uint32_t>::ZeroPages{}) {}

void InspectState::install_allocator() { hs_set_stream_allocator(allocate_stream, free_stream); }

uint32_t InspectState::take(uint32_t f) {
  uint32_t i = free_head_;
  if (i != kNone)
    free_head_ = records_[i].next_free;
  else if (fresh_ < capacity_)
    i = fresh_++;
  else
    return kNone;
  InspectFlow& r = records_[i];
  r.flow = f;
  r.active = r.started = r.midstream = 0;
  r.stream[0] = r.stream[1] = nullptr;
  ++in_use_;
  return i;
}

void InspectState::give_back(uint32_t i) {
  InspectFlow& r = records_[i];
  close(r, 0);
  close(r, 1);
  r.next_free = free_head_;
  free_head_ = i;
  --in_use_;
}

bool InspectState::open(InspectFlow& r, int d, const hs_database_t* db) {
  t_next_stream = r.stream_memory[d].data();
  hs_stream_t* s = nullptr;
  const bool ok = hs_open_stream(db, 0, &s) == HS_SUCCESS;
  t_next_stream = nullptr;
  r.stream[d] = ok ? s : nullptr;
  return ok;
}

void InspectState::close(InspectFlow& r, int d, hs_scratch_t* scratch, match_event_handler on_match, void* ctx) {
  if (!r.stream[d]) return;
  t_closing_record = true;
  hs_close_stream(r.stream[d], scratch, on_match, ctx);
  t_closing_record = false;
  r.stream[d] = nullptr;
}

}  // namespace meshplane::dataplane
