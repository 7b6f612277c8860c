// Rate limits in the load balancer on real mbufs: a service's connection
// limit drops (or rejects) new connections over it, a per-source limit
// stops one client without touching another, a packet limit holds back an
// established connection; counted per service as rate_limited. Limits of
// one a second, so that "back to back" holds on the busiest machine.
#include <gtest/gtest.h>

#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kVip = 0x0a1e000a;
constexpr uint32_t kA = 0x0a000102, kB = 0x0a000103;

std::string policy(const std::string& limit) {
  return R"(ports:
  - {name: a, device: net_null0, addresses: [10.0.1.1/24]}
  - {name: b, device: net_null1, addresses: [10.0.2.1/24]}
load_balancer: {max_services: 4, max_endpoints: 8, flow_capacity: 1024}
services:
  - name: web
    vip: 10.30.0.10
    ports: [{protocol: tcp, port: 80}]
    endpoints: [{address: 10.0.2.11}]
    rate_limit: )" + limit + "\n";
}

class RateLimitsTest : public ::testing::Test {
 protected:
  void start(const std::string& limit) {
    rig_ = std::make_unique<testing::WorkerRig>(policy(limit));
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    for (uint32_t host : {kA, kB})
      rig_->neighbours.set(rig_->neighbours.insert(0, host), NeighbourState::kReachable, {{2, 0, 0, 0, 1, 2}});
    rig_->neighbours.set(rig_->neighbours.insert(1, 0x0a00020b), NeighbourState::kReachable, {{2, 0, 0, 0, 2, 11}});
  }
  // A segment to the VIP; which port it left by (1: the endpoint, 0: back to the client), or -1.
  int send(uint32_t client, uint16_t sport, uint8_t flags) {
    testing::Frame f;
    f.dst = testing::kMacA, f.src = {{2, 0, 0, 0, 1, 2}}, f.ip_src = client, f.ip_dst = kVip, f.proto = IPPROTO_TCP;
    f.l4 = testing::tcp(sport, 80, 1000, flags & 0x10 ? 1 : 0, flags, 0);
    rig_->run(testing::build(rig_->pool, testing::with_l4_checksum(f)));
    const int out = rig_->w.tx[1].count ? 1 : rig_->w.tx[0].count ? 0 : -1;
    rig_->clear_tx();
    return out;
  }
  uint64_t limited() const {
    const auto& web = rig_->services[rig_->registry->service_slot("web")];
    return web.drops[static_cast<size_t>(DropReason::kRateLimited) - kFirstLbDropReason].get();
  }
  std::unique_ptr<testing::WorkerRig> rig_;
};

TEST_F(RateLimitsTest, ConnectionsOverTheServiceLimitAreDropped) {
  start("{connections_per_second: 1}");  // a burst of 1, then one a second: back to back, one gets in
  EXPECT_EQ(send(kA, 40000, 0x02), 1);
  EXPECT_EQ(send(kA, 40001, 0x02), -1);
  EXPECT_EQ(send(kB, 40002, 0x02), -1);
  EXPECT_EQ(limited(), 2u);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kRateLimited), 2u);
  EXPECT_EQ(send(kA, 40000, 0x10), 1) << "an established connection is not a new one";
}

TEST_F(RateLimitsTest, RejectAnswersWithAReset) {
  start("{connections_per_second: 1, action: reject}");
  EXPECT_EQ(send(kA, 40000, 0x02), 1);
  EXPECT_EQ(send(kA, 40001, 0x02), 0) << "the RST goes back to the client";
}

TEST_F(RateLimitsTest, APerSourceLimitStopsOneClientOnly) {
  start("{per_source: {prefix_length: 32, connections_per_second: 1}}");
  EXPECT_EQ(send(kA, 40000, 0x02), 1);
  EXPECT_EQ(send(kA, 40001, 0x02), -1);
  EXPECT_EQ(send(kB, 40002, 0x02), 1) << "another source has its own allowance";
}

TEST_F(RateLimitsTest, APacketLimitHoldsBackEstablishedTraffic) {
  start("{packets_per_second: 1}");  // a burst of 1
  EXPECT_EQ(send(kA, 40000, 0x02), 1);
  EXPECT_EQ(send(kA, 40000, 0x10), -1);
  EXPECT_EQ(limited(), 1u);
}

}  // namespace
}  // namespace meshplane::dataplane
