#include "dataplane/tables/lb_view.h"

#include <gtest/gtest.h>
#include <rte_byteorder.h>

#include <random>

namespace meshplane::dataplane {
namespace {

// VIPs as operators number them: 10.30.x.y in order, in network byte order.
uint32_t vip(uint32_t i) { return rte_cpu_to_be_32(0x0a1e0000u | (i / 250) << 8 | (i % 250 + 1)); }

std::vector<std::pair<uint64_t, uint32_t>> listeners(uint32_t services, uint32_t ports_each) {
  std::vector<std::pair<uint64_t, uint32_t>> items;
  for (uint32_t s = 0; s < services; ++s)
    for (uint32_t p = 0; p < ports_each; ++p)
      items.emplace_back(LbView::listener_key(vip(s), 6, rte_cpu_to_be_16(static_cast<uint16_t>(80 + p))),
                         static_cast<uint32_t>(items.size()));
  return items;
}

TEST(StaticMap, FindsEveryKeyAndNothingElse) {
  StaticMap m;
  EXPECT_EQ(m.find(LbView::vip_key(vip(0))), StaticMap::kMissing);  // never built
  const auto items = listeners(3000, 3);
  m.build(items);
  for (const auto& [k, v] : items) ASSERT_EQ(m.find(k), v);
  EXPECT_EQ(m.find(LbView::listener_key(vip(0), 17, rte_cpu_to_be_16(80))), StaticMap::kMissing);
  EXPECT_EQ(m.find(LbView::listener_key(vip(3000), 6, rte_cpu_to_be_16(80))), StaticMap::kMissing);
  EXPECT_EQ(m.find(LbView::vip_key(vip(1))), StaticMap::kMissing);
}

// A VIP lookup is on every packet: its probe chain must stay short however
// many services share the gateway. Sequential VIPs differ only in their high
// bytes; a hash that loses them puts every key into one chain (1,000
// services: 999 probes).
TEST(StaticMap, ProbeChainsStayShortForSequentialVips) {
  for (uint32_t services : {10u, 1000u, 10000u, 60000u}) {
    StaticMap m;
    m.build(listeners(services, 1));
    EXPECT_LE(m.longest_probe(), 24u) << services << " services, one port each";
    StaticMap many_ports;
    many_ports.build(listeners(services / 10 + 1, 10));
    EXPECT_LE(many_ports.longest_probe(), 24u) << services / 10 + 1 << " services, ten ports each";
    std::vector<std::pair<uint64_t, uint32_t>> vips;
    for (uint32_t s = 0; s < services; ++s) vips.emplace_back(LbView::vip_key(vip(s)), s);
    StaticMap by_vip;
    by_vip.build(vips);
    EXPECT_LE(by_vip.longest_probe(), 24u) << services << " VIPs";
  }
}

TEST(StaticMap, ProbeChainsStayShortForRandomKeys) {
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint64_t, uint32_t>> items;
  for (uint32_t i = 0; i < 100000; ++i) items.emplace_back(rng() | 1, i);
  StaticMap m;
  m.build(items);
  EXPECT_LE(m.longest_probe(), 32u);
  for (uint32_t i = 0; i < items.size(); i += 97) ASSERT_EQ(m.find(items[i].first), items[i].second);
}

}  // namespace
}  // namespace meshplane::dataplane
