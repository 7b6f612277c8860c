// The replay window against a model simple enough to be obviously right (a
// set of every number received and the highest), on random sequences with
// reordering, duplicates and jumps, with and without ESN across 2^32; and
// ESN high-half inference (RFC 4303 appendix A.2).
#include "dataplane/ipsec/replay_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace meshplane::dataplane {
namespace {

struct Model {
  uint32_t size;
  uint64_t top = 0;
  std::set<uint64_t> seen;
  ReplayWindow::Verdict check(uint64_t s) const {
    if (s == 0 || seen.count(s)) return ReplayWindow::Verdict::kReplayed;
    if (s > top || size == 0) return ReplayWindow::Verdict::kNew;
    return top - s >= size ? ReplayWindow::Verdict::kTooOld : ReplayWindow::Verdict::kNew;
  }
  void accept(uint64_t s) {
    seen.insert(s);
    top = std::max(top, s);
  }
};

TEST(ReplayWindow, AgreesWithTheModelOnRandomTraffic) {
  std::mt19937_64 rng(11);
  for (uint32_t size : {32u, 64u, 100u, 1024u, 4096u}) {
    for (uint64_t start : {uint64_t{1}, (uint64_t{1} << 32) - 3000}) {
      ReplayWindow w(size);
      Model m{size};
      uint64_t next = start;
      for (int i = 0; i < 200000; ++i) {
        uint64_t s;
        const auto r = rng() % 100;
        if (r < 70) s = next++;                                          // in order
        else if (r < 85) s = next > 2 * size ? next - rng() % (2 * size) : next;  // late or replayed
        else if (r < 95) s = next + rng() % size;                        // ahead
        else s = next += rng() % (3 * size);                             // a jump
        const auto expected = m.check(s);
        // Model "seen" outside the window is not a replay for the window but too old: align the two.
        const auto got = w.check(s);
        if (expected == ReplayWindow::Verdict::kReplayed && m.top - s >= size && s != 0)
          ASSERT_EQ(got, ReplayWindow::Verdict::kTooOld) << "size " << size << " seq " << s;
        else
          ASSERT_EQ(got, expected) << "size " << size << " seq " << s << " top " << m.top;
        if (got == ReplayWindow::Verdict::kNew) {
          w.accept(s);
          m.accept(s);
        }
        ASSERT_EQ(w.top(), m.top);
      }
    }
  }
}

TEST(ReplayWindow, SizeZeroAcceptsEverythingButZero) {
  ReplayWindow w(0);
  w.accept(100);
  EXPECT_EQ(w.check(100), ReplayWindow::Verdict::kNew);
  EXPECT_EQ(w.check(1), ReplayWindow::Verdict::kNew);
  EXPECT_EQ(w.check(0), ReplayWindow::Verdict::kReplayed);
}

// RFC 4303 appendix A.2.2, both cases, and a window that crosses 2^32.
TEST(ReplayWindow, InfersTheEsnHighHalf) {
  ReplayWindow w(64);
  EXPECT_EQ(w.infer(5, true), 5u) << "nothing received yet";
  w.accept(uint64_t{3} << 32 | 1000);  // top: high 3, low 1000 (window within one subspace)
  EXPECT_EQ(w.infer(1000 - 63, true), uint64_t{3} << 32 | (1000 - 63)) << "bottom of the window";
  EXPECT_EQ(w.infer(2000, true), uint64_t{3} << 32 | 2000) << "ahead";
  EXPECT_EQ(w.infer(10, true), uint64_t{4} << 32 | 10) << "below the window: the next subspace";
  ReplayWindow v(64);
  v.accept(uint64_t{3} << 32 | 10);  // the window spans the end of subspace 2
  EXPECT_EQ(v.infer(0xffffffff, true), uint64_t{2} << 32 | 0xffffffff) << "late, from before the wrap";
  EXPECT_EQ(v.infer(5, true), uint64_t{3} << 32 | 5);
  EXPECT_EQ(v.infer(500, true), uint64_t{3} << 32 | 500);
  EXPECT_EQ(v.infer(0xffffffff, false), 0xffffffffu) << "without ESN the high half is 0";
}

// Sequence numbers sent across 2^32 with ESN arrive with only their low
// halves and are all accepted once, in order or slightly reordered.
TEST(ReplayWindow, EsnTrafficAcrossTheWrapIsAcceptedOnce) {
  ReplayWindow w(128);
  std::mt19937_64 rng(5);
  const uint64_t first = (uint64_t{1} << 32) - 5000;
  std::vector<uint64_t> sent;
  for (uint64_t s = first; s < first + 10000; ++s) sent.push_back(s);
  for (size_t i = 0; i + 8 < sent.size(); i += 8) std::shuffle(sent.begin() + i, sent.begin() + i + 8, rng);
  for (uint64_t s : sent) {
    const uint64_t inferred = w.infer(static_cast<uint32_t>(s), true);
    ASSERT_EQ(inferred, s);
    ASSERT_EQ(w.check(inferred), ReplayWindow::Verdict::kNew);
    w.accept(inferred);
    ASSERT_EQ(w.check(w.infer(static_cast<uint32_t>(s), true)), ReplayWindow::Verdict::kReplayed);
  }
}

}  // namespace
}  // namespace meshplane::dataplane
