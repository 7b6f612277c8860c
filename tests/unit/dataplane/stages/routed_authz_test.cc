// Authorization of routed connections, on real mbufs through the pipeline:
// a destination's policy decides each connection towards it once (TCP and
// UDP; other protocols packet by packet), the flow carries its replies, a
// connection the destination's side opens is not asked, a change cuts (or
// keeps) what it now denies, and with several workers both directions of a
// connection meet at one worker.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rte_ring_elem.h>

#include <random>

#include "dataplane/stages/access.h"
#include "dataplane/stages/lb.h"
#include "dataplane/stages/routed_authz.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"

namespace meshplane::dataplane {
namespace {

using testing::build;
using testing::Frame;

constexpr uint32_t kOffice = 0x0a000102;  // 10.0.1.2: identity 'office'
constexpr uint32_t kLab = 0x0a000142;     // 10.0.1.66: the lab, any protocol
constexpr uint32_t kGuest = 0x0a0001c8;   // 10.0.1.200: nobody, audited
constexpr uint32_t kServer = 0x0a00020b;  // 10.0.2.11: behind port b, a protected destination
constexpr uint32_t kOpen = 0x0a000314;    // 10.0.3.20: routed through port b, not protected
constexpr rte_ether_addr kClientMac{{2, 0, 0, 0, 1, 2}}, kServerMac{{2, 0, 0, 0, 2, 11}};

std::string policy(const std::string& office = "10.0.1.0/26", const std::string& on_change = "cut") {
  return R"(ports:
  - {name: a, device: net_null0, addresses: [10.0.1.1/24]}
  - {name: b, device: net_null1, addresses: [10.0.2.1/24]}
routes:
  - {prefix: 10.0.3.0/24, via: 10.0.2.11}
load_balancer: {flow_capacity: 1024}
identities:
  - {name: office, prefixes: [)" + office + R"(]}
authorization:
  - name: servers
    destinations: [10.0.2.0/24]
    default: deny
    on_change: )" + on_change + R"(
    rules:
      - {name: office-ssh, action: allow, from: {identities: [office]}, to: {ports: [22], protocols: [tcp]}}
      - {name: lab, action: allow, from: {prefixes: [10.0.1.64/27]}}
      - {name: watch, action: audit, from: {prefixes: [10.0.1.200/32]}}
)";
}

class RoutedAuthzTest : public ::testing::Test {
 protected:
  void start(uint16_t workers = 1, const std::string& text = policy()) {
    TearDown();
    rig_ = std::make_unique<testing::WorkerRig>(text, testing::WorkerRig::Options{workers});
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    for (uint32_t host : {kOffice, kLab, kGuest})
      rig_->neighbours.set(rig_->neighbours.insert(0, host), NeighbourState::kReachable, kClientMac);
    rig_->neighbours.set(rig_->neighbours.insert(1, kServer), NeighbourState::kReachable, kServerMac);
    log_ = rte_ring_create_elem("routed_test_log", sizeof(AccessLogRecord), 64, SOCKET_ID_ANY,
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
    rig_->w.access_log = log_;
  }
  void SetUp() override { start(); }
  void TearDown() override {
    rig_.reset();
    rte_ring_free(log_);
    log_ = nullptr;
  }
  // Sends a frame in on `port`; returns whether it left through the other port.
  bool pass(Frame f, uint16_t port) {
    f.dst = port == 0 ? testing::kMacA : testing::kMacB;
    f.src = port == 0 ? kClientMac : kServerMac;
    const bool whole = f.frag == 0 && f.l4.size() >= (f.proto == IPPROTO_TCP ? 20u : 8u);  // a header to sum
    rig_->run(build(rig_->pool, f.proto != IPPROTO_ICMP && whole ? testing::with_l4_checksum(f) : f), port);
    const bool out = rig_->w.tx[1 - port].count == 1;
    rig_->clear_tx();
    return out;
  }
  bool tcp(uint32_t from, uint32_t to, uint16_t sport, uint16_t dport, uint8_t flags) {
    Frame f;
    f.ip_src = from, f.ip_dst = to, f.proto = IPPROTO_TCP;
    f.l4 = testing::tcp(sport, dport, 1000, flags & 0x10 ? 1 : 0, flags, 0);
    return pass(f, (from >> 8 & 0xff) == 1 ? 0 : 1);
  }
  bool ping(uint32_t from, uint32_t to) {
    Frame f;
    f.ip_src = from, f.ip_dst = to, f.proto = IPPROTO_ICMP, f.l4 = testing::icmp_echo(7, 1, 16);
    return pass(f, 0);
  }
  uint64_t denied() const { return rig_->counters.dropped(DropReason::kAuthzDenied); }

  std::unique_ptr<testing::WorkerRig> rig_;
  rte_ring* log_ = nullptr;
};

TEST_F(RoutedAuthzTest, ConnectionsAreDecidedOnceAndCarryTheirReplies) {
  EXPECT_TRUE(tcp(kOffice, kServer, 40000, 22, 0x02));
  ASSERT_EQ(rig_->flows->size(), 1u);
  EXPECT_EQ(rig_->counters.routed_flows.get(), 1u);
  EXPECT_TRUE(tcp(kServer, kOffice, 22, 40000, 0x12)) << "the reply finds the flow";
  EXPECT_TRUE(tcp(kOffice, kServer, 40000, 22, 0x10));
  EXPECT_FALSE(tcp(kOffice, kServer, 40001, 23, 0x02)) << "office may reach port 22 only";
  EXPECT_FALSE(tcp(kGuest, kServer, 40000, 22, 0x02)) << "no rule: the default (deny)";
  EXPECT_EQ(denied(), 2u);
  EXPECT_EQ(rig_->flows->size(), 1u) << "denied connections leave no flow";
  EXPECT_TRUE(tcp(kLab, kServer, 40000, 9999, 0x02)) << "the lab may reach any port";
}

TEST_F(RoutedAuthzTest, AuditRulesReportWithThePolicy) {
  EXPECT_FALSE(tcp(kGuest, kServer, 40000, 22, 0x02));
  EXPECT_EQ(rig_->counters.routed_authz_audited.get(), 1u);
  AccessLogRecord r{};
  ASSERT_EQ(rte_ring_sc_dequeue_elem(log_, &r, sizeof r), 0);
  EXPECT_EQ(r.kind, LogKind::kRoutedAudit);
  EXPECT_EQ(r.table, rig_->snapshot->authz.destination_policy(kServer));
  EXPECT_EQ(r.verdict, AccessVerdict::kDeny);
  EXPECT_EQ(rig_->snapshot->authz_policies.at(r.table - 1), "destination 'servers'");
}

TEST_F(RoutedAuthzTest, WhatTheDestinationOpensIsNotAskedAndItsRepliesPass) {
  EXPECT_TRUE(tcp(kServer, kGuest, 5000, 80, 0x02)) << "from the protected side: not this authorization's";
  EXPECT_EQ(rig_->flows->size(), 1u) << "tracked, so that its replies are known";
  EXPECT_TRUE(tcp(kGuest, kServer, 80, 5000, 0x12)) << "the SYN-ACK of a client nobody allowed to connect";
  EXPECT_TRUE(tcp(kGuest, kServer, 80, 5000, 0x10));
  EXPECT_EQ(denied(), 0u);
  EXPECT_FALSE(tcp(kGuest, kServer, 81, 5000, 0x12)) << "a SYN-ACK nobody asked for is a packet towards it: decided";
}

TEST_F(RoutedAuthzTest, OtherProtocolsAreDecidedPacketByPacket) {
  EXPECT_FALSE(ping(kOffice, kServer)) << "office's rule is for tcp port 22";
  EXPECT_TRUE(ping(kLab, kServer)) << "the lab's rule has no 'to': any protocol";
  EXPECT_EQ(rig_->flows->size(), 0u);
  EXPECT_TRUE(ping(kGuest, kOpen)) << "a destination without authorization is not asked";
}

TEST_F(RoutedAuthzTest, ATruncatedHeaderIsDroppedAndLaterFragmentsAreDecidedAlone) {
  Frame f;
  f.ip_src = kLab, f.ip_dst = kServer, f.proto = IPPROTO_TCP, f.l4 = std::vector<uint8_t>(8, 0);
  EXPECT_FALSE(pass(f, 0));
  EXPECT_EQ(rig_->counters.dropped(DropReason::kShortFrame), 1u);
  Frame later;
  later.ip_src = kLab, later.ip_dst = kServer, later.proto = IPPROTO_UDP, later.frag = 185;  // offset 1480
  later.l4 = std::vector<uint8_t>(40, 0xab);
  EXPECT_TRUE(pass(later, 0)) << "the lab may send anything";
  later.ip_src = kOffice;
  EXPECT_FALSE(pass(later, 0)) << "no ports: office's port rule cannot match";
  EXPECT_EQ(rig_->flows->size(), 0u);
}

TEST_F(RoutedAuthzTest, AConnectionPickedUpMidStreamIsDecided) {
  EXPECT_TRUE(tcp(kOffice, kServer, 40000, 22, 0x10));
  ASSERT_EQ(rig_->flows->size(), 1u);
  EXPECT_FALSE(tcp(kGuest, kServer, 40000, 22, 0x10));
}

TEST_F(RoutedAuthzTest, AChangeCutsWhatItNowDenies) {
  ASSERT_TRUE(tcp(kOffice, kServer, 40000, 22, 0x02));
  ASSERT_TRUE(tcp(kOffice, kServer, 40001, 22, 0x02));
  ASSERT_TRUE(rig_->reload(policy("10.0.1.128/26")));  // 10.0.1.2 is no longer 'office'
  EXPECT_FALSE(tcp(kServer, kOffice, 22, 40000, 0x10)) << "cut: the reply too";
  EXPECT_EQ(rig_->counters.routed_authz_cut.get(), 1u);
  lb_sweep_authorization(rig_->w, *rig_->snapshot, 1u << 20);
  EXPECT_EQ(rig_->counters.routed_authz_cut.get(), 2u) << "the sweep cuts the idle one";
  EXPECT_EQ(rig_->flows->size(), 0u);
  EXPECT_FALSE(tcp(kOffice, kServer, 40000, 22, 0x10)) << "and its next packet is decided afresh: denied";
}

TEST_F(RoutedAuthzTest, KeepLeavesEstablishedConnectionsAlone) {
  start(1, policy("10.0.1.0/26", "keep"));
  ASSERT_TRUE(tcp(kOffice, kServer, 40000, 22, 0x02));
  ASSERT_TRUE(rig_->reload(policy("10.0.1.128/26", "keep")));
  lb_sweep_authorization(rig_->w, *rig_->snapshot, 1u << 20);
  EXPECT_TRUE(tcp(kOffice, kServer, 40000, 22, 0x10));
  EXPECT_EQ(rig_->counters.routed_authz_cut.get(), 0u);
  EXPECT_FALSE(tcp(kOffice, kServer, 40001, 22, 0x02)) << "a new connection meets the new rules";
}

TEST_F(RoutedAuthzTest, APortReusedAfterCloseIsDecidedAgain) {
  ASSERT_TRUE(tcp(kOffice, kServer, 40000, 22, 0x02));
  ASSERT_TRUE(tcp(kOffice, kServer, 40000, 22, 0x14));  // RST: the connection ended
  ASSERT_TRUE(rig_->reload(policy("10.0.1.128/26", "keep")));
  EXPECT_FALSE(tcp(kOffice, kServer, 40000, 22, 0x02)) << "a SYN on the old 5-tuple is a new connection";
}

TEST_F(RoutedAuthzTest, TheGatewaysOwnAddressesAreNotAsked) {
  EXPECT_TRUE(rig_->snapshot->local(0x0a000201));
  Frame f;
  f.ip_src = kGuest, f.ip_dst = 0x0a000201, f.proto = IPPROTO_ICMP, f.l4 = testing::icmp_echo(7, 1, 16);
  f.dst = testing::kMacA, f.src = kClientMac;
  rig_->run(build(rig_->pool, f), 0);
  EXPECT_EQ(rig_->w.tx[0].count, 1) << "the echo request to 10.0.2.1 is answered by the local stage";
  EXPECT_EQ(denied(), 0u);
}

TEST(RoutedOwner, BothDirectionsOfAConnectionHaveOneOwner) {
  std::mt19937 rng(7);
  uint32_t per_worker[4] = {};
  for (int i = 0; i < 10000; ++i) {
    const FlowKey k{static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()),
                    static_cast<uint16_t>(rng()), static_cast<uint8_t>(i & 1 ? IPPROTO_TCP : IPPROTO_UDP)};
    const FlowKey back{k.dst_addr, k.src_addr, k.dst_port, k.src_port, k.proto};
    const uint32_t owner = routed_owner(k, 4);
    ASSERT_LT(owner, 4u);
    ASSERT_EQ(owner, routed_owner(back, 4));
    ++per_worker[owner];
  }
  for (uint32_t n : per_worker) EXPECT_GT(n, 2000u) << "spread over the workers";
}

TEST_F(RoutedAuthzTest, AnotherWorkersConnectionIsHandedToIt) {
  start(2);
  // Find a source port whose connection worker 1 owns, and one worker 0 owns.
  uint16_t theirs = 0, ours = 0;
  for (uint16_t p = 40000; !theirs || !ours; ++p) {
    const FlowKey k{rte_cpu_to_be_32(kOffice), rte_cpu_to_be_32(kServer), rte_cpu_to_be_16(p), rte_cpu_to_be_16(22),
                    IPPROTO_TCP};
    (routed_owner(k, 2) == 1 ? theirs : ours) = p;
  }
  EXPECT_FALSE(tcp(kOffice, kServer, theirs, 22, 0x02));
  EXPECT_EQ(rte_ring_count(rig_->handoff[1]), 1u);
  EXPECT_FALSE(tcp(kServer, kOffice, 22, theirs, 0x12)) << "its reply goes to the same worker";
  EXPECT_EQ(rte_ring_count(rig_->handoff[1]), 2u);
  EXPECT_EQ(rig_->flows->size(), 0u);
  EXPECT_TRUE(tcp(kOffice, kServer, ours, 22, 0x02));
  EXPECT_EQ(rig_->flows->size(), 1u);
}

}  // namespace
}  // namespace meshplane::dataplane
