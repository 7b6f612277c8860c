// Packet trace through the real pipeline: marked packets (by the filter, up
// to the count) are followed into every stage they enter, with their headers
// there (a NAT rewrite shows), and out (sent, dropped with the reason); the
// control side names what the running policy did at each stage.
#include "ctrl/telemetry/trace_session.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rte_ring_elem.h>

#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"
#include "tests/unit/ctrl/telemetry/web_rig.h"

namespace meshplane::ctrl {
namespace {

using dataplane::TraceRecord;
using testing::build;
using testing::Frame;

using testing::kWebClient;
using testing::kWebClientMac;
using testing::kWebEndpoint;
using testing::kWebVip;

// An access rule to drop something with.
const char* kNoTelnet = R"(access:
  rules:
    - {name: no-telnet, action: deny, protocol: tcp, destination_ports: 23}
)";

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rig_ = testing::web_rig(kNoTelnet);
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    ring_ = rte_ring_create_elem("trace_test", sizeof(TraceRecord), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rig_->w.trace_ring = ring_;
    rig_->w.trace_control = &control_;
  }
  void TearDown() override {
    rig_.reset();
    rte_ring_free(ring_);
  }
  void arm(const TraceQuery& q) {
    ASSERT_TRUE(trace_filter(q, rig_->policy, control_.filter).ok());
    control_.remaining.store(static_cast<int32_t>(q.count));
  }
  // A TCP segment from the client, received as the worker loop receives a burst.
  void receive(uint32_t dst, uint16_t dport) {
    Frame f;
    f.dst = testing::kMacA, f.src = kWebClientMac, f.ip_src = kWebClient, f.ip_dst = dst, f.proto = IPPROTO_TCP;
    f.l4 = testing::tcp(40000, dport, 1000, 0, 0x02, 0);
    rte_mbuf* m = build(rig_->pool, testing::with_l4_checksum(f));
    dataplane::trace_mark(rig_->w, 0, &m, 1);
    rig_->run(m);
    rig_->w.traced.n = 0;
    rig_->clear_tx();
  }
  std::vector<TracedPacket> packets() {
    TraceRecord r;
    while (rte_ring_sc_dequeue_elem(ring_, &r, sizeof r) == 0) session_.add(r);
    return session_.take(rig_->policy, *rig_->snapshot, true);
  }
  static bool has(const TracedPacket& p, const std::string& text) {
    for (const auto& s : p.steps)
      if (s.find(text) != std::string::npos) return true;
    return false;
  }

  std::unique_ptr<testing::WorkerRig> rig_;
  rte_ring* ring_ = nullptr;
  dataplane::TraceControl control_;
  TraceSession session_{10};
};

TEST_F(TraceTest, ANattedPacketShowsEachStageAndItsRewrite) {
  arm({1, "", "10.30.0.10"});
  receive(kWebVip, 80);
  const auto got = packets();
  ASSERT_EQ(got.size(), 1u);
  const TracedPacket& p = got[0];
  EXPECT_TRUE(has(p, "received on port a: tcp 10.0.1.2:40000 -> 10.30.0.10:80")) << ::testing::PrintToString(p.steps);
  EXPECT_TRUE(has(p, "access: no rule matches: allow (the default)"));
  EXPECT_TRUE(has(p, "lb: service 'web'"));
  EXPECT_TRUE(has(p, "route: on port b (connected) [now tcp 10.0.2.1:")) << "the NAT rewrite shows at the next stage";
  EXPECT_TRUE(has(p, "-> 10.0.2.11:8080"));
  EXPECT_TRUE(has(p, "egress") && has(p, "out on port b"));
  EXPECT_EQ(p.verdict, "sent on port b");
}

TEST_F(TraceTest, ADroppedPacketSaysWhereAndWhy) {
  arm({1, "10.0.1.0/24", "", "tcp", 23});
  receive(kWebVip, 80);  // not port 23: not marked
  receive(kWebEndpoint, 23);
  const auto got = packets();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(has(got[0], "access: rule 'no-telnet' (line 8): deny")) << ::testing::PrintToString(got[0].steps);
  EXPECT_TRUE(has(got[0], "dropped: access_denied"));
  EXPECT_EQ(got[0].verdict, "dropped: access_denied");
  EXPECT_FALSE(has(got[0], "route"));
}

TEST_F(TraceTest, TheCountIsTheMostMarked) {
  arm({2, "", "10.30.0.10"});
  for (int i = 0; i < 5; ++i) receive(kWebVip, 80);
  EXPECT_EQ(packets().size(), 2u);
  EXPECT_EQ(control_.remaining.load(), 0);
}

TEST(TraceFilter, BadQuestionsAreRefused) {
  config::Policy policy;
  dataplane::TraceFilter f;
  EXPECT_NE(trace_filter({0}, policy, f).message.find("--count must be 1 to 1000"), std::string::npos);
  EXPECT_NE(trace_filter({1, "10.0.0.0/33"}, policy, f).message.find("--from must be"), std::string::npos);
  EXPECT_NE(trace_filter({1, "", "", "gre"}, policy, f).message.find("--protocol must be"), std::string::npos);
  EXPECT_NE(trace_filter({1, "", "", "", 0, "dmz"}, policy, f).message.find("'dmz' is not a port"), std::string::npos);
  ASSERT_TRUE(trace_filter({1, "10.1.2.3/16"}, policy, f).ok());
  EXPECT_EQ(f.source, 0x0a010000u);
  EXPECT_EQ(f.source_mask, 0xffff0000u);
}

}  // namespace
}  // namespace meshplane::ctrl
