#include "dataplane/checksum.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/unit/packet_builder.h"

namespace meshplane::dataplane {
namespace {

// An incrementally updated checksum must equal a full recomputation, for
// random headers and random 16- and 32-bit field changes.
TEST(Checksum, IncrementalMatchesFullRecompute) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    uint16_t words[10];
    for (auto& w : words) w = static_cast<uint16_t>(rng());
    words[5] = 0;
    words[5] = rte_cpu_to_be_16(testing::rfc1071(words, sizeof words));
    const int i = static_cast<int>(rng() % 10);
    if (i == 5) continue;
    const uint16_t old_word = words[i];
    const uint16_t new_word = static_cast<uint16_t>(rng());
    words[i] = new_word;
    const uint16_t incremental = checksum_replace16(words[5], old_word, new_word);
    words[5] = 0;
    const uint16_t full = rte_cpu_to_be_16(testing::rfc1071(words, sizeof words));
    // 0x0000 and 0xffff are both zero in one's complement (RFC 1624 section 3).
    if (!((incremental == 0 || incremental == 0xffff) && (full == 0 || full == 0xffff))) {
      ASSERT_EQ(incremental, full) << "round " << round;
    }
  }
}

TEST(Checksum, Replace32IsTwoReplace16) {
  uint8_t hdr[20] = {0x45, 0, 0, 60, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
  uint16_t c = rte_cpu_to_be_16(testing::rfc1071(hdr, 20));
  uint32_t old_addr, new_addr = rte_cpu_to_be_32(0xC0A80101);
  memcpy(&old_addr, hdr + 12, 4);
  memcpy(hdr + 12, &new_addr, 4);
  uint16_t updated = checksum_replace32(c, old_addr, new_addr);
  memcpy(hdr + 10, &updated, 2);
  EXPECT_EQ(testing::rfc1071(hdr, 20), 0);
}

}  // namespace
}  // namespace meshplane::dataplane
