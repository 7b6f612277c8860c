// Payload matching on real mbufs through the pipeline: a service's pattern
// set sees the client's bytes in order across segments (held out-of-order
// segments included) and blocks by resetting both ends, then drops the rest
// of the connection; alerts leave traffic alone and send an event; the
// inspection limit, a gap with on_failure, the per-worker state limit, a set
// changed under a connection and the end of a connection behave as
// documented (docs/config.md, "Pattern sets").
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rte_ring_elem.h>
#include <rte_tcp.h>

#include <string>

#include "dataplane/net/tcp_flags.h"
#include "dataplane/stages/inspect.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"

namespace meshplane::dataplane {
namespace {

using testing::Frame;

constexpr uint32_t kClient = 0x0a000102;    // 10.0.1.2
constexpr uint32_t kVip = 0x0a1e000a;       // 10.30.0.10
constexpr uint32_t kEndpoint = 0x0a00020b;  // 10.0.2.11
constexpr rte_ether_addr kClientMac{{2, 0, 0, 0, 1, 2}}, kEndpointMac{{2, 0, 0, 0, 2, 11}};

std::string policy(const std::string& admin = "^GET /admin", const std::string& set_options = "",
                   uint32_t flows = 16) {
  return R"(ports:
  - {name: a, device: net_null0, addresses: [10.0.1.1/24]}
  - {name: b, device: net_null1, addresses: [10.0.2.1/24]}
load_balancer: {flow_capacity: 1024}
inspection: {flows_per_worker: )" + std::to_string(flows) + R"(}
services:
  - name: web
    vip: 10.30.0.10
    inspect: guard
    ports: [{protocol: tcp, port: 80, target_port: 8080}]
    endpoints: [{address: 10.0.2.11}]
pattern_sets:
  - name: guard
    inspect_bytes: 64
)" + set_options + R"(    patterns:
      - {name: admin, regex: ')" + admin + R"(', action: block}
      - {name: evil, literal: 'evil', action: alert}
      - {name: agent, literal: 'curl', flags: [caseless], action: tag}
)";
}

// One connection through the gateway: the client's side and the endpoint's (after NAT).
class InspectTest : public ::testing::Test {
 protected:
  void start(const std::string& text = policy()) {
    rig_.reset();
    client_port_ = 40000;
    rig_ = std::make_unique<testing::WorkerRig>(text);
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    rig_->neighbours.set(rig_->neighbours.insert(0, kClient), NeighbourState::kReachable, kClientMac);
    rig_->neighbours.set(rig_->neighbours.insert(1, kEndpoint), NeighbourState::kReachable, kEndpointMac);
  }
  void SetUp() override { start(); }

  struct Sent {
    int port = -1;        // where a packet left first (port a before b); -1: nothing did
    int out[2] = {0, 0};  // packets out of each port
    rte_tcp_hdr tcp[2]{};  // the first packet out of each port
    uint32_t src[2]{}, dst[2]{};
  };
  // A client segment (to the VIP) or an endpoint segment (to our NAT address and port).
  Sent send(bool from_client, uint32_t seq, uint32_t ack, uint8_t flags, const std::string& payload = "") {
    Frame f;
    f.proto = IPPROTO_TCP;
    f.ip_src = from_client ? kClient : kEndpoint;
    f.ip_dst = from_client ? kVip : nat_address_;
    f.dst = from_client ? testing::kMacA : testing::kMacB;
    f.src = from_client ? kClientMac : kEndpointMac;
    f.l4 = from_client ? testing::tcp(client_port_, 80, seq, ack, flags, payload.size())
                       : testing::tcp(8080, nat_port_, seq, ack, flags, payload.size());
    std::copy(payload.begin(), payload.end(), f.l4.begin() + 20);
    rig_->run(testing::build(rig_->pool, testing::with_l4_checksum(f)), from_client ? 0 : 1);
    Sent s;
    for (int p = 0; p < 2; ++p) {
      s.out[p] = rig_->w.tx[p].count;
      if (!rig_->w.tx[p].count) continue;
      if (s.port < 0) s.port = p;
      const auto* ip = rte_pktmbuf_mtod_offset(rig_->w.tx[p].pkts[0], const rte_ipv4_hdr*, 14);
      s.src[p] = rte_be_to_cpu_32(ip->src_addr);
      s.dst[p] = rte_be_to_cpu_32(ip->dst_addr);
      std::memcpy(&s.tcp[p], ip + 1, sizeof s.tcp[p]);
    }
    rig_->clear_tx();
    return s;
  }
  // SYN, SYN-ACK, ACK: the client's next byte is 1001, the endpoint's 5001.
  void handshake() {
    const Sent syn = send(true, 1000, 0, kTcpSyn);
    ASSERT_EQ(syn.port, 1);
    nat_address_ = syn.src[1];
    nat_port_ = rte_be_to_cpu_16(syn.tcp[1].src_port);
    ASSERT_EQ(send(false, 5000, 1001, kTcpSyn | kTcpAck).port, 0);
    ASSERT_EQ(send(true, 1001, 5001, kTcpAck).port, 1);
  }
  bool client_data(uint32_t seq, const std::string& bytes) {
    return send(true, seq, 5001, kTcpAck | 0x08, bytes).port == 1;
  }
  const PatternSetCounters& set() const { return rig_->inspect->sets[0]; }
  uint64_t matches(const std::string& pattern) const {
    return rig_->inspect->matches[rig_->snapshot->patterns->pattern_slots.at("guard/" + pattern)].get();
  }
  std::vector<InspectEventRecord> events() {
    std::vector<InspectEventRecord> out(16);
    out.resize(rte_ring_sc_dequeue_burst_elem(rig_->inspect_events, out.data(), sizeof out[0], 16, nullptr));
    return out;
  }

  std::unique_ptr<testing::WorkerRig> rig_;
  uint16_t client_port_ = 40000;
  uint32_t nat_address_ = 0;
  uint16_t nat_port_ = 0;
};

TEST_F(InspectTest, APatternSplitOverSegmentsIsBlockedAndBothEndsAreReset) {
  handshake();
  EXPECT_TRUE(client_data(1001, "GET /ad"));
  const Sent blocked = send(true, 1008, 5001, kTcpAck, "min HTTP/1.1\r\n");
  EXPECT_EQ(rig_->counters.dropped(DropReason::kPatternBlocked), 1u);
  ASSERT_EQ(blocked.out[0], 1) << "a RST to the client";
  ASSERT_EQ(blocked.out[1], 1) << "a RST to the endpoint, in place of the segment";
  EXPECT_EQ(blocked.src[0], kVip) << "the client hears its peer: the VIP";
  EXPECT_EQ(blocked.dst[0], kClient);
  EXPECT_EQ(blocked.tcp[0].tcp_flags & kTcpRst, kTcpRst);
  EXPECT_EQ(rte_be_to_cpu_32(blocked.tcp[0].sent_seq), 5001u) << "at the number the client acknowledged";
  EXPECT_EQ(rte_be_to_cpu_16(blocked.tcp[0].src_port), 80);
  EXPECT_EQ(rte_be_to_cpu_16(blocked.tcp[0].dst_port), client_port_);
  EXPECT_EQ(set().blocked.get(), 1u);
  EXPECT_EQ(matches("admin"), 1u);
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, InspectEvent::kBlock);
  EXPECT_EQ(ev[0].direction, 0);
  EXPECT_FALSE(client_data(1022, "more")) << "the rest of the connection is dropped";
  EXPECT_EQ(send(false, 5001, 1008, kTcpAck, "late answer").port, -1);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kPatternBlocked), 3u);
  EXPECT_EQ(set().active.get(), 0u);
}

TEST_F(InspectTest, TheEndpointHearsARstFromTheNatAddressAtTheBlockedSegmentsNumber) {
  handshake();
  const Sent blocked = send(true, 1001, 5001, kTcpAck, "GET /admin");
  ASSERT_EQ(blocked.out[1], 1);
  EXPECT_EQ(blocked.src[1], nat_address_);
  EXPECT_EQ(blocked.dst[1], kEndpoint);
  EXPECT_EQ(rte_be_to_cpu_16(blocked.tcp[1].src_port), nat_port_);
  EXPECT_EQ(rte_be_to_cpu_16(blocked.tcp[1].dst_port), 8080);
  EXPECT_EQ(blocked.tcp[1].tcp_flags, kTcpRst);
  EXPECT_EQ(rte_be_to_cpu_32(blocked.tcp[1].sent_seq), 1001u) << "where the endpoint's stream stands";
  EXPECT_EQ(set().blocked.get(), 1u);
  // A fresh connection on another port is inspected afresh.
  client_port_ = 40001;
  handshake();
  EXPECT_TRUE(client_data(1001, "GET /index.html"));
  EXPECT_EQ(set().connections.get(), 2u);
}

TEST_F(InspectTest, OutOfOrderSegmentsAreHeldAndRetransmissionsScannedOnce) {
  handshake();
  EXPECT_TRUE(client_data(1008, "min")) << "beyond a hole: held, and forwarded";
  EXPECT_TRUE(client_data(1001, "GET")) << "part of the hole";
  EXPECT_TRUE(client_data(1001, "GET")) << "a retransmission";
  EXPECT_FALSE(client_data(1004, " /ad")) << "fills the hole: the held bytes complete the pattern";
  EXPECT_EQ(matches("admin"), 1u);
  EXPECT_EQ(set().bytes.get(), 10u) << "every byte once";
}

TEST_F(InspectTest, AnAlertLeavesTrafficAloneAndTagsAreCounted) {
  handshake();
  EXPECT_TRUE(client_data(1001, "GET / HTTP/1.1\r\nUser-Agent: CURL/8\r\nX: ev"));
  EXPECT_TRUE(client_data(1042, "il\r\n\r\n"));
  EXPECT_EQ(matches("evil"), 1u);
  EXPECT_EQ(matches("agent"), 1u);
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, InspectEvent::kAlert);
  EXPECT_EQ(ev[0].key[0].src_addr, rte_cpu_to_be_32(kClient));
  EXPECT_EQ(rig_->counters.dropped(DropReason::kPatternBlocked), 0u);
}

TEST_F(InspectTest, PastInspectBytesNothingIsScannedAndTheFlowIsLeftAlone) {
  handshake();
  EXPECT_TRUE(client_data(1001, std::string(64, 'x'))) << "the whole depth";
  EXPECT_TRUE(send(false, 5001, 1065, kTcpAck | 0x08, std::string(64, 'y')).port == 0) << "the other direction too";
  EXPECT_EQ(set().completed.get(), 2u);
  EXPECT_EQ(set().active.get(), 0u) << "state given back";
  EXPECT_EQ(rig_->inspect->in_use(), 0u);
  EXPECT_TRUE(client_data(1065, "GET /admin")) << "beyond the limit: not inspected";
  EXPECT_EQ(matches("admin"), 0u);
}

TEST_F(InspectTest, AStartAnchoredPatternDoesNotMatchLaterInTheStream) {
  handshake();
  EXPECT_TRUE(client_data(1001, "POST /x HTTP/1.1\r\n\r\nGET /admin"));
  EXPECT_EQ(matches("admin"), 0u);
}

TEST_F(InspectTest, AGapStopsInspectionAndOnFailureDecides) {
  start(policy("^GET /admin", "    out_of_order: stop\n"));
  handshake();
  EXPECT_TRUE(client_data(1010, "ahead")) << "fails open: the connection goes on uninspected";
  EXPECT_EQ(set().gaps.get(), 1u);
  EXPECT_TRUE(client_data(1001, "GET /admin")) << "client direction no longer inspected";

  start(policy("^GET /admin", "    out_of_order: stop\n    on_failure: block\n"));
  handshake();
  EXPECT_FALSE(client_data(1010, "ahead")) << "fails closed: reset";
  EXPECT_EQ(set().failed_closed.get(), 1u);
  EXPECT_EQ(rig_->counters.dropped(DropReason::kInspectFailed), 1u);
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, InspectEvent::kFailedClosed);
  EXPECT_EQ(ev[0].gap, 1);
}

TEST_F(InspectTest, TheWorkersStateLimitFailsOpenOrRefusesNewConnections) {
  start(policy("^GET /admin", "", 1));
  handshake();
  client_port_ = 40001;
  handshake();
  EXPECT_EQ(set().no_state.get(), 1u);
  EXPECT_TRUE(client_data(1001, "GET /admin")) << "the second connection is not inspected (fails open)";

  start(policy("^GET /admin", "    on_failure: block\n", 1));
  handshake();
  client_port_ = 40001;
  EXPECT_EQ(send(true, 1000, 0, kTcpSyn).port, -1) << "fails closed: the connection is refused";
  EXPECT_EQ(rig_->counters.dropped(DropReason::kInspectFailed), 1u);
}

TEST_F(InspectTest, ASetChangedUnderAConnectionSwitchesItMidStream) {
  handshake();
  EXPECT_TRUE(client_data(1001, "GET /index"));
  ASSERT_TRUE(rig_->reload(policy("secret")));
  EXPECT_FALSE(client_data(1011, " secret")) << "the new set applies from the next byte";
  EXPECT_EQ(set().switched.get(), 1u);
  EXPECT_EQ(matches("admin"), 1u) << "the pattern named admin, now 'secret'";
}

TEST_F(InspectTest, ClosingBothDirectionsGivesTheStateBack) {
  handshake();
  EXPECT_TRUE(client_data(1001, "GET / HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(rig_->inspect->in_use(), 1u);
  send(true, 1019, 5001, kTcpAck | kTcpFin);
  send(false, 5001, 1020, kTcpAck | kTcpFin);
  EXPECT_EQ(rig_->inspect->in_use(), 0u);
  EXPECT_EQ(set().completed.get(), 2u);
}

// A routed connection (no NAT) admitted by a destination authorization's rule
// with a set: blocked the same way, each end hearing the other's address.
TEST(InspectRouted, ARuleOfADestinationAuthorizationInspectsWhatItAdmits) {
  testing::WorkerRig rig(R"(ports:
  - {name: a, device: net_null0, addresses: [10.0.1.1/24]}
  - {name: b, device: net_null1, addresses: [10.0.2.1/24]}
load_balancer: {flow_capacity: 1024}
authorization:
  - name: servers
    destinations: [10.0.2.0/24]
    default: deny
    rules:
      - {name: web, action: allow, to: {ports: [80]}, inspect: guard}
      - {name: ssh, action: allow, to: {ports: [22]}}
pattern_sets:
  - name: guard
    patterns: [{name: admin, regex: '/admin', action: block}]
)");
  ASSERT_TRUE(rig.ok()) << rig.error;
  rig.neighbours.set(rig.neighbours.insert(0, kClient), NeighbourState::kReachable, kClientMac);
  rig.neighbours.set(rig.neighbours.insert(1, kEndpoint), NeighbourState::kReachable, kEndpointMac);
  auto send = [&](uint16_t dport, uint32_t seq, uint8_t flags, const std::string& payload) {
    Frame f;
    f.proto = IPPROTO_TCP;
    f.ip_src = kClient;
    f.ip_dst = kEndpoint;
    f.dst = testing::kMacA;
    f.src = kClientMac;
    f.l4 = testing::tcp(40000, dport, seq, 7001, flags, payload.size());
    std::copy(payload.begin(), payload.end(), f.l4.begin() + 20);
    rig.run(testing::build(rig.pool, testing::with_l4_checksum(f)), 0);
    std::pair<int, int> out{rig.w.tx[0].count, rig.w.tx[1].count};
    uint32_t rst_source = 0;
    if (rig.w.tx[0].count)
      rst_source = rte_be_to_cpu_32(rte_pktmbuf_mtod_offset(rig.w.tx[0].pkts[0], const rte_ipv4_hdr*, 14)->src_addr);
    rig.clear_tx();
    return std::pair{out, rst_source};
  };
  EXPECT_EQ(send(22, 100, kTcpSyn, "").first, std::pair(0, 1));
  EXPECT_EQ(send(22, 101, kTcpAck, "GET /admin").first, std::pair(0, 1)) << "the ssh rule names no set";
  EXPECT_EQ(send(80, 100, kTcpSyn, "").first, std::pair(0, 1));
  const auto [out, rst_source] = send(80, 101, kTcpAck, "GET /admin");
  EXPECT_EQ(out, std::pair(1, 1)) << "a RST each way";
  EXPECT_EQ(rst_source, kEndpoint) << "the client hears the server's address";
  EXPECT_EQ(rig.counters.dropped(DropReason::kPatternBlocked), 1u);
  EXPECT_EQ(rig.inspect->sets[0].connections.get(), 1u);
}

}  // namespace
}  // namespace meshplane::dataplane
