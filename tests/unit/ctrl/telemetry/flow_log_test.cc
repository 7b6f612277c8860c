// Flow logs through the real pipeline: a sampled NAT connection yields a
// start record and, when it ends, an end record with both directions'
// packets and bytes and the reason; one flow in `sample` is logged; the
// rate limit loses records, counted; and a record reads back as the JSON
// line the control thread writes (tests/e2e/test_flow_logs.py reads them with Python's json).
#include "ctrl/telemetry/flow_log_writer.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rte_ring_elem.h>

#include "dataplane/stages/lb.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"
#include "tests/unit/ctrl/telemetry/web_rig.h"

namespace meshplane::ctrl {
namespace {

using dataplane::FlowLogRecord;
using testing::build;
using testing::Frame;

using testing::kWebClient;
using testing::kWebClientMac;
using testing::kWebVip;

class FlowLogTest : public ::testing::Test {
 protected:
  void start(uint32_t sample, uint64_t per_second) {
    rig_ = testing::web_rig();
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    ring_ = rte_ring_create_elem("flow_log_test", sizeof(FlowLogRecord), 1024, SOCKET_ID_ANY,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
    log_ = std::make_unique<dataplane::FlowLog>(rig_->policy.load_balancer.flow_capacity, ring_, sample, per_second);
    rig_->w.flow_log = log_.get();
  }
  void TearDown() override {
    rig_.reset();
    rte_ring_free(ring_);
  }
  void send(uint16_t sport, uint8_t flags, size_t payload = 0) {
    Frame f;
    f.dst = testing::kMacA, f.src = kWebClientMac, f.ip_src = kWebClient, f.ip_dst = kWebVip, f.proto = IPPROTO_TCP;
    f.l4 = testing::tcp(sport, 80, 1000, flags & 0x10 ? 1 : 0, flags, payload);
    rig_->run(build(rig_->pool, testing::with_l4_checksum(f)));
    rig_->clear_tx();
  }
  std::vector<FlowLogRecord> records() {
    std::vector<FlowLogRecord> out;
    FlowLogRecord r;
    while (rte_ring_sc_dequeue_elem(ring_, &r, sizeof r) == 0) out.push_back(r);
    return out;
  }

  std::unique_ptr<testing::WorkerRig> rig_;
  rte_ring* ring_ = nullptr;
  std::unique_ptr<dataplane::FlowLog> log_;
};

TEST_F(FlowLogTest, ASampledConnectionIsLoggedWhenItStartsAndEnds) {
  start(1, 1000);
  send(40000, 0x02);
  send(40000, 0x10, 100);
  send(40000, 0x14);  // RST
  auto got = records();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event, dataplane::FlowLogEvent::kStart);
  EXPECT_EQ(rte_be_to_cpu_32(got[0].original.src_addr), kWebClient);
  rig_->w.lb.now += 60'000;
  while (rig_->flows->size()) dataplane::lb_expire(rig_->w, 64);
  got = records();
  ASSERT_EQ(got.size(), 1u);
  const FlowLogRecord& end = got[0];
  EXPECT_EQ(end.event, dataplane::FlowLogEvent::kEnd);
  EXPECT_EQ(end.reason, dataplane::FlowEnd::kReset);
  EXPECT_EQ(end.packets, 3u);
  EXPECT_EQ(end.bytes, 3 * 54u + 100) << "Ethernet frames: 14 + 20 + 20 bytes each, and the payload";
  EXPECT_GT(end.end_ms, end.start_ms);
  const std::string line = flow_log_json(end, 0, "web", 1'700'000'000'000);
  EXPECT_NE(line.find(R"("event":"end")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("client":"10.0.1.2:40000","destination":"10.30.0.10:80","service":"web")"), std::string::npos)
      << line;
  EXPECT_NE(line.find(R"("nat_source":"10.0.2.1:)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("endpoint":"10.0.2.11:8080")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("packets":3,"bytes":262,)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("reason":"reset")"), std::string::npos) << line;
  EXPECT_EQ(rig_->counters.flow_logged.get(), 2u);
}

TEST_F(FlowLogTest, OneFlowInSampleIsLogged) {
  start(4, 1000);
  for (uint16_t p = 0; p < 8; ++p) send(static_cast<uint16_t>(41000 + p), 0x02);
  EXPECT_EQ(records().size(), 2u);
}

TEST_F(FlowLogTest, RecordsOverTheRateAreCountedNotWaitedFor) {
  start(1, 1);  // one record a second, a burst of one
  for (uint16_t p = 0; p < 5; ++p) send(static_cast<uint16_t>(42000 + p), 0x02);
  EXPECT_EQ(records().size(), 1u);
  EXPECT_EQ(rig_->counters.flow_log_lost.get(), 4u);
}

}  // namespace
}  // namespace meshplane::ctrl
