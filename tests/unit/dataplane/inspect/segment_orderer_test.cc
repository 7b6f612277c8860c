// The in-order byte stream of a TCP direction from segments as they may
// arrive: split anywhere (down to single bytes), retransmitted whole or
// overlapping, reordered within the hold, starting anywhere in sequence
// space (wrapping). Differential: the bytes given must be exactly the
// payload's first `depth` bytes, and Hyperscan in stream mode over them
// must report exactly the matches its block mode finds in that prefix.
// A hole the hold cannot bridge stops inspection at the hole.
#include "dataplane/inspect/segment_orderer.h"

#include <gtest/gtest.h>
#include <hs/hs.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace meshplane::dataplane {
namespace {

struct Segment {
  uint32_t offset, length;
};

// The payload cut into segments of 1..max_len bytes (a few single bytes too).
std::vector<Segment> cut(uint32_t size, uint32_t max_len, std::mt19937& rng) {
  std::vector<Segment> out;
  for (uint32_t at = 0; at < size;) {
    const uint32_t n = std::min(size - at, static_cast<uint32_t>(rng() % 8 == 0 ? 1 : 1 + rng() % max_len));
    out.push_back({at, n});
    at += n;
  }
  return out;
}

// Arrival order: neighbours swapped (a hold of one suffices), old segments and overlapping ranges sent again.
std::vector<Segment> arrivals(std::vector<Segment> segs, uint32_t size, std::mt19937& rng) {
  for (size_t i = 0; i + 1 < segs.size(); i += 2)
    if (rng() % 3 == 0) std::swap(segs[i], segs[i + 1]);
  std::vector<Segment> out;
  for (size_t i = 0; i < segs.size(); ++i) {
    out.push_back(segs[i]);
    if (rng() % 5 == 0) out.push_back(segs[rng() % (i + 1)]);  // a retransmission
    if (rng() % 7 == 0 && size > 2) {                          // one overlapping what came before
      const uint32_t from = rng() % (segs[i].offset + 1);
      out.push_back({from, std::min(size - from, 1 + static_cast<uint32_t>(rng() % 900))});
    }
  }
  return out;
}

void collect(void* ctx, SegmentOrderer::Piece p) {
  static_cast<std::string*>(ctx)->append(reinterpret_cast<const char*>(p.data), p.length);
}

std::string random_payload(uint32_t size, std::mt19937& rng) {
  static const std::string plants[] = {"GET /admin", "evil123x", "EvIl9x", "/etc/passwd"};
  std::string s(size, ' ');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  for (int i = 0; i < 3 && size > 20; ++i) {
    const std::string& p = plants[rng() % 4];
    const uint32_t at = rng() % (size - static_cast<uint32_t>(p.size()));
    s.replace(at, p.size(), p);
  }
  return s;
}

TEST(SegmentOrderer, GivesEachByteOnceAndInOrderWhateverTheArrival) {
  std::mt19937 rng(11);
  for (int round = 0; round < 3000; ++round) {
    const uint32_t size = 1 + rng() % 6000;
    const std::string payload = random_payload(size, rng);
    const uint32_t depth = rng() % 2 ? size : 1 + rng() % (size + 100);
    const uint32_t first = rng() % 4 == 0 ? 0xffffffffu - rng() % 3000 : static_cast<uint32_t>(rng());  // wraps too
    SegmentOrderer o(first, depth);
    std::string given;
    for (const Segment& s : arrivals(cut(size, 1460, rng), size, rng))
      o.add(first + s.offset, reinterpret_cast<const uint8_t*>(payload.data()) + s.offset, s.length, collect, &given);
    ASSERT_EQ(given, payload.substr(0, depth)) << "round " << round;
    ASSERT_EQ(o.state(), depth <= size ? SegmentOrderer::State::kDone : SegmentOrderer::State::kInspecting);
  }
}

TEST(SegmentOrderer, AHoleTheHoldCannotBridgeStopsInspectionThere) {
  std::mt19937 rng(5);
  const std::string payload = random_payload(20000, rng);
  SegmentOrderer o(1000, 100000);
  std::string given;
  auto send = [&](uint32_t offset, uint32_t length) {
    return o.add(1000 + offset, reinterpret_cast<const uint8_t*>(payload.data()) + offset, length, collect, &given);
  };
  send(0, 1000);
  // 1000..1999 is lost; what follows is held while it fits.
  for (uint32_t i = 0; i < SegmentOrderer::kMaxHeldSegments; ++i) EXPECT_EQ(send(2000 + i * 500, 500), SegmentOrderer::State::kInspecting);
  EXPECT_EQ(o.held_segments(), SegmentOrderer::kMaxHeldSegments);
  EXPECT_EQ(send(4000, 500), SegmentOrderer::State::kGap);
  EXPECT_EQ(given, payload.substr(0, 1000)) << "nothing after the hole was given";
  EXPECT_EQ(send(1000, 1000), SegmentOrderer::State::kGap) << "a late fill does not restart it";
}

TEST(SegmentOrderer, AFilledHoleReleasesWhatWasHeld) {
  const std::string payload = "0123456789abcdefghij";
  SegmentOrderer o(7, 100);
  std::string given;
  auto send = [&](uint32_t offset, uint32_t length) {
    o.add(7 + offset, reinterpret_cast<const uint8_t*>(payload.data()) + offset, length, collect, &given);
  };
  send(15, 5);
  send(5, 5);
  EXPECT_EQ(given, "");
  send(0, 6);  // overlaps the held segment at 5
  EXPECT_EQ(given, "0123456789");
  send(10, 5);
  EXPECT_EQ(given, payload);
  EXPECT_EQ(o.held_segments(), 0u);
}

// Hyperscan in stream mode over the orderer's pieces finds what its block mode finds in the whole prefix.
using Matches = std::set<std::pair<unsigned, unsigned long long>>;

int record_match(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
  static_cast<Matches*>(ctx)->insert({id, to});
  return 0;
}

struct Feed {
  hs_stream_t* stream;
  hs_scratch_t* scratch;
  Matches* found;
};

void scan(void* ctx, SegmentOrderer::Piece p) {
  auto* f = static_cast<Feed*>(ctx);
  ASSERT_EQ(hs_scan_stream(f->stream, reinterpret_cast<const char*>(p.data), p.length, 0, f->scratch, record_match,
                           f->found),
            HS_SUCCESS);
}

class StreamMatches : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* expressions[] = {"GET /admin", "evil[0-9]+x", "/etc/passwd"};
    const unsigned flags[] = {HS_FLAG_SINGLEMATCH, HS_FLAG_CASELESS, 0};
    const unsigned ids[] = {1, 2, 3};
    hs_compile_error_t* error = nullptr;
    ASSERT_EQ(hs_compile_multi(expressions, flags, ids, 3, HS_MODE_STREAM, nullptr, &stream_db_, &error), HS_SUCCESS);
    ASSERT_EQ(hs_compile_multi(expressions, flags, ids, 3, HS_MODE_BLOCK, nullptr, &block_db_, &error), HS_SUCCESS);
    ASSERT_EQ(hs_alloc_scratch(stream_db_, &scratch_), HS_SUCCESS);
    ASSERT_EQ(hs_alloc_scratch(block_db_, &scratch_), HS_SUCCESS);
  }
  void TearDown() override {
    hs_free_scratch(scratch_);
    hs_free_database(stream_db_);
    hs_free_database(block_db_);
  }
  hs_database_t *stream_db_ = nullptr, *block_db_ = nullptr;
  hs_scratch_t* scratch_ = nullptr;
};

TEST_F(StreamMatches, APatternSplitOverSegmentsIsStillFound) {
  std::mt19937 rng(3);
  for (int round = 0; round < 1500; ++round) {
    const uint32_t size = 20 + rng() % 4000;
    const std::string payload = random_payload(size, rng);
    const uint32_t depth = rng() % 2 ? size : 1 + rng() % size;
    Matches want, got;
    ASSERT_EQ(hs_scan(block_db_, payload.data(), depth, 0, scratch_, record_match, &want), HS_SUCCESS);
    hs_stream_t* stream = nullptr;
    ASSERT_EQ(hs_open_stream(stream_db_, 0, &stream), HS_SUCCESS);
    Feed feed{stream, scratch_, &got};
    const uint32_t first = static_cast<uint32_t>(rng());
    SegmentOrderer ordered(first, depth);
    for (const Segment& s : arrivals(cut(size, rng() % 4 == 0 ? 1 : 700, rng), size, rng))
      ordered.add(first + s.offset, reinterpret_cast<const uint8_t*>(payload.data()) + s.offset, s.length, scan, &feed);
    ASSERT_EQ(hs_close_stream(stream, scratch_, record_match, &got), HS_SUCCESS);  // end-anchored matches need it
    ASSERT_EQ(got, want) << "round " << round;
  }
}

}  // namespace
}  // namespace meshplane::dataplane
