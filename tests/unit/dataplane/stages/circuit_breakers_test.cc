// Circuit breakers in the load balancer on real mbufs: an endpoint at its
// cap sends Maglev's pick elsewhere (overflow next) or refuses it (overflow
// refuse) with a RST to the client; a service at its cap refuses; a
// connection that ends (RST, expiry) gives its places back; per-endpoint
// rates. Maglev's picks are computed from the compiled table, so each case
// names the collision it needs instead of hoping for one.
#include <gtest/gtest.h>

#include <rte_tcp.h>

#include <set>

#include "dataplane/stages/lb.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kVip = 0x0a1e000a;
constexpr uint32_t kClient = 0x0a000102;
constexpr uint32_t kEndpoints[] = {0x0a00020b, 0x0a00020c, 0x0a00020d};

std::string policy(const std::string& breaker) {
  return R"(ports:
  - {name: a, device: net_null0, addresses: [10.0.1.1/24]}
  - {name: b, device: net_null1, addresses: [10.0.2.1/24]}
load_balancer: {max_services: 4, max_endpoints: 8, flow_capacity: 1024}
services:
  - name: web
    vip: 10.30.0.10
    ports: [{protocol: tcp, port: 80}]
    endpoints: [{address: 10.0.2.11}, {address: 10.0.2.12}, {address: 10.0.2.13}]
    circuit_breaker: )" + breaker + "\n";
}

class CircuitBreakersTest : public ::testing::Test {
 protected:
  void start(const std::string& breaker) {
    rig_ = std::make_unique<testing::WorkerRig>(policy(breaker));
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    rig_->neighbours.set(rig_->neighbours.insert(0, kClient), NeighbourState::kReachable, {{2, 0, 0, 0, 1, 2}});
    for (uint32_t e : kEndpoints)
      rig_->neighbours.set(rig_->neighbours.insert(1, e), NeighbourState::kReachable, {{2, 0, 0, 0, 2, 11}});
  }
  // Maglev's pick for a connection from `sport` (host order address).
  uint32_t pick(uint16_t sport) const {
    const LbView& lb = rig_->snapshot->lb;
    const LbService& svc = lb.services[0];
    const FlowKey key{rte_cpu_to_be_32(kClient), rte_cpu_to_be_32(kVip), rte_cpu_to_be_16(sport), rte_cpu_to_be_16(80),
                      IPPROTO_TCP};
    return rte_be_to_cpu_32(lb.endpoint(svc, lb.subset(svc, 0).lookup(FlowTable::hash(key))).address);
  }
  // Two client ports Maglev sends to the same endpoint, from `first` on.
  std::pair<uint16_t, uint16_t> colliding(uint16_t first = 40000) const {
    for (uint16_t p = first + 1;; ++p)
      if (pick(p) == pick(first)) return {first, p};
  }
  // A segment to the VIP: the endpoint it went to (host order), 0 when a
  // RST went back to the client, ~0 when nothing left.
  uint32_t send(uint16_t sport, uint8_t flags) {
    testing::Frame f;
    f.dst = testing::kMacA, f.src = {{2, 0, 0, 0, 1, 2}}, f.ip_src = kClient, f.ip_dst = kVip, f.proto = IPPROTO_TCP;
    f.l4 = testing::tcp(sport, 80, 1000, flags & 0x10 ? 1 : 0, flags, 0);
    rig_->run(testing::build(rig_->pool, testing::with_l4_checksum(f)));
    uint32_t out = ~0u;
    if (rig_->w.tx[1].count) {
      out = rte_be_to_cpu_32(testing::ipv4_of(rig_->w.tx[1].pkts[0])->dst_addr);
    } else if (rig_->w.tx[0].count) {
      const auto* tcp = rte_pktmbuf_mtod_offset(rig_->w.tx[0].pkts[0], rte_tcp_hdr*, 34);
      out = (tcp->tcp_flags & RTE_TCP_RST_FLAG) ? 0 : ~0u;
    }
    rig_->clear_tx();
    return out;
  }
  uint32_t endpoint_slot(uint32_t address) const { return rig_->registry->endpoint_slot({"web", address, 0}); }
  uint32_t service_slot() const { return rig_->registry->service_slot("web"); }
  uint32_t open_at(uint32_t address) const {
    return rig_->breakers->endpoint(endpoint_slot(address)).active.load();
  }
  uint32_t open_in_service() const { return rig_->breakers->service(service_slot()).active.load(); }
  uint64_t refused() const {
    return rig_->services[service_slot()].drops[static_cast<size_t>(DropReason::kCircuitOpen) - kFirstLbDropReason].get();
  }
  std::unique_ptr<testing::WorkerRig> rig_;
};

TEST_F(CircuitBreakersTest, AnEndpointAtItsCapOverflowsToAnotherThenTheServiceRefuses) {
  start("{per_endpoint: {max_connections: 1}}");
  const auto [first, second] = colliding();
  const uint32_t chosen = pick(first);
  EXPECT_EQ(send(first, 0x02), chosen);
  const uint32_t other = send(second, 0x02);
  EXPECT_NE(other, chosen) << "Maglev's pick is full: another endpoint takes it";
  EXPECT_NE(other, 0u);
  EXPECT_NE(other, ~0u);
  EXPECT_EQ(rig_->services[service_slot()].breaker_overflowed.get(), 1u);
  EXPECT_EQ(rig_->endpoints[endpoint_slot(chosen)].breaker_full.get(), 1u);
  std::set<uint32_t> used{chosen, other};
  const uint32_t third = send(40500, 0x02);
  used.insert(third);
  EXPECT_EQ(used.size(), 3u) << "the third connection gets the endpoint still free";
  EXPECT_EQ(send(40501, 0x02), 0u) << "every endpoint full: refused with a RST to the client";
  EXPECT_EQ(refused(), 1u);
  for (uint32_t e : kEndpoints) EXPECT_EQ(open_at(e), 1u);
  EXPECT_EQ(open_in_service(), 3u) << "the refused connection's place in the service was given back";
  EXPECT_EQ(send(first, 0x10), chosen) << "established connections are not touched";
}

TEST_F(CircuitBreakersTest, OverflowRefuseTurnsAwayWhatItsEndpointCannotTake) {
  start("{per_endpoint: {max_connections: 1}, overflow: refuse}");
  const auto [first, second] = colliding();
  EXPECT_EQ(send(first, 0x02), pick(first));
  EXPECT_EQ(send(second, 0x02), 0u) << "its endpoint is full and others are not tried";
  EXPECT_EQ(refused(), 1u);
  uint16_t elsewhere = 41000;
  while (pick(elsewhere) == pick(first)) ++elsewhere;
  EXPECT_EQ(send(elsewhere, 0x02), pick(elsewhere)) << "another endpoint's connections are not affected";
}

TEST_F(CircuitBreakersTest, TheServiceCapCountsEveryEndpointAndClosedConnectionsGiveTheirPlaceBack) {
  start("{max_connections: 2}");
  EXPECT_NE(send(40000, 0x02), ~0u);
  EXPECT_NE(send(40001, 0x02), ~0u);
  EXPECT_EQ(send(40002, 0x02), 0u);
  EXPECT_EQ(open_in_service(), 2u);
  send(40000, 0x14);  // the client resets its first connection: no longer open
  EXPECT_EQ(open_in_service(), 1u);
  EXPECT_EQ(send(40002, 0x02), pick(40002));
  EXPECT_EQ(open_in_service(), 2u);
}

TEST_F(CircuitBreakersTest, AnUnansweredConnectionThatExpiresGivesItsPlaceBack) {
  start("{per_endpoint: {max_connections: 1}, overflow: refuse}");
  const auto [first, second] = colliding();
  EXPECT_EQ(send(first, 0x02), pick(first));
  EXPECT_EQ(open_at(pick(first)), 1u);
  rig_->w.lb.now += 6000;  // past the SYN timeout (5 s)
  lb_expire(rig_->w, 1u << 20);  // each millisecond stepped costs one unit
  EXPECT_EQ(open_at(pick(first)), 0u);
  EXPECT_EQ(open_in_service(), 0u);
  EXPECT_EQ(send(second, 0x02), pick(first));
}

TEST_F(CircuitBreakersTest, AnEndpointRateTurnsAwayConnectionsBeyondIt) {
  start("{per_endpoint: {max_connections_per_second: 1}, overflow: refuse}");  // a burst of one
  const auto [first, second] = colliding();
  EXPECT_EQ(send(first, 0x02), pick(first));
  EXPECT_EQ(send(second, 0x02), 0u);
  EXPECT_EQ(open_at(pick(first)), 1u) << "the refused one was not counted";
}

TEST_F(CircuitBreakersTest, AServiceWithoutABreakerCountsNothing) {
  rig_ = std::make_unique<testing::WorkerRig>(policy("{max_connections: 1}").substr(
      0, policy("").find("    circuit_breaker")));
  ASSERT_TRUE(rig_->ok()) << rig_->error;
  rig_->neighbours.set(rig_->neighbours.insert(0, kClient), NeighbourState::kReachable, {{2, 0, 0, 0, 1, 2}});
  for (uint32_t e : kEndpoints)
    rig_->neighbours.set(rig_->neighbours.insert(1, e), NeighbourState::kReachable, {{2, 0, 0, 0, 2, 11}});
  for (uint16_t p = 40000; p < 40004; ++p) EXPECT_EQ(send(p, 0x02), pick(p));
  EXPECT_EQ(open_in_service(), 0u);
}

}  // namespace
}  // namespace meshplane::dataplane
