// Authorization in the load balancer, on real mbufs through the pipeline:
// a service's policy decides each new connection (deny rules first, then
// allow, then the default; audit rules report), established packets are not
// asked again until the authorization changes, and then a connection the
// new rules deny is cut, on its next packet or by the background sweep.
#include <gtest/gtest.h>
#include <rte_ring_elem.h>

#include "dataplane/stages/access.h"
#include "dataplane/stages/lb.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"
#include "tests/unit/expect_tx.h"

namespace meshplane::dataplane {
namespace {

using testing::build;
using testing::Frame;

constexpr uint32_t kOffice = 0x0a000102;   // 10.0.1.2: identity 'office'
constexpr uint32_t kLab = 0x0a000142;      // 10.0.1.66: 'office', but the deny rule names it
constexpr uint32_t kGuest = 0x0a0001c8;    // 10.0.1.200: no identity
constexpr uint32_t kVip = 0x0a1e000a;      // 10.30.0.10
constexpr uint32_t kEndpoint = 0x0a00020b; // 10.0.2.11

std::string policy(const std::string& office = "10.0.1.0/25", const std::string& weight = "1",
                   const std::string& on_change = "cut") {
  return R"(ports:
  - {name: a, device: net_null0, addresses: [10.0.1.1/24]}
  - {name: b, device: net_null1, addresses: [10.0.2.1/24]}
load_balancer: {max_services: 4, max_endpoints: 8, flow_capacity: 1024}
services:
  - {name: web, vip: 10.30.0.10, ports: [{protocol: tcp, port: 80}], endpoints: [{address: 10.0.2.11, weight: )" +
         weight + R"(}]}
identities:
  - {name: office, prefixes: [)" + office + R"(]}
authorization:
  - service: web
    default: deny
    on_change: )" + on_change + R"(
    rules:
      - {name: office-in, action: allow, from: {identities: [office]}, to: {ports: [80], protocols: [tcp]}}
      - {name: not-the-lab, action: deny, from: {prefixes: [10.0.1.64/27]}}
      - {name: watch, action: audit, from: {prefixes: [10.0.1.0/24]}}
)";
}

class AuthorizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rig_ = std::make_unique<testing::WorkerRig>(policy());
    ASSERT_TRUE(rig_->ok()) << rig_->error;
    for (uint32_t host : {kOffice, kLab, kGuest})
      rig_->neighbours.set(rig_->neighbours.insert(0, host), NeighbourState::kReachable, {{2, 0, 0, 0, 1, 2}});
    rig_->neighbours.set(rig_->neighbours.insert(1, kEndpoint), NeighbourState::kReachable, {{2, 0, 0, 0, 2, 11}});
    log_ = rte_ring_create_elem("authz_test_log", sizeof(AccessLogRecord), 64, SOCKET_ID_ANY,
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
    rig_->w.access_log = log_;
  }
  void TearDown() override {
    rig_.reset();
    rte_ring_free(log_);
  }
  // A segment from `client` to the VIP; returns whether it reached the endpoint.
  bool send(uint32_t client, uint8_t flags, uint16_t sport = 40000) {
    Frame f;
    f.dst = testing::kMacA, f.src = {{2, 0, 0, 0, 1, 2}}, f.ip_src = client, f.ip_dst = kVip, f.proto = IPPROTO_TCP;
    f.l4 = testing::tcp(sport, 80, 1000, flags & 0x10 ? 1 : 0, flags, 0);
    rig_->run(build(rig_->pool, testing::with_l4_checksum(f)));
    const bool out = rig_->w.tx[1].count == 1;
    rig_->clear_tx();
    return out;
  }
  const ServiceCounters& web() const { return rig_->services[rig_->registry->service_slot("web")]; }
  uint64_t denied() const { return rig_->counters.dropped(DropReason::kAuthzDenied); }

  std::unique_ptr<testing::WorkerRig> rig_;
  rte_ring* log_ = nullptr;
};

TEST_F(AuthorizeTest, EachNewConnectionIsDecidedOnce) {
  EXPECT_TRUE(send(kOffice, 0x02));
  EXPECT_EQ(rig_->flows->size(), 1u);
  EXPECT_FALSE(send(kLab, 0x02)) << "a deny rule wins over an allow rule";
  EXPECT_FALSE(send(kGuest, 0x02)) << "no identity: the default (deny)";
  EXPECT_EQ(rig_->flows->size(), 1u);
  EXPECT_EQ(denied(), 2u);
  EXPECT_EQ(web().drops[static_cast<size_t>(DropReason::kAuthzDenied) - kFirstLbDropReason].get(), 2u);
  EXPECT_EQ(web().authz_audited.get(), 3u) << "the audit rule reports every connection it matches, allowed or not";
  AccessLogRecord r{};
  ASSERT_EQ(rte_ring_sc_dequeue_elem(log_, &r, sizeof r), 0);
  EXPECT_EQ(r.kind, LogKind::kAuthzAudit);
  EXPECT_EQ(r.verdict, AccessVerdict::kAllow);
  EXPECT_EQ(rte_be_to_cpu_32(r.key.source), kOffice);
  EXPECT_TRUE(send(kOffice, 0x10)) << "established: passes";
  EXPECT_EQ(web().authz_audited.get(), 3u) << "established packets are not asked again";
}

TEST_F(AuthorizeTest, AChangeCutsWhatItDeniesOnTheNextPacket) {
  ASSERT_TRUE(send(kOffice, 0x02));
  const uint8_t epoch = rig_->snapshot->authz.epoch;
  ASSERT_TRUE(rig_->reload(policy("10.0.1.0/25", "2")));  // no authorization change
  EXPECT_EQ(rig_->snapshot->authz.epoch, epoch);
  EXPECT_TRUE(send(kOffice, 0x10));
  ASSERT_TRUE(rig_->reload(policy("10.0.1.128/25")));  // 10.0.1.2 is no longer 'office'
  EXPECT_NE(rig_->snapshot->authz.epoch, epoch);
  EXPECT_FALSE(send(kOffice, 0x10));
  EXPECT_EQ(web().authz_cut.get(), 1u);
  EXPECT_EQ(rig_->flows->size(), 0u);
  EXPECT_FALSE(send(kOffice, 0x02)) << "and a new connection is denied";
}

TEST_F(AuthorizeTest, KeepLeavesExistingConnectionsAlone) {
  ASSERT_TRUE(rig_->reload(policy("10.0.1.0/25", "1", "keep")));
  ASSERT_TRUE(send(kOffice, 0x02));
  ASSERT_TRUE(rig_->reload(policy("10.0.1.128/25", "1", "keep")));
  EXPECT_TRUE(send(kOffice, 0x10)) << "established: kept";
  lb_sweep_authorization(rig_->w, *rig_->snapshot, 1u << 20);
  EXPECT_EQ(rig_->flows->size(), 1u);
  EXPECT_EQ(web().authz_cut.get(), 0u);
  EXPECT_FALSE(send(kOffice, 0x02, 40001)) << "a new connection is decided by the new rules";
}

TEST_F(AuthorizeTest, TheSweepCutsIdleConnectionsAndSaysWhenItIsDone) {
  ASSERT_TRUE(send(kOffice, 0x02));
  lb_sweep_authorization(rig_->w, *rig_->snapshot, 1u << 20);
  EXPECT_EQ(rig_->counters.authz_swept.get(), rig_->snapshot->authz.epoch);
  ASSERT_TRUE(rig_->reload(policy("10.0.1.128/25")));
  EXPECT_NE(rig_->counters.authz_swept.get(), rig_->snapshot->authz.epoch);
  lb_sweep_authorization(rig_->w, *rig_->snapshot, 16);  // a small budget: not done yet
  EXPECT_NE(rig_->counters.authz_swept.get(), rig_->snapshot->authz.epoch);
  lb_sweep_authorization(rig_->w, *rig_->snapshot, 1u << 20);
  EXPECT_EQ(rig_->counters.authz_swept.get(), rig_->snapshot->authz.epoch);
  EXPECT_EQ(rig_->flows->size(), 0u) << "cut without a packet";
  EXPECT_EQ(web().authz_cut.get(), 1u);
}

}  // namespace
}  // namespace meshplane::dataplane
