// Two gateways in one process, each a WorkerRig: A's LAN 10.1.0.0/24 and B's
// LAN 10.2.0.0/24, their WAN ports on 192.0.2.0/24. What A sends out of its
// WAN port is fed to B's. Checks the tunnel end to end through the real
// pipeline (route -> encrypt -> route-encrypted on A; parse -> decrypt ->
// route on B), and every way B refuses what it should.
#include <gtest/gtest.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dataplane/ipsec/esp.h"
#include "dataplane/worker/packet_meta.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"

namespace meshplane::dataplane {
namespace {

using testing::build;
using testing::Frame;
using testing::ipv4_of;
using testing::kMacA;
using testing::kMacB;

const std::string kK1 = "0x0102030405060708090a0b0c0d0e0f10a1a2a3a4";  // A -> B
const std::string kK2 = "0x1112131415161718191a1b1c1d1e1f20b1b2b3b4";  // B -> A
const rte_ether_addr kMacHost{{0x02, 0, 0, 0, 9, 9}};

std::string gateway(const std::string& lan, const std::string& wan, const std::string& peer_address,
                    const std::string& peer_prefix, const std::string& out_spi, const std::string& out_key,
                    const std::string& in_spi, const std::string& in_key, const std::string& extra = "") {
  return R"(ports:
  - {name: lan, device: d0, addresses: [)" + lan + R"(]}
  - {name: wan, device: d1, addresses: [)" + wan + R"(]}
peers:
  - name: far
    address: )" + peer_address + R"(
    local_address: )" + wan.substr(0, wan.find('/')) + R"(
    prefixes: [)" + peer_prefix + R"(]
)" + extra + R"(    sas:
      - {direction: outbound, spi: )" + out_spi + ", key: " + out_key + R"(}
      - {direction: inbound, spi: )" + in_spi + ", key: " + in_key + R"(, replay_window: 64}
)";
}

class EspStagesTest : public ::testing::Test {
 protected:
  void SetUp() override { start(""); }
  void start(const std::string& peer_extra) {
    a_.reset();
    b_.reset();
    a_ = std::make_unique<testing::WorkerRig>(
        gateway("10.1.0.1/24", "192.0.2.1/24", "192.0.2.2", "10.2.0.0/16", "0x1001", kK1, "0x2001", kK2, peer_extra));
    b_ = std::make_unique<testing::WorkerRig>(
        gateway("10.2.0.1/24", "192.0.2.2/24", "192.0.2.1", "10.1.0.0/16", "0x2001", kK2, "0x1001", kK1));
    ASSERT_TRUE(a_->ok()) << a_->error;
    ASSERT_TRUE(b_->ok()) << b_->error;
    // Each knows the other's WAN MAC (its port 1: kMacB) and its LAN host.
    a_->neighbours.set(a_->neighbours.insert(1, 0xc0000202), NeighbourState::kReachable, kMacB);
    b_->neighbours.set(b_->neighbours.insert(1, 0xc0000201), NeighbourState::kReachable, kMacB);
    a_->neighbours.set(a_->neighbours.insert(0, 0x0a010005), NeighbourState::kReachable, kMacHost);
    b_->neighbours.set(b_->neighbours.insert(0, 0x0a020007), NeighbourState::kReachable, kMacHost);
  }

  // A packet from A's LAN host 10.1.0.5 (or `src`) to 10.2.0.7.
  rte_mbuf* from_a_lan(std::vector<uint8_t> l4, uint8_t proto = IPPROTO_UDP, uint32_t src = 0x0a010005,
                       uint16_t frag = 0) {
    Frame f;
    f.dst = kMacA, f.src = kMacHost, f.ip_src = src, f.ip_dst = 0x0a020007, f.proto = proto, f.frag = frag;
    f.l4 = std::move(l4);
    return build(a_->pool, proto == IPPROTO_ICMP ? f : testing::with_l4_checksum(f));
  }
  // What A sent out of its WAN port (one packet), copied into B's pool.
  rte_mbuf* wire() {
    EXPECT_EQ(a_->w.tx[1].count, 1);
    if (a_->w.tx[1].count != 1) return nullptr;
    rte_mbuf* out = a_->w.tx[1].pkts[0];
    rte_mbuf* copy = rte_pktmbuf_alloc(b_->pool);
    std::memcpy(rte_pktmbuf_append(copy, out->data_len), rte_pktmbuf_mtod(out, void*), out->data_len);
    a_->clear_tx();
    return copy;
  }
  rte_mbuf* copy_into_b(const rte_mbuf* m) {
    rte_mbuf* copy = rte_pktmbuf_alloc(b_->pool);
    std::memcpy(rte_pktmbuf_append(copy, m->data_len), rte_pktmbuf_mtod(m, const void*), m->data_len);
    return copy;
  }
  uint64_t b_drops(DropReason r) const { return b_->counters.dropped(r); }

  std::unique_ptr<testing::WorkerRig> a_, b_;
};

TEST_F(EspStagesTest, LanToLanThroughTheTunnel) {
  a_->run(from_a_lan(testing::udp(1000, 53, 100)));
  rte_mbuf* esp = wire();
  ASSERT_NE(esp, nullptr);
  const rte_ipv4_hdr* outer = ipv4_of(esp);
  EXPECT_EQ(outer->next_proto_id, kIpProtoEsp);
  EXPECT_EQ(outer->src_addr, RTE_BE32(0xc0000201));
  EXPECT_EQ(outer->dst_addr, RTE_BE32(0xc0000202));
  EXPECT_EQ(testing::rfc1071(outer, 20), 0);
  EXPECT_EQ(std::memcmp(&testing::eth_of(esp)->dst_addr, &kMacB, 6), 0) << "to the peer's MAC";
  const auto* hdr = reinterpret_cast<const uint8_t*>(outer + 1);
  EXPECT_EQ(hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3], 0x1001);
  EXPECT_EQ(hdr[7], 1) << "the first sequence number";

  b_->run(esp, 1);
  ASSERT_EQ(b_->w.tx[0].count, 1) << "decrypted and forwarded to B's LAN";
  rte_mbuf* inner = b_->w.tx[0].pkts[0];
  const rte_ipv4_hdr* ip = ipv4_of(inner);
  EXPECT_EQ(ip->src_addr, RTE_BE32(0x0a010005));
  EXPECT_EQ(ip->dst_addr, RTE_BE32(0x0a020007));
  EXPECT_EQ(ip->time_to_live, 62) << "one hop at each gateway";
  EXPECT_EQ(testing::rfc1071(ip, 20), 0);
  EXPECT_EQ(testing::l4_sum_of(inner), 0);
  EXPECT_EQ(rte_be_to_cpu_16(ip->total_length), 20 + 8 + 100);
  const uint32_t in_slot = b_->sa_registry->slots().begin()->second;
  EXPECT_EQ(b_->sa_counters[in_slot].packets.get() + b_->sa_counters[in_slot ^ 1].packets.get(), 1u);
}

TEST_F(EspStagesTest, ReplayedTamperedAndUnknownPacketsAreDroppedByReason) {
  a_->run(from_a_lan(testing::udp(1000, 53, 40)));
  rte_mbuf* first = wire();
  rte_mbuf* replay = copy_into_b(first);
  rte_mbuf* tampered = copy_into_b(first);
  rte_mbuf* unknown = copy_into_b(first);
  b_->run(first, 1);
  b_->clear_tx();
  b_->run(replay, 1);
  EXPECT_EQ(b_drops(DropReason::kEspReplayed), 1u);
  // A later packet, tampered: its window slot stays free, so the genuine one still gets in.
  a_->run(from_a_lan(testing::udp(1000, 53, 40)));
  rte_mbuf* second = wire();
  rte_mbuf* second_tampered = copy_into_b(second);
  rte_pktmbuf_mtod(second_tampered, uint8_t*)[second_tampered->data_len - 20] ^= 0x40;
  b_->run(second_tampered, 1);
  EXPECT_EQ(b_drops(DropReason::kEspAuthFailed), 1u);
  b_->run(second, 1);
  EXPECT_EQ(b_->w.tx[0].count, 1) << "the genuine packet after a forged one with its number";
  b_->clear_tx();
  rte_pktmbuf_mtod(tampered, uint8_t*)[14 + 20 + 4] ^= 0x01;  // sequence number: not what was authenticated
  b_->run(tampered, 1);
  EXPECT_GE(b_drops(DropReason::kEspAuthFailed) + b_drops(DropReason::kEspReplayed), 2u);
  rte_pktmbuf_mtod(unknown, uint8_t*)[14 + 20 + 3] ^= 0x80;  // SPI
  b_->run(unknown, 1);
  EXPECT_EQ(b_drops(DropReason::kEspNoSa), 1u);
  EXPECT_EQ(b_->w.tx[0].count + b_->w.tx[1].count, 0u);
}

TEST_F(EspStagesTest, OldSequenceNumbersFallOutOfTheWindow) {
  a_->run(from_a_lan(testing::udp(1000, 53, 10)));
  rte_mbuf* old = wire();
  for (int i = 0; i < 64; ++i) {
    a_->run(from_a_lan(testing::udp(1000, 53, 10)));
    b_->run(wire(), 1);
    b_->clear_tx();
  }
  b_->run(old, 1);
  EXPECT_EQ(b_drops(DropReason::kEspOutsideWindow), 1u) << "65 behind, window of 64";
}

TEST_F(EspStagesTest, InnerSourceMustLieBehindThePeer) {
  a_->run(from_a_lan(testing::udp(1000, 53, 10), IPPROTO_UDP, 0x0a090909));  // 10.9.9.9: not behind A
  b_->run(wire(), 1);
  EXPECT_EQ(b_drops(DropReason::kEspSelectorMismatch), 1u);
  EXPECT_EQ(b_->w.tx[0].count, 0u);
}

TEST_F(EspStagesTest, CleartextFromBehindAPeerIsDropped) {
  // 10.1.0.5 lies behind B's peer A: sent in the clear to B's WAN port, it claims a tunnel it did not use.
  Frame f;
  f.dst = kMacB, f.src = kMacHost, f.ip_src = 0x0a010005, f.ip_dst = 0x0a020007, f.proto = IPPROTO_UDP;
  f.l4 = testing::udp(1000, 53, 10);
  b_->run(build(b_->pool, f), 1);
  EXPECT_EQ(b_drops(DropReason::kEspCleartextFromPeer), 1u);
  EXPECT_EQ(b_->w.tx[0].count, 0u);
  f.ip_src = 0xc0000201;  // the peer gateway itself: not behind itself, so in the clear it is ordinary traffic
  b_->run(build(b_->pool, f), 1);
  EXPECT_EQ(b_->w.tx[0].count, 1u);
  EXPECT_EQ(b_drops(DropReason::kEspCleartextFromPeer), 1u);
}

TEST_F(EspStagesTest, TooBigForTheTunnelGetsFragmentationNeededWithTheInnerMtu) {
  const uint32_t inner_mtu = esp_inner_mtu(1500, false);
  a_->run(from_a_lan(testing::udp(1000, 53, inner_mtu - 28), IPPROTO_UDP, 0x0a010005, RTE_IPV4_HDR_DF_FLAG));
  EXPECT_EQ(a_->w.tx[1].count, 1) << "exactly the inner MTU fits";
  a_->clear_tx();
  a_->run(from_a_lan(testing::udp(1000, 53, inner_mtu - 27), IPPROTO_UDP, 0x0a010005, RTE_IPV4_HDR_DF_FLAG));
  EXPECT_EQ(a_->w.tx[1].count, 0);
  ASSERT_EQ(a_->w.tx[0].count, 1) << "ICMP back to the sender";
  const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(ipv4_of(a_->w.tx[0].pkts[0]) + 1);
  EXPECT_EQ(icmp->icmp_type, 3);
  EXPECT_EQ(icmp->icmp_code, 4);
  EXPECT_EQ(rte_be_to_cpu_16(icmp->icmp_seq_nb), inner_mtu) << "next-hop MTU: the tunnel's";
}

TEST_F(EspStagesTest, SynsEnteringTheTunnelGetTheirMssClamped) {
  start("    tcp_mss: 1300\n");
  std::vector<uint8_t> syn = testing::tcp(40000, 443, 1, 0, 0x02, 4);
  syn[12] = 6 << 4;  // a 24-byte header: one MSS option of 1460
  syn[20] = 2, syn[21] = 4, syn[22] = 0x05, syn[23] = 0xb4;
  a_->run(from_a_lan(syn, IPPROTO_TCP));
  b_->run(wire(), 1);
  ASSERT_EQ(b_->w.tx[0].count, 1);
  const rte_ipv4_hdr* ip = ipv4_of(b_->w.tx[0].pkts[0]);
  const auto* opt = reinterpret_cast<const uint8_t*>(ip) + 20 + 20;
  EXPECT_EQ(opt[2] << 8 | opt[3], 1300);
  EXPECT_EQ(testing::l4_sum_of(b_->w.tx[0].pkts[0]), 0) << "checksum patched";
}

// Random corruption of genuine ESP (and UDP-encapsulated ESP) never gets
// through and never crashes a worker: every packet is dropped by a reason.
TEST_F(EspStagesTest, MangledEspIsAlwaysDroppedByReason) {
  std::mt19937_64 rng(17);
  for (bool udp : {false, true}) {
    start(udp ? "    encapsulation: udp\n" : "");
    if (udp) b_->reload(gateway("10.2.0.1/24", "192.0.2.2/24", "192.0.2.1", "10.1.0.0/16", "0x2001", kK2, "0x1001",
                                kK1, "    encapsulation: udp\n"));
    for (int i = 0; i < 3000; ++i) {
      a_->run(from_a_lan(testing::udp(1000, 53, rng() % 300)));
      rte_mbuf* m = wire();
      ASSERT_NE(m, nullptr);
      const uint32_t esp_at = 14 + 20 + (udp ? 8 : 0);
      auto* p = rte_pktmbuf_mtod(m, uint8_t*);
      switch (rng() % 3) {
        case 0:  // flip bits after the ESP header starts
          for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k)
            p[esp_at + rng() % (m->data_len - esp_at)] ^= static_cast<uint8_t>(1 + rng() % 255);
          break;
        case 1:  // cut it short
          rte_pktmbuf_trim(m, static_cast<uint16_t>(1 + rng() % (m->data_len - esp_at)));
          break;
        default:  // both
          p[esp_at + 8 + rng() % 8] ^= 0xff;
          rte_pktmbuf_trim(m, static_cast<uint16_t>(rng() % 16));
      }
      // Outer lengths follow the cut, as a real truncated packet's would be wrong.
      auto* ip = ipv4_of(m);
      ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(m->data_len - 14));
      ip->hdr_checksum = 0;
      ip->hdr_checksum = rte_ipv4_cksum(ip);
      b_->run(m, 1);
      ASSERT_EQ(b_->w.tx[0].count + b_->w.tx[1].count, 0) << "iteration " << i;
    }
    uint64_t drops = 0;
    for (size_t r = 0; r < kDropReasonCount; ++r) drops += b_->counters.drops[r].get();
    EXPECT_EQ(drops, 3000u);
  }
}

}  // namespace
}  // namespace meshplane::dataplane

namespace meshplane::dataplane {
namespace {

// The usage the daemon sums over workers, here from the one worker of a rig.
ctrl::SaTable::Usage usage_of(testing::WorkerRig& rig, uint32_t slot) {
  return {rig.sa_counters[slot].packets.get(), rig.sa_counters[slot].bytes.get()};
}

TEST_F(EspStagesTest, HardLifetimesStopAnSaSoftOnesAreReportedOnce) {
  a_ = std::make_unique<testing::WorkerRig>(gateway(
      "10.1.0.1/24", "192.0.2.1/24", "192.0.2.2", "10.2.0.0/16", "0x1001",
      kK1 + ", soft_lifetime: {packets: 3}, hard_lifetime: {packets: 5}", "0x2001", kK2));
  ASSERT_TRUE(a_->ok()) << a_->error;
  b_ = std::make_unique<testing::WorkerRig>(gateway("10.2.0.1/24", "192.0.2.2/24", "192.0.2.1", "10.1.0.0/16",
                                                    "0x2001", kK2, "0x1001", kK1 + ", hard_lifetime: {packets: 4}"));
  ASSERT_TRUE(b_->ok()) << b_->error;
  a_->neighbours.set(a_->neighbours.insert(1, 0xc0000202), NeighbourState::kReachable, kMacB);
  b_->neighbours.set(b_->neighbours.insert(0, 0x0a020007), NeighbourState::kReachable, kMacHost);
  std::vector<rte_mbuf*> sent;
  for (int i = 0; i < 7; ++i) {
    a_->run(from_a_lan(testing::udp(1000, 53, 10)));
    if (a_->w.tx[1].count) sent.push_back(wire());
  }
  EXPECT_EQ(sent.size(), 5u) << "exactly the hard packet lifetime, counted by sequence numbers";
  EXPECT_EQ(a_->counters.dropped(DropReason::kEspSequenceExhausted), 2u);
  auto events = a_->sa_table->check_lifetimes([&](uint32_t slot) { return usage_of(*a_, slot); });
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "sa_hard_lifetime");
  EXPECT_NE(events[0].message.find("peer 'far' outbound SPI 0x1001: hard lifetime (packets)"), std::string::npos)
      << events[0].message;
  EXPECT_TRUE(a_->sa_table->check_lifetimes([&](uint32_t slot) { return usage_of(*a_, slot); }).empty())
      << "reported once";

  // B accepts four, then its inbound SA is over.
  for (int i = 0; i < 4; ++i) b_->run(sent[i], 1);
  EXPECT_EQ(b_->w.tx[0].count, 4);
  events = b_->sa_table->check_lifetimes([&](uint32_t slot) { return usage_of(*b_, slot); });
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "sa_hard_lifetime");
  b_->run(sent[4], 1);
  EXPECT_EQ(b_->counters.dropped(DropReason::kEspSaExpired), 1u);
  EXPECT_EQ(b_->w.tx[0].count, 4);
}

// The SA keeps its slot (same peer, SPI and key), so its number continues; the new limit counts from its first.
TEST_F(EspStagesTest, AChangedHardPacketLifetimeAppliesAtOnce) {
  const auto policy = [](const std::string& packets) {
    return gateway("10.1.0.1/24", "192.0.2.1/24", "192.0.2.2", "10.2.0.0/16", "0x1001",
                   kK1 + ", hard_lifetime: {packets: " + packets + "}", "0x2001", kK2);
  };
  a_ = std::make_unique<testing::WorkerRig>(policy("5"));
  ASSERT_TRUE(a_->ok()) << a_->error;
  a_->neighbours.set(a_->neighbours.insert(1, 0xc0000202), NeighbourState::kReachable, kMacB);
  const auto send = [&] {
    a_->run(from_a_lan(testing::udp(1000, 53, 10)));
    const bool sent = a_->w.tx[1].count == 1;
    a_->clear_tx();
    return sent;
  };
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(send()) << i;
  ASSERT_TRUE(a_->reload(policy("2"))) << a_->error;
  EXPECT_FALSE(send()) << "already past the lowered limit";
  ASSERT_TRUE(a_->reload(policy("10"))) << a_->error;
  ASSERT_TRUE(a_->sa_table->refresh().ok());  // the control loop's part
  int sent = 0;
  while (sent < 20 && send()) ++sent;
  EXPECT_EQ(sent, 6) << "numbers 5 to 10: the raised limit counts from the SA's first number";
}

TEST_F(EspStagesTest, SoftLifetimeIsAnEventOnly) {
  a_ = std::make_unique<testing::WorkerRig>(gateway("10.1.0.1/24", "192.0.2.1/24", "192.0.2.2", "10.2.0.0/16",
                                                    "0x1001", kK1 + ", soft_lifetime: {bytes: 100}", "0x2001", kK2));
  ASSERT_TRUE(a_->ok()) << a_->error;
  a_->neighbours.set(a_->neighbours.insert(1, 0xc0000202), NeighbourState::kReachable, kMacB);
  a_->run(from_a_lan(testing::udp(1000, 53, 100)));  // 128 bytes: past the soft limit
  EXPECT_EQ(a_->w.tx[1].count, 1);
  a_->clear_tx();
  const auto events = a_->sa_table->check_lifetimes([&](uint32_t slot) { return usage_of(*a_, slot); });
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "sa_soft_lifetime");
  a_->run(from_a_lan(testing::udp(1000, 53, 100)));
  EXPECT_EQ(a_->w.tx[1].count, 1) << "still sending";
}

}  // namespace
}  // namespace meshplane::dataplane
