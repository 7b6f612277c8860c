#include "ctrl/compile/snapshot_compiler.h"

#include <gtest/gtest.h>
#include <rte_lpm.h>

#include "config/parser.h"

namespace meshplane::ctrl {
namespace {

TEST(SnapshotCompiler, ConnectedAndStaticRoutes) {
  auto parsed = config::load_policy_text(R"(ports:
  - {name: a, device: d0, addresses: [10.0.1.1/24, 192.168.5.1/30]}
  - {name: b, device: d1, addresses: [10.0.2.1/24]}
routes:
  - {prefix: 0.0.0.0/0, via: 10.0.2.254}
  - {prefix: 10.20.0.0/16, via: 10.0.1.9}
)",
                                         "t");
  ASSERT_TRUE(parsed.ok()) << config::format(parsed.errors);
  auto c = compile_snapshot(parsed.policy, {{3, {}}, {4, {}}}, 9);
  ASSERT_TRUE(c.snapshot) << c.message;
  const auto& s = *c.snapshot;
  EXPECT_EQ(s.generation, 9u);
  EXPECT_EQ(s.ports[0].dpdk_port, 3);
  EXPECT_EQ(s.ports[1].primary_address, 0x0a000201u);
  auto route = [&](uint32_t dst) {
    const int32_t nh = s.route(dst);
    EXPECT_GE(nh, 0);
    return s.next_hops[nh < 0 ? 0 : nh];
  };
  EXPECT_EQ(route(0x0a000105).port, 0);  // connected 10.0.1.0/24
  EXPECT_EQ(route(0x0a000105).gateway, 0u);
  EXPECT_EQ(route(0x0a140101).gateway, 0x0a000109u);  // 10.20.0.0/16 via 10.0.1.9
  EXPECT_EQ(route(0x0a140101).port, 0);
  EXPECT_EQ(route(0x08080808).gateway, 0x0a0002feu);  // default via 10.0.2.254
  EXPECT_EQ(route(0x08080808).port, 1);
  ASSERT_NE(s.local(0xc0a80501), nullptr);
  EXPECT_TRUE(s.directed_broadcast(0xc0a80503));
  EXPECT_TRUE(s.directed_broadcast(0x0a0001ff));
  EXPECT_FALSE(s.directed_broadcast(0x0a0001fe));
}

TEST(SnapshotCompiler, PortCountMustMatchRunningPorts) {
  auto parsed = config::load_policy_text("ports:\n  - {name: a, device: d0, addresses: [10.0.1.1/24]}\n", "t");
  ASSERT_TRUE(parsed.ok());
  auto c = compile_snapshot(parsed.policy, {}, 1);
  EXPECT_FALSE(c.snapshot);
  EXPECT_EQ(c.code, config::Status::Code::kInvalid);
  EXPECT_NE(c.message.find("ports"), std::string::npos);
}

}  // namespace
}  // namespace meshplane::ctrl
