// libFuzzer target for payload inspection's stream path: any sequence of
// segments (as in segment_orderer_fuzz) goes through a SegmentOrderer into a
// Hyperscan stream opened in an inspection record's own memory (the worker's
// allocation hook, dataplane/inspect/inspect_state.cc), closed with
// end-of-data matching. Differential: the matches must be exactly those of
// Hyperscan's block mode over the bytes the orderer gave out, whatever the
// segmentation; AddressSanitizer checks the record memory the stream lives in.
// fuzz-sources: dataplane/inspect/segment_orderer.cc dataplane/inspect/inspect_state.cc
// fuzz-libs: -lhs
#include <hs/hs.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "dataplane/inspect/inspect_state.h"
#include "tests/fuzz/fuzz_input.h"

using meshplane::dataplane::InspectFlow;
using meshplane::dataplane::InspectState;
using meshplane::dataplane::SegmentOrderer;

using meshplane::fuzz::take32;

namespace {

// A small alphabet, so that the patterns below match often.
uint8_t byte_at(uint32_t seq) { return "abc"[(seq * 2654435761u >> 24) % 3]; }

using Matches = std::set<std::pair<unsigned, unsigned long long>>;  // (pattern, end offset)

struct Engine {
  hs_database_t* stream_db = nullptr;
  hs_database_t* block_db = nullptr;
  hs_scratch_t* scratch = nullptr;
  std::unique_ptr<InspectState> state;
  Engine() {
    const char* patterns[] = {"abca", "a[bc]{3}a", "^ab", "cc$", "b.{0,6}c{2}"};
    const unsigned flags[] = {0, 0, 0, 0, HS_FLAG_DOTALL};
    const unsigned ids[] = {0, 1, 2, 3, 4};
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(patterns, flags, ids, 5, HS_MODE_STREAM, nullptr, &stream_db, &err) != HS_SUCCESS ||
        hs_compile_multi(patterns, flags, ids, 5, HS_MODE_BLOCK, nullptr, &block_db, &err) != HS_SUCCESS)
      __builtin_trap();
    hs_alloc_scratch(stream_db, &scratch);
    hs_alloc_scratch(block_db, &scratch);
    InspectState::install_allocator();
    state = std::make_unique<InspectState>(1, 1);
  }
};

int collect(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
  static_cast<Matches*>(ctx)->insert({id, to});
  return 0;
}

struct Feed {
  InspectFlow* record;
  hs_scratch_t* scratch;
  Matches matches;
  std::vector<uint8_t> given;
};

void scan(void* ctx, SegmentOrderer::Piece p) {
  auto* f = static_cast<Feed*>(ctx);
  f->given.insert(f->given.end(), p.data, p.data + p.length);
  if (hs_scan_stream(f->record->stream[0], reinterpret_cast<const char*>(p.data), p.length, 0, f->scratch, collect,
                     &f->matches) != HS_SUCCESS)
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Engine engine;
  const uint32_t first = take32(data, size);
  const uint32_t depth = take32(data, size) % 5000;
  const uint32_t record = engine.state->take(0);
  if (record == InspectState::kNone) __builtin_trap();  // the previous input gave its record back
  InspectFlow& r = engine.state->record(record);
  r.order[0].reset(first, depth);
  if (!InspectState::open(r, 0, engine.stream_db)) __builtin_trap();
  Feed feed{&r, engine.scratch, {}, {}};
  std::vector<uint8_t> segment;
  while (size >= 4) {
    const uint32_t word = take32(data, size);
    const uint32_t seq = first + (word & 0xfff) - 0x100;  // near the stream: retransmits, holes, overlaps
    const uint32_t length = (word >> 12) & 0x3ff;
    segment.resize(length);
    for (uint32_t i = 0; i < length; ++i) segment[i] = byte_at(seq + i);
    if (r.order[0].add(seq, segment.data(), length, scan, &feed) != SegmentOrderer::State::kInspecting) break;
  }
  InspectState::close(r, 0, engine.scratch, collect, &feed.matches);
  if (r.stream[0]) __builtin_trap();
  engine.state->give_back(record);
  Matches expected;
  if (!feed.given.empty() &&
      hs_scan(engine.block_db, reinterpret_cast<const char*>(feed.given.data()), static_cast<unsigned>(feed.given.size()),
              0, engine.scratch, collect, &expected) != HS_SUCCESS)
    __builtin_trap();
  if (feed.given.empty()) {  // Hyperscan block mode needs data; a stream closed on nothing matches nothing
    if (!feed.matches.empty()) __builtin_trap();
  } else if (feed.matches != expected) {
    __builtin_trap();  // stream mode over the ordered pieces must find what block mode finds in their bytes
  }
  return 0;
}
