// IKE's way through the workers: UDP 500, and UDP 4500 with the non-ESP
// marker, to the gateway's own address go to the control thread (punted as
// kIke) when the policy has `ike`, and are dropped as ike_not_served when it
// has not; ESP on 4500 still goes to decryption. Traffic routed to a peer
// keyed by IKE before it is keyed is dropped as esp_tunnel_down. A packet
// the control thread injects with InjectAt::kRoute is routed (MACs, egress
// port) like the gateway's own.
#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/worker/packet_meta.h"
#include "dataplane/worker/pipeline.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"

namespace meshplane::dataplane {
namespace {

using testing::build;
using testing::Frame;
using testing::kMacA;
using testing::kMacB;

class IkePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    close(mkstemp(key_));
    rig_ = std::make_unique<testing::WorkerRig>(policy(true));
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    rig_->neighbours.set(rig_->neighbours.insert(1, 0xc0000202), NeighbourState::kReachable, kMacB);
  }
  void TearDown() override { std::remove(key_); }
  std::string policy(bool ike) {
    return std::string(R"(ports:
  - {name: lan, device: d0, addresses: [10.1.0.1/24]}
  - {name: wan, device: d1, addresses: [192.0.2.1/24]}
)") + (ike ? "ike: {certificate: /etc/gw.pem, key: " + std::string(key_) + ", ca: /etc/ca.pem}\n" : "") +
           R"(peers:
  - name: far
    address: 192.0.2.2
    local_address: 192.0.2.1
    prefixes: [10.2.0.0/16]
)" + (ike ? "    identity: gw-b.example\n    ike: {}\n"
          : "    sas:\n      - {direction: outbound, spi: 0x1001, key: 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4}\n"
            "      - {direction: inbound, spi: 0x2001, key: 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4}\n");
  }
  // A UDP datagram from the peer to the gateway's WAN address, its payload `payload`.
  rte_mbuf* to_gateway(uint16_t sport, uint16_t dport, std::vector<uint8_t> payload) {
    Frame f;
    f.dst = kMacB, f.src = kMacA, f.ip_src = 0xc0000202, f.ip_dst = 0xc0000201;  // port 1 (WAN) has kMacB
    f.l4 = testing::udp(sport, dport, payload.size());
    std::copy(payload.begin(), payload.end(), f.l4.begin() + 8);
    return build(rig_->pool, f);
  }
  // What the control thread got, and why.
  std::vector<PuntReason> punted() {
    std::vector<PuntReason> out;
    rte_mbuf* m;
    while (rte_ring_dequeue(rig_->punt, reinterpret_cast<void**>(&m)) == 0) {
      out.push_back(meta(m).reason);
      rte_pktmbuf_free(m);
    }
    return out;
  }

  char key_[32] = "/tmp/mp-ike-path-key-XXXXXX";
  std::unique_ptr<testing::WorkerRig> rig_;
};

TEST_F(IkePathTest, IkeToTheGatewayGoesToTheControlThread) {
  const std::vector<uint8_t> ike(28, 0x11);  // an IKE header's worth (the control thread parses it)
  std::vector<uint8_t> marked(4 + ike.size(), 0x11);
  std::fill(marked.begin(), marked.begin() + 4, 0);
  rig_->run(to_gateway(500, 500, ike), 1);
  rig_->run(to_gateway(4500, 4500, marked), 1);
  EXPECT_EQ(punted(), (std::vector<PuntReason>{PuntReason::kIke, PuntReason::kIke}));
  rig_->run(to_gateway(4500, 4500, std::vector<uint8_t>(40, 0x22)), 1);  // no marker: ESP, with an SPI nobody has
  EXPECT_TRUE(punted().empty());
  EXPECT_EQ(rig_->counters.dropped(DropReason::kEspNoSa), 1u);

  ASSERT_TRUE(rig_->reload(policy(false))) << rig_->error;
  rig_->run(to_gateway(500, 500, ike), 1);
  EXPECT_TRUE(punted().empty());
  EXPECT_EQ(rig_->counters.dropped(DropReason::kIkeNotServed), 1u) << "without ike, nobody takes it";
}

TEST_F(IkePathTest, TrafficForAPeerNotKeyedYetIsDroppedAsTunnelDown) {
  Frame f;
  f.dst = kMacA, f.src = kMacB, f.ip_src = 0x0a010005, f.ip_dst = 0x0a020007;
  f.l4 = testing::udp(1000, 53, 20);
  rig_->run(build(rig_->pool, f), 0);
  EXPECT_EQ(rig_->w.tx[1].count, 0);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kEspNoOutboundSa), 1u);
}

TEST_F(IkePathTest, AnInjectedPacketToRouteIsRoutedLikeTheGatewaysOwn) {
  rte_ring* ring = rte_ring_create("ike_path_inject", 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_NE(ring, nullptr);
  rig_->w.inject_ring = ring;
  Frame f;  // as IkeRuntime builds it: MACs left zero for the route stage
  f.ip_src = 0xc0000201, f.ip_dst = 0xc0000202;
  f.l4 = testing::udp(500, 500, 40);
  rte_mbuf* m = build(rig_->pool, f);
  meta(m).inject_at = InjectAt::kRoute;
  ASSERT_EQ(rte_ring_enqueue(ring, m), 0);
  EXPECT_EQ(inject_process(rig_->w, *rig_->snapshot), 1);
  ASSERT_EQ(rig_->w.tx[1].count, 1) << "out of the WAN port, towards the peer";
  rte_mbuf* out = rig_->w.tx[1].pkts[0];
  EXPECT_EQ(std::memcmp(&testing::eth_of(out)->dst_addr, &kMacB, 6), 0);
  EXPECT_EQ(std::memcmp(&testing::eth_of(out)->src_addr, &rig_->snapshot->ports[1].mac, 6), 0);
  EXPECT_EQ(testing::ipv4_of(out)->time_to_live, 64) << "the gateway's own: no TTL decrement";
  rig_->clear_tx();
  rig_->w.inject_ring = nullptr;
  rte_ring_free(ring);
}

}  // namespace
}  // namespace meshplane::dataplane
