// The access stage on real mbufs through the whole pipeline: allowed traffic
// goes on (to routing and to load balancing), denied traffic is dropped,
// rejected TCP is answered with a RST and other rejected traffic with ICMP
// "administratively prohibited", rules with `log` send records, hits are
// counted per rule, and the default applies when no rule matches.
#include <gtest/gtest.h>
#include <rte_icmp.h>
#include <rte_ring_elem.h>
#include <rte_tcp.h>

#include "ctrl/runtime/access_text.h"
#include "dataplane/stages/access.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"
#include "tests/unit/expect_tx.h"

namespace meshplane::dataplane {
namespace {

using testing::build;
using testing::Frame;
using testing::ipv4_of;
using testing::kMacA;
using testing::kMacB;

constexpr uint32_t kClient = 0x0a000102;  // 10.0.1.2, port a
constexpr uint32_t kLab = 0x0a000142;     // 10.0.1.66, port a
constexpr uint32_t kServer = 0x0a00020b;  // 10.0.2.11, port b
constexpr uint32_t kVip = 0x0a1e000a;     // 10.30.0.10
const rte_ether_addr kMacClient{{0x02, 0, 0, 0, 1, 2}};
const rte_ether_addr kMacServer{{0x02, 0, 0, 0, 2, 11}};

std::string policy(const std::string& default_action = "allow") {
  return R"(ports:
  - {name: a, device: net_null0, addresses: [10.0.1.1/24]}
  - {name: b, device: net_null1, addresses: [10.0.2.1/24]}
load_balancer: {max_services: 4, max_endpoints: 8, flow_capacity: 1024}
services:
  - {name: web, vip: 10.30.0.10, ports: [{protocol: tcp, port: 80}], endpoints: [{address: 10.0.2.11}]}
access:
  default: )" + default_action + R"(
  rules:
    - {name: no-telnet, action: reject, protocol: tcp, destination_ports: 23}
    - {name: no-tftp, action: reject, protocol: udp, destination_ports: 69}
    - {name: lab, action: deny, source: 10.0.1.64/27, log: true}
    - {name: no-ping-from-b, action: deny, protocol: icmp, icmp_type: 8, ingress: b}
    - {name: web-only-80, action: deny, destination: 10.30.0.10, protocol: tcp, destination_ports: 81-65535}
    - {name: servers, action: allow, destination: 10.0.2.0/24}
)";
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override { start(policy()); }
  void TearDown() override { rte_ring_free(log_); }

  void start(const std::string& text) {
    rig_.reset();
    rig_ = std::make_unique<testing::WorkerRig>(text);
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    rig_->neighbours.set(rig_->neighbours.insert(0, kClient), NeighbourState::kReachable, kMacClient);
    rig_->neighbours.set(rig_->neighbours.insert(0, kLab), NeighbourState::kReachable, kMacClient);
    rig_->neighbours.set(rig_->neighbours.insert(1, kServer), NeighbourState::kReachable, kMacServer);
    if (!log_) log_ = rte_ring_create_elem("access_test_log", sizeof(AccessLogRecord), 64, SOCKET_ID_ANY,
                                           RING_F_SP_ENQ | RING_F_SC_DEQ);
    rig_->w.access_log = log_;
  }
  Frame tcp(uint32_t src, uint32_t dst, uint16_t dport, uint8_t flags = 0x02) {
    Frame f;
    f.dst = kMacA, f.src = kMacClient, f.ip_src = src, f.ip_dst = dst, f.proto = IPPROTO_TCP;
    f.l4 = testing::tcp(40000, dport, 1000, 0, flags, 0);
    return testing::with_l4_checksum(f);
  }
  Frame udp(uint32_t src, uint32_t dst, uint16_t dport) {
    Frame f;
    f.dst = kMacA, f.src = kMacClient, f.ip_src = src, f.ip_dst = dst, f.proto = IPPROTO_UDP;
    f.l4 = testing::udp(5000, dport, 16);
    return f;
  }
  uint64_t hits(const char* rule) const {
    const auto& table = *rig_->snapshot->access_table;
    for (uint32_t i = 0; i < table.rules().rules.size(); ++i)
      if (table.rules().rules[i].name == rule) return table.hits(i);
    ADD_FAILURE() << "no rule " << rule;
    return 0;
  }
  uint64_t dropped(DropReason r) const { return rig_->counters.dropped(r); }

  std::unique_ptr<testing::WorkerRig> rig_;
  rte_ring* log_ = nullptr;
};

TEST_F(AccessTest, AllowedTrafficIsRoutedAndBalanced) {
  rig_->run(build(rig_->pool, tcp(kClient, kServer, 443)));
  ASSERT_NE(testing::only_tx(rig_->w, 1), nullptr);
  EXPECT_EQ(hits("servers"), 1u);
  rig_->clear_tx();
  rig_->run(build(rig_->pool, tcp(kClient, kVip, 80)));  // no rule: the default (allow), then the load balancer
  rte_mbuf* out = testing::only_tx(rig_->w, 1);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(rte_be_to_cpu_32(ipv4_of(out)->dst_addr), kServer);
  EXPECT_EQ(dropped(DropReason::kAccessDenied) + dropped(DropReason::kAccessRejected), 0u);
}

TEST_F(AccessTest, RejectedTcpIsAnsweredWithAReset) {
  rig_->run(build(rig_->pool, tcp(kClient, kServer, 23)));
  rte_mbuf* out = testing::only_tx(rig_->w, 0);
  ASSERT_NE(out, nullptr);
  const rte_ipv4_hdr* ip = ipv4_of(out);
  EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), kClient);
  EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), kServer);  // the RST speaks for the server
  const auto* t = reinterpret_cast<const rte_tcp_hdr*>(ip + 1);
  EXPECT_EQ(t->tcp_flags & 0x04, 0x04);
  EXPECT_EQ(rte_be_to_cpu_16(t->src_port), 23);
  EXPECT_EQ(dropped(DropReason::kAccessRejected), 1u);
  EXPECT_EQ(hits("no-telnet"), 1u);
  rig_->clear_tx();
  rig_->run(build(rig_->pool, tcp(kClient, kServer, 23, 0x04)));  // a RST is never answered
  EXPECT_EQ(rig_->w.tx[0].count + rig_->w.tx[1].count, 0);
  EXPECT_EQ(dropped(DropReason::kAccessRejected), 2u);
}

TEST_F(AccessTest, RejectedUdpIsAnsweredWithIcmpAdministrativelyProhibited) {
  rig_->run(build(rig_->pool, udp(kClient, kServer, 69)));
  rte_mbuf* out = testing::only_tx(rig_->w, 0);
  ASSERT_NE(out, nullptr);
  const rte_ipv4_hdr* ip = ipv4_of(out);
  EXPECT_EQ(ip->next_proto_id, IPPROTO_ICMP);
  EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), kClient);
  const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(ip + 1);
  EXPECT_EQ(icmp->icmp_type, 3);
  EXPECT_EQ(icmp->icmp_code, 13);
  EXPECT_EQ(testing::rfc1071(icmp, rte_be_to_cpu_16(ip->total_length) - 20), 0);
}

TEST_F(AccessTest, DeniedTrafficIsDroppedAndLogged) {
  rig_->run(build(rig_->pool, udp(kLab, kServer, 53)));
  EXPECT_EQ(rig_->w.tx[0].count + rig_->w.tx[1].count, 0);
  EXPECT_EQ(dropped(DropReason::kAccessDenied), 1u);
  EXPECT_EQ(hits("lab"), 1u);
  EXPECT_EQ(hits("servers"), 0u);  // the first match decides
  AccessLogRecord r{};
  ASSERT_EQ(rte_ring_sc_dequeue_elem(log_, &r, sizeof r), 0);
  EXPECT_EQ(r.verdict, AccessVerdict::kDeny);
  EXPECT_EQ(ctrl::describe(r, *rig_->snapshot->access_table, rig_->policy.ports),
            "rule 'lab' (line 12) denied udp 10.0.1.66:5000 -> 10.0.2.11:53 from port a");
  EXPECT_EQ(rig_->counters.access_logged.get(), 1u);
}

TEST_F(AccessTest, IcmpTypeAndIngressPortNarrowARule) {
  Frame ping;
  ping.dst = kMacB, ping.src = kMacServer, ping.ip_src = kServer, ping.ip_dst = kClient, ping.proto = IPPROTO_ICMP;
  ping.l4 = testing::icmp_echo(1, 1, 8);
  rig_->run(build(rig_->pool, ping), 1);
  EXPECT_EQ(dropped(DropReason::kAccessDenied), 1u);
  Frame from_a = ping;
  from_a.dst = kMacA, from_a.ip_src = kClient, from_a.ip_dst = kServer;
  rig_->run(build(rig_->pool, from_a), 0);  // the same ping entering on port a: allowed
  EXPECT_NE(testing::only_tx(rig_->w, 1), nullptr);
  EXPECT_EQ(hits("no-ping-from-b"), 1u);
}

TEST_F(AccessTest, ARuleBeforeTheLoadBalancerKeepsAFlowFromStarting) {
  rig_->run(build(rig_->pool, tcp(kClient, kVip, 8080)));
  EXPECT_EQ(dropped(DropReason::kAccessDenied), 1u);
  EXPECT_EQ(dropped(DropReason::kVipUnknownPort), 0u);  // the load balancer never saw it
  EXPECT_EQ(rig_->flows->size(), 0u);
}

TEST_F(AccessTest, TheDefaultDecidesWhatNoRuleMatches) {
  start(policy("deny"));
  rig_->run(build(rig_->pool, tcp(kClient, kVip, 80)));
  EXPECT_EQ(dropped(DropReason::kAccessDenied), 1u);
  rig_->run(build(rig_->pool, tcp(kClient, kServer, 80)));  // 'servers' allows it
  EXPECT_NE(testing::only_tx(rig_->w, 1), nullptr);
}

}  // namespace
}  // namespace meshplane::dataplane
