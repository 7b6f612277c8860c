// Traffic selector narrowing (RFC 7296 section 2.9): what the initiator
// proposes, cut to what the peer is allowed: addresses, ports and protocol
// each intersected, nothing when they do not overlap, IPv6 alike.
#include "ctrl/ike/ike_auth.h"

#include <gtest/gtest.h>

namespace meshplane::ctrl::ike {
namespace {

TrafficSelector v4(std::array<uint8_t, 4> from, std::array<uint8_t, 4> to, uint8_t proto = 0, uint16_t p0 = 0,
                   uint16_t p1 = 65535) {
  TrafficSelector t;
  std::copy(from.begin(), from.end(), t.start.begin());
  std::copy(to.begin(), to.end(), t.end.begin());
  t.protocol = proto, t.start_port = p0, t.end_port = p1;
  return t;
}

TEST(IkeNarrowing, OfferedSelectorsAreCutToWhatIsAllowed) {
  const auto allowed = v4({10, 1, 0, 0}, {10, 1, 255, 255});
  EXPECT_EQ(narrow({v4({0, 0, 0, 0}, {255, 255, 255, 255})}, {allowed}), std::vector<TrafficSelector>{allowed})
      << "everything offered: the allowed prefix";
  EXPECT_EQ(narrow({v4({10, 1, 2, 0}, {10, 1, 2, 255}, 6, 80, 80)}, {allowed}),
            std::vector<TrafficSelector>{v4({10, 1, 2, 0}, {10, 1, 2, 255}, 6, 80, 80)})
      << "already inside: unchanged";
  EXPECT_EQ(narrow({v4({10, 0, 0, 0}, {10, 1, 0, 255}, 0, 1000, 2000)}, {v4({10, 1, 0, 0}, {10, 1, 255, 255}, 17, 1500)}),
            std::vector<TrafficSelector>{v4({10, 1, 0, 0}, {10, 1, 0, 255}, 17, 1500, 2000)});
  EXPECT_TRUE(narrow({v4({10, 2, 0, 0}, {10, 2, 255, 255})}, {allowed}).empty()) << "another prefix";
  EXPECT_TRUE(narrow({v4({10, 1, 0, 0}, {10, 1, 0, 255}, 6)}, {v4({10, 1, 0, 0}, {10, 1, 0, 255}, 17)}).empty())
      << "another protocol";
  TrafficSelector v6;
  v6.type = kTsIpv6Range;
  v6.end.fill(0xff);
  EXPECT_TRUE(narrow({v6}, {allowed}).empty()) << "IPv6 against an IPv4 range";
  TrafficSelector doc6 = v6;
  doc6.start = {0x20, 0x01, 0x0d, 0xb8};
  doc6.end = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(narrow({v6}, {doc6}), std::vector<TrafficSelector>{doc6});
}

}  // namespace
}  // namespace meshplane::ctrl::ike
