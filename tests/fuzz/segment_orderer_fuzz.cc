// libFuzzer target for the in-order byte stream of a TCP direction
// (dataplane/inspect/segment_orderer.cc): any sequence of segments, each
// with any sequence number (near the stream, or anywhere in the 32-bit
// space) and any length, against any starting number and depth. The stream
// given out must be one contiguous run from the first byte, each byte once,
// never more than `depth`, and equal to the bytes the segments carried at
// those numbers; AddressSanitizer catches reads outside a segment or the hold.
// fuzz-sources: dataplane/inspect/segment_orderer.cc
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/inspect/segment_orderer.h"
#include "tests/fuzz/fuzz_input.h"

using meshplane::dataplane::SegmentOrderer;

using meshplane::fuzz::take32;

namespace {

// Byte i of the stream is a function of i, so any byte given can be checked.
uint8_t byte_at(uint32_t seq) { return static_cast<uint8_t>(seq * 2654435761u >> 24); }

struct Given {
  uint32_t first;
  uint32_t count = 0;
};

void check(void* ctx, SegmentOrderer::Piece p) {
  auto* g = static_cast<Given*>(ctx);
  for (uint32_t i = 0; i < p.length; ++i)
    if (p.data[i] != byte_at(g->first + g->count + i)) __builtin_trap();  // a byte out of place
  g->count += p.length;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint32_t first = take32(data, size);
  const uint32_t depth = take32(data, size) % 20000;
  SegmentOrderer o(first, depth);
  Given given{first};
  std::vector<uint8_t> segment;
  while (size >= 4) {
    const uint32_t word = take32(data, size);
    // Mostly near the stream (retransmits, holes, overlaps); sometimes anywhere.
    const uint32_t seq = (word & 0x80000000u) ? word : first + (word & 0x3fff) - 0x400;
    const uint32_t length = (word >> 14) & 0x7ff;
    segment.resize(length);
    for (uint32_t i = 0; i < length; ++i) segment[i] = byte_at(seq + i);
    o.add(seq, segment.data(), length, check, &given);
    if (given.count > depth) __builtin_trap();
    if (o.next() != first + given.count) __builtin_trap();
  }
  return 0;
}
