#include "dataplane/net/checksum.h"

#include <netinet/in.h>

#include <gtest/gtest.h>

#include <random>

#include "dataplane/net/l4_rewrite.h"
#include "tests/support/packet_builder.h"

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

// NAT rewrites of random TCP and UDP packets: both checksums, updated
// incrementally, must verify under an independent RFC 1071 computation.
TEST(Checksum, TupleRewriteMatchesIndependentChecksums) {
  std::mt19937 rng(11);
  for (int round = 0; round < 20000; ++round) {
    const uint8_t proto = round % 2 ? IPPROTO_TCP : IPPROTO_UDP;
    std::vector<uint8_t> l4 = proto == IPPROTO_TCP ? testing::tcp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()),
                                                                  rng(), rng(), 0x10, rng() % 64)
                                                   : testing::udp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()),
                                                                  rng() % 64);
    for (size_t i = proto == IPPROTO_TCP ? 20 : 8; i < l4.size(); ++i) l4[i] = static_cast<uint8_t>(rng());
    std::vector<uint8_t> pkt(20 + l4.size());
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(pkt.data());
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(pkt.size()));
    ip->time_to_live = 64;
    ip->next_proto_id = proto;
    ip->src_addr = rng();
    ip->dst_addr = rng();
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_cpu_to_be_16(testing::rfc1071(ip, 20));
    const uint16_t off = testing::checksum_offset(proto);
    const uint16_t c = testing::l4_sum(rte_be_to_cpu_32(ip->src_addr), rte_be_to_cpu_32(ip->dst_addr), proto,
                                       l4.data(), l4.size());
    l4[off] = c >> 8, l4[off + 1] = c & 0xff;
    std::copy(l4.begin(), l4.end(), pkt.begin() + 20);

    const uint32_t src = rng(), dst = rng();
    const uint16_t sport = static_cast<uint16_t>(rng()), dport = static_cast<uint16_t>(rng());
    rewrite_tuple(ip, pkt.data() + 20, proto, src, sport, dst, dport);
    ASSERT_EQ(ip->src_addr, src);
    ASSERT_EQ(ip->dst_addr, dst);
    ASSERT_EQ(testing::rfc1071(ip, 20), 0) << "round " << round;
    ASSERT_EQ(testing::l4_sum(rte_be_to_cpu_32(src), rte_be_to_cpu_32(dst), proto, pkt.data() + 20, l4.size()), 0)
        << "round " << round;
    uint16_t ports[2];
    std::memcpy(ports, pkt.data() + 20, 4);
    ASSERT_EQ(ports[0], sport);
    ASSERT_EQ(ports[1], dport);
  }
}

}  // namespace
}  // namespace meshplane::dataplane
