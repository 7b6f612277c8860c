// The load-balancer stage on real mbufs through the whole pipeline: NAT both
// ways (bytes and checksums checked independently), direct return, unknown
// ports, fragments, full tables, hand-off between workers, drained endpoints.
#include <gtest/gtest.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <fmt/format.h>
#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "dataplane/stages/lb.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"
#include "tests/unit/dataplane/worker/egress_probe.h"
#include "tests/unit/expect_tx.h"

namespace meshplane::dataplane {
namespace {

using testing::build;
using testing::Frame;
using testing::ipv4_of;
using testing::l4_sum_of;
using testing::rfc1071;

constexpr uint32_t kClient = 0x0a000102;  // 10.0.1.2, port a
constexpr uint32_t kGwB = 0x0a000201;     // 10.0.2.1: NAT source towards the endpoints
constexpr uint32_t kWebVip = 0x0a1e000a;  // 10.30.0.10
constexpr uint32_t kDnsVip = 0x0a1e0035;  // 10.30.0.53
constexpr uint32_t kDsrVip = 0x0a1e0014;  // 10.30.0.20
constexpr uint32_t kEp[3] = {0x0a00020b, 0x0a00020c, 0x0a00020d};  // 10.0.2.11-13
constexpr uint8_t kSyn = 0x02, kAck = 0x10, kRst = 0x04;

using testing::kMacA;
using testing::kMacB;
const rte_ether_addr kMacClient{{0x02, 0, 0, 0, 1, 2}};

std::string policy_text(const std::string& web_endpoints, uint32_t flow_capacity = 1024,
                        const std::string& nat_addresses = "[]") {
  return R"(ports:
  - {name: a, device: net_null0, addresses: [10.0.1.1/24]}
  - {name: b, device: net_null1, addresses: [10.0.2.1/24], mtu: 1000}
load_balancer: {max_services: 8, max_endpoints: 32, nat_addresses: )" +
         nat_addresses + ", flow_capacity: " + std::to_string(flow_capacity) + R"(}
services:
  - name: web
    vip: 10.30.0.10
    unknown_port: reject
    ports: [{protocol: tcp, port: 80, target_port: 8080}, {protocol: udp, port: 80}]
    endpoints: )" + web_endpoints + R"(
  - name: dns
    vip: 10.30.0.53
    ports: [{protocol: udp, port: 53}]
    endpoints: [{address: 10.0.2.11, port: 5353}]
  - name: video
    vip: 10.30.0.20
    mode: direct_return
    ports: [{protocol: tcp, port: 443}]
    endpoints: [{address: 10.0.2.13}]
)";
}
const std::string kThree = "[{address: 10.0.2.11}, {address: 10.0.2.12}, {address: 10.0.2.13}]";

class LbTest : public ::testing::Test {
 protected:
  void SetUp() override { start(policy_text(kThree)); }

  void start(const std::string& text, uint16_t workers = 1) {
    rig_.reset();  // its DPDK objects go before the next rig's
    rig_ = std::make_unique<testing::WorkerRig>(text, testing::WorkerRig::Options{.workers = workers});
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    rig_->neighbours.set(rig_->neighbours.insert(0, kClient), NeighbourState::kReachable, kMacClient);
    for (int i = 0; i < 3; ++i)
      rig_->neighbours.set(rig_->neighbours.insert(1, kEp[i]), NeighbourState::kReachable,
                           {{0x02, 0, 0, 0, 2, uint8_t(11 + i)}});
  }
  // Endpoint list for the web service: the three of kEp (or `listed`), those in `drained` at weight 0.
  static std::string endpoints_yaml(const std::vector<uint32_t>& drained,
                                    const std::vector<uint32_t>& listed = {kEp[0], kEp[1], kEp[2]}) {
    std::string out;
    for (uint32_t e : listed) {
      const bool zero = std::find(drained.begin(), drained.end(), e) != drained.end();
      out += fmt::format("{}{{address: 10.0.2.{}{}}}", out.empty() ? "" : ", ", e & 0xff, zero ? ", weight: 0" : "");
    }
    return "[" + out + "]";
  }
  static std::vector<uint32_t> all_but(uint32_t ep) {
    std::vector<uint32_t> others;
    for (uint32_t e : kEp)
      if (e != ep) others.push_back(e);
    return others;
  }
  // Applies the web service's new endpoint list as the control thread does; returns when.
  ctrl::LbRegistry::Clock::time_point reload(const std::string& web_endpoints) {
    const auto now = ctrl::LbRegistry::Clock::now();
    EXPECT_TRUE(rig_->reload(policy_text(web_endpoints), now)) << rig_->error;
    return now;
  }
  void clear_tx() { rig_->clear_tx(); }

  Frame tcp_from_client(uint32_t vip, uint16_t sport, uint16_t dport, uint8_t flags, size_t payload = 0) {
    Frame f;
    f.dst = kMacA, f.src = kMacClient, f.ip_src = kClient, f.ip_dst = vip, f.proto = IPPROTO_TCP;
    f.l4 = testing::tcp(sport, dport, 1000, flags & kAck ? 5000 : 0, flags, payload);
    return testing::with_l4_checksum(f);
  }
  Frame from_endpoint(uint32_t ep, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t proto, uint8_t flags) {
    Frame f;
    f.dst = kMacB, f.src = {{0x02, 0, 0, 0, 2, 11}}, f.ip_src = ep, f.ip_dst = dst, f.proto = proto;
    f.l4 = proto == IPPROTO_TCP ? testing::tcp(sport, dport, 7000, 1001, flags, 10) : testing::udp(sport, dport, 10);
    return testing::with_l4_checksum(f);
  }
  void run(rte_mbuf* m, uint16_t in_port = 0) { rig_->run(m, in_port); }
  rte_mbuf* only_tx(uint16_t port) { return testing::only_tx(rig_->w, port); }
  uint32_t slot_of(uint32_t ep, uint16_t port = 0) const { return rig_->registry->endpoint_slot({"web", ep, port}); }
  const ServiceCounters& web() const { return rig_->services[rig_->registry->service_slot("web")]; }

  std::unique_ptr<testing::WorkerRig> rig_;
};

TEST_F(LbTest, NatRewritesBothDirectionsWithValidChecksums) {
  run(build(rig_->pool, tcp_from_client(kWebVip, 40000, 80, kSyn, 12)));
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  const rte_ipv4_hdr* ip = ipv4_of(out);
  const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(ip + 1);
  const uint32_t ep = rte_be_to_cpu_32(ip->dst_addr);
  EXPECT_TRUE(ep == kEp[0] || ep == kEp[1] || ep == kEp[2]);
  EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), kGwB) << "full NAT: the gateway's address on the endpoint's port";
  EXPECT_EQ(rte_be_to_cpu_16(tcp->dst_port), 8080);
  const uint16_t nat_port = rte_be_to_cpu_16(tcp->src_port);
  EXPECT_GE(nat_port, 1024);
  EXPECT_EQ(ip->time_to_live, 63);
  EXPECT_EQ(rfc1071(ip, 20), 0) << "IP header checksum";
  EXPECT_EQ(l4_sum_of(out), 0) << "TCP checksum over the new pseudo-header";
  EXPECT_EQ(rte_be_to_cpu_32(tcp->sent_seq), 1000u) << "sequence numbers untouched";
  EXPECT_EQ(out->pkt_len, 14u + 20 + 20 + 12);
  clear_tx();

  run(build(rig_->pool, from_endpoint(ep, 8080, kGwB, nat_port, IPPROTO_TCP, kSyn | kAck)), 1);
  rte_mbuf* back = only_tx(0);
  ASSERT_NE(back, nullptr);
  const rte_ipv4_hdr* rip = ipv4_of(back);
  const auto* rtcp = reinterpret_cast<const rte_tcp_hdr*>(rip + 1);
  EXPECT_EQ(rte_be_to_cpu_32(rip->src_addr), kWebVip);
  EXPECT_EQ(rte_be_to_cpu_16(rtcp->src_port), 80);
  EXPECT_EQ(rte_be_to_cpu_32(rip->dst_addr), kClient);
  EXPECT_EQ(rte_be_to_cpu_16(rtcp->dst_port), 40000);
  EXPECT_EQ(rfc1071(rip, 20), 0);
  EXPECT_EQ(l4_sum_of(back), 0);
  EXPECT_TRUE(rte_is_same_ether_addr(&testing::eth_of(back)->dst_addr, &kMacClient));

  EXPECT_EQ(rig_->flows->size(), 1u);
  EXPECT_EQ(rig_->flows->flow(0).state, FlowState::kEstablished);
  const uint32_t slot = slot_of(ep);
  EXPECT_EQ(rig_->endpoints[slot].new_flows.get(), 1u);
  EXPECT_EQ(rig_->endpoints[slot].active_flows.get(), 1u);
  EXPECT_EQ(rig_->endpoints[slot].packets.get(), 2u);
  EXPECT_EQ(web().new_flows.get(), 1u);
  EXPECT_EQ(web().bytes.get(), (14u + 20 + 20 + 12) + (14u + 20 + 20 + 10));
}

// A client that reuses its source port after its connection closed (as busy
// HTTP clients do) opens a new connection: it is scheduled on the running
// policy, not sent to the endpoint the old connection had, and the old NAT
// tuple is gone in both directions.
TEST_F(LbTest, PortReusedAfterCloseIsScheduledAfreshAndAvoidsADrainedEndpoint) {
  run(build(rig_->pool, tcp_from_client(kWebVip, 40100, 80, kSyn)));
  rte_mbuf* first = only_tx(1);
  ASSERT_NE(first, nullptr);
  const uint32_t ep = rte_be_to_cpu_32(ipv4_of(first)->dst_addr);
  const uint16_t old_nat_port = rte_be_to_cpu_16(reinterpret_cast<const rte_tcp_hdr*>(ipv4_of(first) + 1)->src_port);
  clear_tx();
  run(build(rig_->pool, from_endpoint(ep, 8080, kGwB, old_nat_port, IPPROTO_TCP, kSyn | kAck)), 1);
  clear_tx();
  run(build(rig_->pool, tcp_from_client(kWebVip, 40100, 80, kAck | 0x01)));  // FIN
  clear_tx();
  EXPECT_EQ(rig_->endpoints[slot_of(ep)].active_flows.get(), 0u) << "a closing connection is not active";

  reload(endpoints_yaml({ep}));  // the old endpoint drained: weight 0
  run(build(rig_->pool, tcp_from_client(kWebVip, 40100, 80, kSyn)));  // the port again, a new connection
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  const uint32_t now_ep = rte_be_to_cpu_32(ipv4_of(out)->dst_addr);
  EXPECT_NE(now_ep, ep) << "a drained endpoint receives no new connection";
  const uint16_t nat_port = rte_be_to_cpu_16(reinterpret_cast<const rte_tcp_hdr*>(ipv4_of(out) + 1)->src_port);
  clear_tx();
  EXPECT_EQ(rig_->flows->size(), 1u) << "the old flow was replaced, not kept beside the new one";
  EXPECT_EQ(web().rescheduled.get(), 1u);
  EXPECT_EQ(web().new_flows.get(), 2u);
  EXPECT_EQ(rig_->endpoints[slot_of(now_ep)].new_flows.get(), 1u);
  EXPECT_EQ(rig_->endpoints[slot_of(now_ep)].active_flows.get(), 1u);
  EXPECT_EQ(rig_->endpoints[slot_of(ep)].active_flows.get(), 0u);

  // A late segment of the old connection no longer maps to the client...
  run(build(rig_->pool, from_endpoint(ep, 8080, kGwB, old_nat_port, IPPROTO_TCP, kAck)), 1);
  EXPECT_EQ(rig_->w.tx[0].count, 0);
  clear_tx();
  // ... and the new connection's replies do.
  run(build(rig_->pool, from_endpoint(now_ep, 8080, kGwB, nat_port, IPPROTO_TCP, kSyn | kAck)), 1);
  rte_mbuf* back = only_tx(0);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(rte_be_to_cpu_32(ipv4_of(back)->dst_addr), kClient);
  EXPECT_EQ(rte_be_to_cpu_16(reinterpret_cast<const rte_tcp_hdr*>(ipv4_of(back) + 1)->dst_port), 40100);
}

TEST_F(LbTest, SynRetransmissionKeepsItsEndpoint) {
  run(build(rig_->pool, tcp_from_client(kWebVip, 40200, 80, kSyn)));
  const uint32_t ep = rte_be_to_cpu_32(ipv4_of(only_tx(1))->dst_addr);
  clear_tx();
  reload(endpoints_yaml({ep}));
  run(build(rig_->pool, tcp_from_client(kWebVip, 40200, 80, kSyn)));  // same connection, SYN again
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(rte_be_to_cpu_32(ipv4_of(out)->dst_addr), ep);
  EXPECT_EQ(web().rescheduled.get(), 0u);
  EXPECT_EQ(web().new_flows.get(), 1u);
}

TEST_F(LbTest, ActiveFlowsCountOpenConnectionsOnly) {
  run(build(rig_->pool, tcp_from_client(kWebVip, 40300, 80, kSyn)));
  const uint32_t ep = rte_be_to_cpu_32(ipv4_of(only_tx(1))->dst_addr);
  clear_tx();
  EXPECT_EQ(rig_->endpoints[slot_of(ep)].active_flows.get(), 1u);
  run(build(rig_->pool, tcp_from_client(kWebVip, 40300, 80, kAck | kRst)));
  clear_tx();
  EXPECT_EQ(rig_->endpoints[slot_of(ep)].active_flows.get(), 0u);
  EXPECT_EQ(rig_->flows->size(), 1u) << "still tracked while its reset timeout runs";
  rig_->w.lb.now += FlowTimeouts{}.reset + 1;
  while (rig_->flows->size()) lb_expire(rig_->w, 64);
  EXPECT_EQ(rig_->endpoints[slot_of(ep)].active_flows.get(), 0u) << "expiry of a closed flow does not count it twice";
}

TEST_F(LbTest, UdpFlowToAnEndpointThatIsGoneIsRescheduled) {
  Frame f;
  f.dst = kMacA, f.src = kMacClient, f.ip_src = kClient, f.ip_dst = kWebVip;
  f.l4 = testing::udp(5600, 80, 20);
  run(build(rig_->pool, testing::with_l4_checksum(f)));
  const uint32_t ep = rte_be_to_cpu_32(ipv4_of(only_tx(1))->dst_addr);
  clear_tx();
  const auto now = reload(endpoints_yaml({}, all_but(ep)));
  ASSERT_FALSE(rig_->registry->expire(now + std::chrono::seconds(30)).empty());
  ASSERT_TRUE(rig_->publish()) << rig_->error;
  run(build(rig_->pool, testing::with_l4_checksum(f)));
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr) << "not black-holed";
  EXPECT_NE(rte_be_to_cpu_32(ipv4_of(out)->dst_addr), ep);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kEndpointGone), 0u);
  EXPECT_EQ(web().rescheduled.get(), 1u);
  EXPECT_EQ(rig_->flows->size(), 1u);
}

// Every load-balancer path reaches a port only through the stage placed
// before tx (issue 10): NAT both ways, direct return, TCP reset and ICMP port
// unreachable for an unknown port.
TEST_F(LbTest, EveryPathPassesTheStageBeforeTx) {
  testing::EgressProbe::install(rig_->w);
  run(build(rig_->pool, tcp_from_client(kWebVip, 47000, 80, kSyn)));  // NAT, client to endpoint
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  const uint32_t ep = rte_be_to_cpu_32(ipv4_of(out)->dst_addr);
  const uint16_t nat_port = rte_be_to_cpu_16(reinterpret_cast<const rte_tcp_hdr*>(ipv4_of(out) + 1)->src_port);
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 1));
  run(build(rig_->pool, from_endpoint(ep, 8080, kGwB, nat_port, IPPROTO_TCP, kSyn | kAck)), 1);  // NAT, the reply
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 2));
  run(build(rig_->pool, tcp_from_client(kDsrVip, 47001, 443, kSyn)));  // direct return: IP-in-IP
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 3));
  run(build(rig_->pool, tcp_from_client(kWebVip, 47002, 81, kSyn)));  // unknown port, reject: a reset
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 4));
  Frame udp;
  udp.dst = kMacA, udp.src = kMacClient, udp.ip_src = kClient, udp.ip_dst = kWebVip;
  udp.l4 = testing::udp(5600, 81, 8);
  run(build(rig_->pool, testing::with_l4_checksum(udp)));  // unknown UDP port, reject: port unreachable
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 5));
}

TEST_F(LbTest, UdpNatKeepsChecksumOptionalAndUsesEndpointPort) {
  Frame f;
  f.dst = kMacA, f.src = kMacClient, f.ip_src = kClient, f.ip_dst = kDnsVip;
  f.l4 = testing::udp(5555, 53, 20);  // checksum 0: none
  run(build(rig_->pool, f));
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ipv4_of(out) + 1);
  EXPECT_EQ(rte_be_to_cpu_16(udp->dst_port), 5353) << "endpoint port overrides the target port";
  EXPECT_EQ(udp->dgram_cksum, 0) << "no checksum stays no checksum";
  clear_tx();

  f = testing::with_l4_checksum(f);
  f.l4[0] = 0x20;  // another source port: a new flow, this time with a checksum
  f = testing::with_l4_checksum(f);
  run(build(rig_->pool, f));
  out = only_tx(1);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(l4_sum_of(out), 0);
  EXPECT_EQ(rig_->flows->size(), 2u);
}

TEST_F(LbTest, EachFlowSticksToOneEndpointAndFlowsSpread) {
  std::map<uint32_t, int> per_endpoint;
  for (uint16_t sport = 20000; sport < 20300; ++sport) {
    std::set<uint32_t> seen;
    for (uint8_t flags : {kSyn, kAck, kAck}) {
      run(build(rig_->pool, tcp_from_client(kWebVip, sport, 80, flags)));
      rte_mbuf* out = only_tx(1);
      ASSERT_NE(out, nullptr);
      seen.insert(ipv4_of(out)->dst_addr);
      clear_tx();
    }
    EXPECT_EQ(seen.size(), 1u) << "flow " << sport << " moved";
    per_endpoint[*seen.begin()]++;
  }
  ASSERT_EQ(per_endpoint.size(), 3u);
  for (auto [ep, n] : per_endpoint) EXPECT_NEAR(n, 100, 35) << ep;
}

TEST_F(LbTest, DirectReturnEncapsulatesInIpip) {
  run(build(rig_->pool, tcp_from_client(kDsrVip, 41000, 443, kSyn, 30)));
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  const rte_ipv4_hdr* outer = ipv4_of(out);
  const rte_ipv4_hdr* inner = outer + 1;
  EXPECT_EQ(outer->next_proto_id, IPPROTO_IPIP);
  EXPECT_EQ(rte_be_to_cpu_32(outer->src_addr), kGwB);
  EXPECT_EQ(rte_be_to_cpu_32(outer->dst_addr), kEp[2]);
  EXPECT_EQ(rte_be_to_cpu_16(outer->total_length), 20u + 20 + 20 + 30);
  EXPECT_EQ(rfc1071(outer, 20), 0);
  EXPECT_EQ(rte_be_to_cpu_32(inner->dst_addr), kDsrVip) << "the inner packet still goes to the VIP";
  EXPECT_EQ(rte_be_to_cpu_32(inner->src_addr), kClient);
  EXPECT_EQ(inner->time_to_live, 63);
  EXPECT_EQ(rfc1071(inner, 20), 0);
  EXPECT_EQ(out->pkt_len, 14u + 20 + 20 + 20 + 30);
  EXPECT_EQ(rig_->flows->size(), 1u);
  clear_tx();
  // Port b's MTU is 1000: a 990-byte DF packet no longer fits once wrapped.
  Frame big = tcp_from_client(kDsrVip, 41001, 443, kSyn, 990 - 40);
  big.frag = RTE_IPV4_HDR_DF_FLAG;
  run(build(rig_->pool, big));
  rte_mbuf* err = only_tx(0);
  ASSERT_NE(err, nullptr);
  const uint8_t* icmp = reinterpret_cast<const uint8_t*>(ipv4_of(err) + 1);
  EXPECT_EQ(icmp[0], 3);
  EXPECT_EQ(icmp[1], 4);
  EXPECT_EQ((icmp[6] << 8) | icmp[7], 980) << "next-hop MTU minus the outer header";
}

TEST_F(LbTest, NatPacketTooBigForTheEndpointsLinkGetsFragNeededToTheClient) {
  // Port b (towards the endpoints) has MTU 1000: the client must learn it, in an
  // error quoting what it sent (to the VIP), not what the NAT made of it.
  run(build(rig_->pool, tcp_from_client(kWebVip, 48000, 80, kSyn)));
  clear_tx();
  Frame big = tcp_from_client(kWebVip, 48000, 80, kAck, 1100);
  big.frag = RTE_IPV4_HDR_DF_FLAG;
  run(build(rig_->pool, big));
  rte_mbuf* err = only_tx(0);
  ASSERT_NE(err, nullptr);
  const rte_ipv4_hdr* ip = ipv4_of(err);
  const uint8_t* icmp = reinterpret_cast<const uint8_t*>(ip + 1);
  EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), kClient);
  EXPECT_EQ(icmp[0], 3);
  EXPECT_EQ(icmp[1], 4);
  EXPECT_EQ((icmp[6] << 8) | icmp[7], 1000);
  const auto* quoted = reinterpret_cast<const rte_ipv4_hdr*>(icmp + 8);
  EXPECT_EQ(rte_be_to_cpu_32(quoted->dst_addr), kWebVip);
  EXPECT_EQ(rte_be_to_cpu_32(quoted->src_addr), kClient);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kFragmentationNeeded), 1u);
}

// A router behind us (10.0.2.99) sends ICMP `type`/`code` (with `mtu`)
// about packet `out` as we sent it, quoting its IP header and 8 L4 bytes.
Frame icmp_from_router(rte_mbuf* out, uint8_t type, uint8_t code, uint16_t mtu) {
  std::vector<uint8_t> icmp(8 + 28);
  icmp[0] = type, icmp[1] = code, icmp[6] = mtu >> 8, icmp[7] = mtu & 0xff;
  std::memcpy(icmp.data() + 8, ipv4_of(out), 28);
  const uint16_t c = rfc1071(icmp.data(), icmp.size());
  icmp[2] = c >> 8, icmp[3] = c & 0xff;
  Frame f;
  f.dst = kMacB, f.src = {{0x02, 0, 0, 0, 2, 11}}, f.ip_src = 0x0a000263, f.ip_dst = kGwB, f.proto = IPPROTO_ICMP;
  f.l4 = icmp;
  return f;
}

TEST_F(LbTest, IcmpErrorAboutANatFlowIsRelayedToTheClient) {
  run(build(rig_->pool, tcp_from_client(kWebVip, 49000, 80, kSyn, 40)));
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  const uint32_t endpoint = rte_be_to_cpu_32(ipv4_of(out)->dst_addr);
  const Frame f = icmp_from_router(out, 3, 4, 900);  // fragmentation needed, MTU 900
  clear_tx();
  rig_->neighbours.set(rig_->neighbours.insert(1, 0x0a000263), NeighbourState::kReachable, {{0x02, 0, 0, 0, 2, 0x63}});
  testing::EgressProbe::install(rig_->w);
  run(build(rig_->pool, f), 1);
  rte_mbuf* relayed = only_tx(0);
  ASSERT_NE(relayed, nullptr);
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 1)) << "relayed errors pass the stage before tx too";
  const rte_ipv4_hdr* ip = ipv4_of(relayed);
  EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), kClient);
  EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), 0x0a000263u) << "still from the router that sent it";
  EXPECT_EQ(rfc1071(ip, 20), 0);
  const uint8_t* m = reinterpret_cast<const uint8_t*>(ip + 1);
  EXPECT_EQ(rfc1071(m, 8 + 28), 0) << "ICMP checksum over the rewritten quote";
  EXPECT_EQ((m[6] << 8) | m[7], 900);
  const auto* quoted = reinterpret_cast<const rte_ipv4_hdr*>(m + 8);
  EXPECT_EQ(rte_be_to_cpu_32(quoted->src_addr), kClient);
  EXPECT_EQ(rte_be_to_cpu_32(quoted->dst_addr), kWebVip);
  EXPECT_EQ(rfc1071(quoted, 20), 0) << "quoted header checksum";
  const auto* qports = reinterpret_cast<const uint8_t*>(quoted + 1);
  EXPECT_EQ((qports[0] << 8) | qports[1], 49000);
  EXPECT_EQ((qports[2] << 8) | qports[3], 80);
  EXPECT_EQ(rig_->counters.icmp_errors_relayed.get(), 1u);
  EXPECT_EQ(rig_->endpoints[rig_->registry->endpoint_slot({"web", endpoint, 0})].connect_failures.get(), 0u)
      << "a path MTU message is not a failed connection attempt";
}

// "Host unreachable" about our SYN to an endpoint: relayed, and a failed
// attempt for outlier detection, counted once; the client's next SYN is
// scheduled afresh.
TEST_F(LbTest, UnreachableAboutASynIsAFailedConnectionAttempt) {
  run(build(rig_->pool, tcp_from_client(kWebVip, 49100, 80, kSyn, 40)));
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  const uint32_t endpoint = rte_be_to_cpu_32(ipv4_of(out)->dst_addr);
  const Frame f = icmp_from_router(out, 3, 1, 0);
  clear_tx();
  rig_->neighbours.set(rig_->neighbours.insert(1, 0x0a000263), NeighbourState::kReachable, {{0x02, 0, 0, 0, 2, 0x63}});
  run(build(rig_->pool, f), 1);
  EXPECT_NE(only_tx(0), nullptr) << "relayed to the client";
  clear_tx();
  run(build(rig_->pool, f), 1);  // the same error again (a retransmitted SYN's)
  clear_tx();
  const auto& counters = rig_->endpoints[rig_->registry->endpoint_slot({"web", endpoint, 0})];
  EXPECT_EQ(counters.connect_failures.get(), 1u);
  EXPECT_EQ(counters.active_flows.get(), 0u) << "the attempt is over";
  run(build(rig_->pool, tcp_from_client(kWebVip, 49100, 80, kSyn, 40)));
  EXPECT_NE(only_tx(1), nullptr);
  EXPECT_EQ(rig_->services[rig_->registry->service_slot("web")].rescheduled.get(), 1u);
}

TEST_F(LbTest, UnknownPortRejectedWithRstOrPortUnreachable) {
  run(build(rig_->pool, tcp_from_client(kWebVip, 42000, 81, kSyn)));
  rte_mbuf* rst = only_tx(0);
  ASSERT_NE(rst, nullptr);
  const rte_ipv4_hdr* ip = ipv4_of(rst);
  const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(ip + 1);
  EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), kWebVip);
  EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), kClient);
  EXPECT_EQ(rte_be_to_cpu_16(tcp->src_port), 81);
  EXPECT_EQ(rte_be_to_cpu_16(tcp->dst_port), 42000);
  EXPECT_EQ(tcp->tcp_flags, kRst | kAck);
  EXPECT_EQ(rte_be_to_cpu_32(tcp->recv_ack), 1001u) << "SYN's sequence number plus one";
  EXPECT_EQ(rfc1071(ip, 20), 0);
  EXPECT_EQ(l4_sum_of(rst), 0);
  clear_tx();

  run(build(rig_->pool, tcp_from_client(kWebVip, 42000, 81, kRst)));  // a RST is never answered
  EXPECT_EQ(rig_->w.tx[0].count, 0);

  Frame f;
  f.dst = kMacA, f.src = kMacClient, f.ip_src = kClient, f.ip_dst = kDnsVip;
  f.l4 = testing::udp(5555, 54, 8);  // dns does not reject: dropped quietly
  run(build(rig_->pool, f));
  EXPECT_EQ(rig_->w.tx[0].count, 0);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kVipUnknownPort), 3u);
  EXPECT_EQ(web().drops[static_cast<size_t>(DropReason::kVipUnknownPort) - kFirstLbDropReason].get(), 2u);
}

TEST_F(LbTest, FragmentsAndMidStreamSegmentsAreDroppedAndCounted) {
  Frame frag = tcp_from_client(kWebVip, 43000, 80, kSyn, 100);
  frag.frag = RTE_IPV4_HDR_MF_FLAG;
  run(build(rig_->pool, frag));
  run(build(rig_->pool, tcp_from_client(kWebVip, 43001, 80, kAck, 10)));
  EXPECT_EQ(rig_->w.tx[1].count, 0);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kVipFragment), 1u);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kNoFlowState), 1u);
  EXPECT_EQ(rig_->flows->size(), 0u);
}

TEST_F(LbTest, FullTableDropsNatFlowsButStillBalancesDirectReturn) {
  start(policy_text(kThree, 1024));
  for (uint16_t i = 0; i < 1024; ++i) {
    run(build(rig_->pool, tcp_from_client(kWebVip, static_cast<uint16_t>(10000 + i), 80, kSyn)));
    clear_tx();
  }
  ASSERT_EQ(rig_->flows->size(), 1024u);
  run(build(rig_->pool, tcp_from_client(kWebVip, 30000, 80, kSyn)));
  EXPECT_EQ(rig_->w.tx[1].count, 0);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kFlowTableFull), 1u);
  run(build(rig_->pool, tcp_from_client(kDsrVip, 30000, 443, kSyn)));
  EXPECT_EQ(rig_->w.tx[1].count, 1) << "direct return needs no state to forward";
  EXPECT_EQ(rig_->services[rig_->registry->service_slot("video")].stateless_flows.get(), 1u);
}

// One endpoint, one NAT address, a share of 512 ports: nearly all of them
// must be usable before the first flow is refused for want of a port. (Tries
// that step by one from a hash-chosen start run into each other's clusters:
// the first refusal came at about 85% of a 512-port share, 66-70% of 32,256.)
TEST_F(LbTest, NearlyEveryNatPortIsUsableBeforeTheFirstRefusal) {
  start(policy_text(kThree, 4096));
  rig_->w.lb.nat_port_span = 512;
  uint32_t made = 0;
  for (uint16_t sport = 10000; rig_->counters.dropped(DropReason::kNatPortsExhausted) == 0 && sport < 12000; ++sport) {
    Frame f;
    f.dst = kMacA, f.src = kMacClient, f.ip_src = kClient, f.ip_dst = kDnsVip, f.proto = IPPROTO_UDP;
    f.l4 = testing::udp(sport, 53, 8);
    run(build(rig_->pool, testing::with_l4_checksum(f)));
    made += rig_->w.tx[1].count;
    clear_tx();
  }
  EXPECT_EQ(rig_->counters.dropped(DropReason::kNatPortsExhausted), 1u) << "the share never ran out";
  EXPECT_GE(made, 512u * 92 / 100) << made << " of 512 ports used before the first refusal";
  RecordProperty("ports_used", static_cast<int>(made));
  EXPECT_LE(made, 512u);
}

TEST_F(LbTest, ExpiryDecrementsActiveFlows) {
  run(build(rig_->pool, tcp_from_client(kWebVip, 44000, 80, kSyn)));
  const uint32_t ep = rte_be_to_cpu_32(ipv4_of(only_tx(1))->dst_addr);
  EXPECT_EQ(rig_->endpoints[slot_of(ep)].active_flows.get(), 1u);
  rig_->w.lb.now += FlowTimeouts{}.syn_sent + 1;
  while (rig_->flows->size()) lb_expire(rig_->w, 64);
  EXPECT_EQ(rig_->endpoints[slot_of(ep)].active_flows.get(), 0u);
  EXPECT_EQ(rig_->counters.flows.get(), 0u);
}

TEST_F(LbTest, RemovedEndpointDrainsThenItsFlowsEnd) {
  run(build(rig_->pool, tcp_from_client(kWebVip, 45000, 80, kSyn)));
  const uint32_t ep = rte_be_to_cpu_32(ipv4_of(only_tx(1))->dst_addr);
  clear_tx();
  // Reload without that endpoint: its flow keeps going while it drains...
  const auto now = reload(endpoints_yaml({}, all_but(ep)));
  run(build(rig_->pool, tcp_from_client(kWebVip, 45000, 80, kAck)));
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(rte_be_to_cpu_32(ipv4_of(out)->dst_addr), ep);
  clear_tx();
  // ... and new flows avoid it.
  for (uint16_t sport = 46000; sport < 46100; ++sport) {
    run(build(rig_->pool, tcp_from_client(kWebVip, sport, 80, kSyn)));
    ASSERT_EQ(rig_->w.tx[1].count, 1);
    EXPECT_NE(rte_be_to_cpu_32(ipv4_of(rig_->w.tx[1].pkts[0])->dst_addr), ep);
    clear_tx();
  }
  // Once the drain is over the flow ends.
  EXPECT_TRUE(rig_->registry->expire(now + std::chrono::seconds(29)).empty());
  EXPECT_EQ(rig_->registry->expire(now + std::chrono::seconds(30)).size(), 1u);
  ASSERT_TRUE(rig_->publish()) << rig_->error;
  run(build(rig_->pool, tcp_from_client(kWebVip, 45000, 80, kAck)));
  EXPECT_EQ(rig_->w.tx[1].count, 0);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kEndpointGone), 1u);
  // The client learns at once: a RST from the VIP, not silence.
  rte_mbuf* reset = only_tx(0);
  ASSERT_NE(reset, nullptr);
  EXPECT_EQ(rte_be_to_cpu_32(ipv4_of(reset)->src_addr), kWebVip);
  EXPECT_TRUE(rte_pktmbuf_mtod_offset(reset, rte_tcp_hdr*, 34)->tcp_flags & RTE_TCP_RST_FLAG);
}

// The endpoint's own segment, once its drain is over, is not forwarded: the
// client gets a RST from the VIP at that segment's sequence number (NAT
// leaves them alone), and the flow stays a moment so that the client's next
// segment (a challenge ACK) is answered too.
TEST_F(LbTest, AGoneEndpointsSegmentBecomesAResetToTheClient) {
  run(build(rig_->pool, tcp_from_client(kWebVip, 45500, 80, kSyn)));
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  const uint32_t ep = rte_be_to_cpu_32(ipv4_of(out)->dst_addr);
  const uint16_t nat_port = rte_be_to_cpu_16(rte_pktmbuf_mtod_offset(out, rte_tcp_hdr*, 34)->src_port);
  clear_tx();
  const auto now = reload(endpoints_yaml({}, all_but(ep)));
  rig_->registry->expire(now + std::chrono::seconds(30));
  ASSERT_TRUE(rig_->publish()) << rig_->error;
  run(build(rig_->pool, from_endpoint(ep, 8080, kGwB, nat_port, IPPROTO_TCP, kAck)), 1);
  EXPECT_EQ(rig_->w.tx[1].count, 0) << "nothing back to the endpoint";
  rte_mbuf* reset = only_tx(0);
  ASSERT_NE(reset, nullptr);
  const rte_ipv4_hdr* ip = ipv4_of(reset);
  const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(ip + 1);
  EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), kWebVip);
  EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), kClient);
  EXPECT_EQ(rte_be_to_cpu_16(tcp->src_port), 80);
  EXPECT_EQ(rte_be_to_cpu_16(tcp->dst_port), 45500);
  EXPECT_EQ(rte_be_to_cpu_32(tcp->sent_seq), 7000u) << "the endpoint's segment's number";
  EXPECT_EQ(tcp->tcp_flags, RTE_TCP_RST_FLAG);
  EXPECT_EQ(l4_sum_of(reset), 0);
  clear_tx();
  run(build(rig_->pool, tcp_from_client(kWebVip, 45500, 80, kAck)));
  rte_mbuf* again = only_tx(0);
  ASSERT_NE(again, nullptr) << "the client's answer meets the lingering flow";
  EXPECT_EQ(rte_be_to_cpu_32(reinterpret_cast<const rte_tcp_hdr*>(ipv4_of(again) + 1)->sent_seq), 5000u)
      << "at the number the client acknowledged";
  EXPECT_EQ(rig_->counters.dropped(DropReason::kEndpointGone), 2u);
}

TEST_F(LbTest, NatAddressPoolSpreadsSourcesAndIsLocal) {
  start(policy_text(kThree, 1024, "[10.0.2.100, 10.0.2.101]"));
  ASSERT_NE(rig_->snapshot->local(0x0a000264), nullptr) << "the gateway owns (and answers ARP for) its NAT addresses";
  std::map<uint32_t, int> sources;
  for (uint16_t sport = 47000; sport < 47200; ++sport) {
    run(build(rig_->pool, tcp_from_client(kWebVip, sport, 80, kSyn)));
    ASSERT_EQ(rig_->w.tx[1].count, 1);
    sources[rte_be_to_cpu_32(ipv4_of(rig_->w.tx[1].pkts[0])->src_addr)]++;
    clear_tx();
  }
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_GT(sources[0x0a000264], 60);
  EXPECT_GT(sources[0x0a000265], 60);
  // A reply to a pool address finds its flow.
  run(build(rig_->pool, tcp_from_client(kWebVip, 47000, 80, kAck)));
  const rte_ipv4_hdr* ip = ipv4_of(rig_->w.tx[1].pkts[0]);
  const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(ip + 1);
  const uint32_t src = rte_be_to_cpu_32(ip->src_addr), ep = rte_be_to_cpu_32(ip->dst_addr);
  const uint16_t nat_port = rte_be_to_cpu_16(tcp->src_port);
  clear_tx();
  run(build(rig_->pool, from_endpoint(ep, 8080, src, nat_port, IPPROTO_TCP, kAck)), 1);
  rte_mbuf* back = only_tx(0);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(rte_be_to_cpu_32(ipv4_of(back)->dst_addr), kClient);
}

TEST_F(LbTest, ReplyForAnotherWorkersPortIsHandedOff) {
  start(policy_text(kThree), 2);
  // Worker 0 owns ports 1024..33279; a reply to port 40000 belongs to worker 1.
  run(build(rig_->pool, from_endpoint(kEp[0], 8080, kGwB, 40000, IPPROTO_TCP, kAck)), 1);
  EXPECT_EQ(rig_->w.tx[0].count, 0);
  EXPECT_EQ(rte_ring_count(rig_->handoff[1]), 1u);
  EXPECT_EQ(rig_->counters.handed_off.get(), 1u);
  // A reply to worker 0's own range with no flow goes to the local stage (not served).
  run(build(rig_->pool, from_endpoint(kEp[0], 8080, kGwB, 2000, IPPROTO_TCP, kAck)), 1);
  EXPECT_EQ(rte_ring_count(rig_->handoff[1]), 1u);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kLocalNotServed), 1u);
}

}  // namespace
}  // namespace meshplane::dataplane
