// The packet path on real mbufs: a burst goes through pipeline_process and we
// look at what each port's transmit queue, the punt ring and the drop counters
// hold afterwards.
#include "dataplane/worker/pipeline.h"

#include <gtest/gtest.h>
#include <rte_icmp.h>
#include <rte_lpm.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/worker/packet_meta.h"
#include "dataplane/worker/tx.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"
#include "tests/unit/dataplane/worker/egress_probe.h"
#include "tests/unit/expect_tx.h"

namespace meshplane::dataplane {
namespace {

using testing::build;
using testing::eth_of;
using testing::Frame;
using testing::ipv4_of;
using testing::rfc1071;

constexpr uint32_t kClient = 0x0a000102;   // 10.0.1.2 on port 0
constexpr uint32_t kGwA = 0x0a000101;      // 10.0.1.1
constexpr uint32_t kServer = 0x0a000202;   // 10.0.2.2 on port 1
constexpr uint32_t kRemote = 0x0a140005;   // 10.20.0.5, routed via 10.0.2.2
constexpr uint32_t kUnresolved = 0x0a000263;  // 10.0.2.99: no neighbour entry

using testing::kMacA;
using testing::kMacB;
const rte_ether_addr kMacClient{{0x02, 0, 0, 0, 1, 2}};
const rte_ether_addr kMacServer{{0x02, 0, 0, 0, 2, 2}};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rig_ = std::make_unique<testing::WorkerRig>(R"(ports:
  - {name: a, device: net_null0, addresses: [10.0.1.1/24]}
  - {name: b, device: net_null1, addresses: [10.0.2.1/24], mtu: 1000}
routes:
  - {prefix: 10.20.0.0/16, via: 10.0.2.2}
icmp: {errors_per_second: 1000, errors_burst: 3}
)");
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    rig_->neighbours.set(rig_->neighbours.insert(0, kClient), NeighbourState::kReachable, kMacClient);
    rig_->neighbours.set(rig_->neighbours.insert(1, kServer), NeighbourState::kReachable, kMacServer);
  }

  Frame from_client(uint32_t dst, std::vector<uint8_t> l4, uint8_t proto = IPPROTO_UDP) {
    Frame f;
    f.dst = kMacA, f.src = kMacClient, f.ip_src = kClient, f.ip_dst = dst, f.proto = proto, f.l4 = std::move(l4);
    return f;
  }
  void run(rte_mbuf* m, uint16_t in_port = 0) { rig_->run(m, in_port); }
  uint64_t dropped(DropReason r) const { return rig_->counters.dropped(r); }
  uint64_t total_drops() const {
    uint64_t n = 0;
    for (size_t r = 0; r < kDropReasonCount; ++r) n += rig_->counters.drops[r].get();
    return n;
  }
  // The one packet sent back to the client must be an ICMP message of this type and code.
  uint8_t* icmp_to_client(uint8_t type, uint8_t code) {
    rte_mbuf* out = only_tx(0);
    if (!out) return nullptr;
    auto* icmp = reinterpret_cast<uint8_t*>(ipv4_of(out) + 1);
    EXPECT_EQ(rte_be_to_cpu_32(ipv4_of(out)->dst_addr), kClient);
    EXPECT_EQ(icmp[0], type);
    EXPECT_EQ(icmp[1], code);
    return icmp;
  }
  rte_mbuf* only_tx(uint16_t port) { return testing::only_tx(rig_->w, port); }

  std::unique_ptr<testing::WorkerRig> rig_;
};

TEST_F(PipelineTest, ForwardsWithTtlDecrementAndL2Rewrite) {
  run(build(rig_->pool, from_client(kRemote, testing::udp(1000, 53, 30))));
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  auto* ip = ipv4_of(out);
  EXPECT_EQ(ip->time_to_live, 63);
  EXPECT_EQ(rfc1071(ip, 20), 0) << "header checksum must verify after the incremental update";
  EXPECT_TRUE(rte_is_same_ether_addr(&eth_of(out)->dst_addr, &kMacServer)) << "next hop 10.0.2.2's MAC";
  EXPECT_TRUE(rte_is_same_ether_addr(&eth_of(out)->src_addr, &kMacB));
  EXPECT_EQ(rig_->counters.forwarded.get(), 1u);
  EXPECT_EQ(total_drops(), 0u);
}

TEST_F(PipelineTest, TrimsEthernetPadding) {
  rte_mbuf* m = build(rig_->pool, from_client(kServer, testing::udp(1, 2, 0)));  // 42-byte frame
  memset(rte_pktmbuf_append(m, 18), 0, 18);                                 // padded to 60
  run(m);
  rte_mbuf* out = only_tx(1);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->pkt_len, 42u);
}

TEST_F(PipelineTest, TtlExpiredBecomesTimeExceededToSource) {
  Frame f = from_client(kRemote, testing::udp(1000, 33434, 40));
  f.ttl = 1;
  run(build(rig_->pool, f));
  EXPECT_EQ(dropped(DropReason::kTtlExpired), 1u);
  rte_mbuf* out = only_tx(0);
  ASSERT_NE(out, nullptr);
  auto* ip = ipv4_of(out);
  EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), kClient);
  EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), kGwA) << "from the address of the port the packet came in on";
  EXPECT_EQ(rfc1071(ip, 20), 0);
  const uint16_t ip_len = rte_be_to_cpu_16(ip->total_length);
  EXPECT_EQ(out->pkt_len, 14u + ip_len);
  auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  EXPECT_EQ(icmp[0], 11);
  EXPECT_EQ(icmp[1], 0);
  EXPECT_EQ(rfc1071(icmp, ip_len - 20), 0) << "ICMP checksum covers header and quote";
  // RFC 792: the quote starts with the original IP header, as it arrived.
  auto* quoted = reinterpret_cast<rte_ipv4_hdr*>(icmp + 8);
  EXPECT_EQ(rte_be_to_cpu_32(quoted->dst_addr), kRemote);
  EXPECT_EQ(quoted->time_to_live, 1);
  EXPECT_EQ(ip_len, 20u + 8 + 20 + 8 + 40) << "the whole small datagram is quoted";
}

TEST_F(PipelineTest, IcmpErrorsAreRateLimited) {
  for (int i = 0; i < 10; ++i) {
    Frame f = from_client(kRemote, testing::udp(1000, 33434, 4));
    f.ttl = 1;
    run(build(rig_->pool, f));
  }
  EXPECT_EQ(dropped(DropReason::kTtlExpired), 10u);
  EXPECT_EQ(rig_->counters.icmp_errors_sent.get(), 3u) << "burst of 3 in the policy";
  EXPECT_EQ(rig_->counters.icmp_errors_suppressed.get(), 7u);
  EXPECT_EQ(rig_->w.tx[0].count, 3);
}

TEST_F(PipelineTest, NoErrorAboutAnIcmpError) {
  std::vector<uint8_t> err(36, 0);
  err[0] = 3;  // destination unreachable
  Frame f = from_client(kRemote, err, IPPROTO_ICMP);
  f.ttl = 1;
  run(build(rig_->pool, f));
  EXPECT_EQ(dropped(DropReason::kTtlExpired), 1u);
  EXPECT_EQ(rig_->w.tx[0].count + rig_->w.tx[1].count, 0);
}

TEST_F(PipelineTest, EchoRequestToGatewayIsAnswered) {
  run(build(rig_->pool, from_client(kGwA, testing::icmp_echo(7, 1, 56), IPPROTO_ICMP)));
  rte_mbuf* out = only_tx(0);
  ASSERT_NE(out, nullptr);
  auto* ip = ipv4_of(out);
  EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), kClient);
  EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), kGwA);
  EXPECT_EQ(rfc1071(ip, 20), 0);
  auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  EXPECT_EQ(icmp[0], 0);
  EXPECT_EQ(rfc1071(icmp, 64), 0);
  EXPECT_EQ(icmp[5], 7) << "identifier kept";
  EXPECT_EQ(rig_->counters.icmp_echo_replies.get(), 1u);
}

TEST_F(PipelineTest, EchoWithBadChecksumIsDropped) {
  auto echo = testing::icmp_echo(7, 1, 8);
  echo[10] ^= 0xff;
  run(build(rig_->pool, from_client(kGwA, echo, IPPROTO_ICMP)));
  EXPECT_EQ(dropped(DropReason::kBadIcmp), 1u);
  EXPECT_EQ(rig_->w.tx[0].count, 0);
}

TEST_F(PipelineTest, UdpToGatewayGetsPortUnreachable) {
  run(build(rig_->pool, from_client(kGwA, testing::udp(5000, 9, 4))));
  EXPECT_EQ(dropped(DropReason::kLocalNotServed), 1u);
  EXPECT_NE(icmp_to_client(3, 3), nullptr);
}

TEST_F(PipelineTest, NoRouteSendsNetUnreachable) {
  run(build(rig_->pool, from_client(0x08080808, testing::udp(1, 2, 4))));
  EXPECT_EQ(dropped(DropReason::kNoRoute), 1u);
  EXPECT_NE(icmp_to_client(3, 0), nullptr);
}

TEST_F(PipelineTest, TooBigWithDfSendsFragmentationNeeded) {
  Frame f = from_client(kServer, testing::udp(1, 2, 1200));  // port b has MTU 1000
  f.frag = RTE_IPV4_HDR_DF_FLAG;
  run(build(rig_->pool, f));
  EXPECT_EQ(dropped(DropReason::kFragmentationNeeded), 1u);
  uint8_t* icmp = icmp_to_client(3, 4);
  ASSERT_NE(icmp, nullptr);
  EXPECT_EQ((icmp[6] << 8) | icmp[7], 1000) << "RFC 1191 next-hop MTU";
  EXPECT_LE(rte_be_to_cpu_16(ipv4_of(rig_->w.tx[0].pkts[0])->total_length), 576) << "RFC 1812 4.3.2.3";
}

TEST_F(PipelineTest, UnresolvedNextHopIsPuntedWithItsAddress) {
  run(build(rig_->pool, from_client(kUnresolved, testing::udp(1, 2, 4))));
  rte_mbuf* m = nullptr;
  ASSERT_EQ(rte_ring_dequeue(rig_->punt, reinterpret_cast<void**>(&m)), 0);
  EXPECT_EQ(meta(m).reason, PuntReason::kResolve);
  EXPECT_EQ(meta(m).port, 1);
  EXPECT_EQ(meta(m).next_hop, kUnresolved);
  EXPECT_EQ(ipv4_of(m)->time_to_live, 63);
  rte_pktmbuf_free(m);
  // While resolution is under way, further packets are dropped, not punted again.
  rig_->neighbours.insert(1, kUnresolved);
  run(build(rig_->pool, from_client(kUnresolved, testing::udp(1, 2, 4))));
  EXPECT_EQ(dropped(DropReason::kNeighbourUnresolved), 1u);
  EXPECT_EQ(rte_ring_count(rig_->punt), 0u);
}

TEST_F(PipelineTest, ArpIsPuntedToControl) {
  Frame f;
  f.dst = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, f.src = kMacClient, f.ether_type = RTE_ETHER_TYPE_ARP;
  f.l4.assign(8, 0);  // 20 + 8 bytes after Ethernet: an ARP-sized body
  run(build(rig_->pool, f), 1);
  rte_mbuf* m = nullptr;
  ASSERT_EQ(rte_ring_dequeue(rig_->punt, reinterpret_cast<void**>(&m)), 0);
  EXPECT_EQ(meta(m).reason, PuntReason::kArp);
  EXPECT_EQ(meta(m).port, 1);
  rte_pktmbuf_free(m);
}

struct Malformed {
  const char* name;
  DropReason reason;
  void (*mangle)(rte_mbuf*);
};

class MalformedTest : public PipelineTest, public ::testing::WithParamInterface<Malformed> {};

TEST_P(MalformedTest, DroppedWithItsReasonAndNothingElse) {
  rte_mbuf* m = build(rig_->pool, from_client(kRemote, testing::udp(1, 2, 20)));
  GetParam().mangle(m);
  run(m);
  EXPECT_EQ(dropped(GetParam().reason), 1u);
  EXPECT_EQ(total_drops(), 1u) << "exactly one reason per dropped packet";
  EXPECT_EQ(rig_->w.tx[0].count + rig_->w.tx[1].count, 0);
  EXPECT_EQ(rte_ring_count(rig_->punt), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Pipeline, MalformedTest,
    ::testing::Values(
        Malformed{"short_frame", DropReason::kShortFrame, [](rte_mbuf* m) { rte_pktmbuf_trim(m, m->pkt_len - 10); }},
        Malformed{"truncated_ipv4", DropReason::kShortFrame, [](rte_mbuf* m) { rte_pktmbuf_trim(m, m->pkt_len - 30); }},
        Malformed{"bad_checksum", DropReason::kBadIpv4Checksum, [](rte_mbuf* m) { ipv4_of(m)->hdr_checksum ^= 1; }},
        Malformed{"total_length_beyond_frame", DropReason::kBadIpv4TotalLength,
                  [](rte_mbuf* m) { rte_pktmbuf_trim(m, 10); }},
        Malformed{"version_6_in_ipv4_frame", DropReason::kBadIpv4Version,
                  [](rte_mbuf* m) { ipv4_of(m)->version_ihl = 0x65; }},
        Malformed{"ihl_below_5", DropReason::kBadIpv4HeaderLength,
                  [](rte_mbuf* m) { ipv4_of(m)->version_ihl = 0x44; }},
        Malformed{"ihl_beyond_frame", DropReason::kBadIpv4HeaderLength,
                  [](rte_mbuf* m) { ipv4_of(m)->version_ihl = 0x4f; rte_pktmbuf_trim(m, m->pkt_len - 50); }},
        Malformed{"ipv6", DropReason::kIpv6Unsupported,
                  [](rte_mbuf* m) { testing::eth_of(m)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6); }},
        Malformed{"vlan", DropReason::kUnsupportedEthertype,
                  [](rte_mbuf* m) { testing::eth_of(m)->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN); }},
        Malformed{"other_mac", DropReason::kL2NotForUs,
                  [](rte_mbuf* m) { testing::eth_of(m)->dst_addr.addr_bytes[5] ^= 1; }},
        Malformed{"short_arp", DropReason::kArpMalformed,
                  [](rte_mbuf* m) {
                    testing::eth_of(m)->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
                    rte_pktmbuf_trim(m, m->pkt_len - 20);
                  }}),
    [](const auto& info) { return std::string(info.param.name); });

// Martian addresses need a valid checksum to reach the address checks.
TEST_F(PipelineTest, MartianSourceAndMulticastDestinationDropped) {
  Frame f = from_client(kRemote, testing::udp(1, 2, 4));
  f.ip_src = 0x7f000001;
  run(build(rig_->pool, f));
  EXPECT_EQ(dropped(DropReason::kMartianSource), 1u);
  run(build(rig_->pool, from_client(0xe0000001, testing::udp(1, 2, 4))));
  EXPECT_EQ(dropped(DropReason::kBroadcastOrMulticast), 1u);
  run(build(rig_->pool, from_client(0x0a0001ff, testing::udp(1, 2, 4))));  // 10.0.1.255: directed broadcast
  EXPECT_EQ(dropped(DropReason::kBroadcastOrMulticast), 2u);
  EXPECT_EQ(rig_->w.tx[0].count + rig_->w.tx[1].count, 0);
}

// The burst graph has one way out to a port: every path, transit or
// originated, passes the stage placed before tx (issue 10).
TEST_F(PipelineTest, EveryPathPassesTheStageBeforeTx) {
  testing::EgressProbe::install(rig_->w);
  run(build(rig_->pool, from_client(kRemote, testing::udp(1000, 53, 30))));  // forwarded
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 1));
  Frame ttl1 = from_client(kRemote, testing::udp(1000, 53, 30));
  ttl1.ttl = 1;
  run(build(rig_->pool, ttl1));  // ICMP time exceeded, originated by the route stage
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 2));
  run(build(rig_->pool, from_client(kGwA, testing::icmp_echo(7, 1, 8))));  // echo reply, originated by local
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 3));
  run(build(rig_->pool, from_client(kGwA, testing::udp(1000, 9, 4))));  // port unreachable
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 4));
  // A packet the control thread held while it resolved the next hop, routed and rewritten already.
  rte_ring* inject = rte_ring_create("inject_probe", 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_NE(inject, nullptr);
  rig_->w.inject_ring = inject;
  rte_mbuf* held = build(rig_->pool, from_client(kServer, testing::udp(1000, 53, 30)));
  meta(held).port = 1;
  ASSERT_EQ(rte_ring_enqueue(inject, held), 0);
  EXPECT_EQ(inject_process(rig_->w, *rig_->snapshot), 1);
  EXPECT_TRUE(testing::EgressProbe::every_tx_passed(rig_->w, 5));
  EXPECT_EQ(rig_->w.tx[1].pkts[rig_->w.tx[1].count - 1], held);
  rte_ring_free(inject);
}

}  // namespace
}  // namespace meshplane::dataplane

namespace meshplane::dataplane {
namespace {

// A graph may be copied (a WorkerCtx is assigned afresh in tests): the copy's
// inputs must be its own, not the original's.
TEST(Graph, ACopyUsesItsOwnInputs) {
  auto original = std::make_unique<Graph>();
  Graph copy = *original;
  const auto* begin = reinterpret_cast<const char*>(&copy);
  for (Stage st : {Stage::kParse, Stage::kLb, Stage::kLocal, Stage::kRoute, Stage::kRouteOriginated, Stage::kEgress}) {
    const auto* in = reinterpret_cast<const char*>(&copy.input(st));
    EXPECT_TRUE(in >= begin && in < begin + sizeof copy) << "stage " << static_cast<int>(st);
  }
  original.reset();
  copy.to(Stage::kLb, nullptr);  // under ASan, a dangling input would fault here
  EXPECT_EQ(copy.input(Stage::kLb).n, 1);
}

}  // namespace
}  // namespace meshplane::dataplane
