#include "ctrl/apply/policy_manager.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <rte_byteorder.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "config/emitter.h"
#include "config/parser.h"

namespace meshplane::ctrl {
namespace {

const std::string kPorts = R"(ports:
  - {name: a, device: d0, addresses: [10.0.1.1/24]}
  - {name: b, device: d1, addresses: [10.0.2.1/24]}
load_balancer: {flow_capacity: 1024, max_services: 8, max_endpoints: 32}
)";

std::string doc(const std::string& endpoints, const std::string& extra = "") {
  return kPorts + extra + R"(services:
  - name: web
    vip: 10.30.0.1
    ports: [{port: 80}]
    endpoints: )" + endpoints + R"(
  - name: db
    vip: 10.30.0.2
    ports: [{port: 5432}]
    endpoints: [{address: 10.0.2.20}]
)";
}

class PolicyManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = config::load_policy_text(doc("[{address: 10.0.2.11}, {address: 10.0.2.12}]"), "start.yaml");
    ASSERT_TRUE(parsed.ok()) << config::format(parsed.errors);
    PolicyManager::Hooks hooks;
    // Like SnapshotSlot: the new snapshot becomes current, the old one is freed.
    hooks.publish = [this](std::unique_ptr<dataplane::Snapshot> s) {
      previous_routes_ = current_ ? current_->routes : nullptr;
      current_ = std::move(s);
      ++published_;
    };
    pm_ = std::make_unique<PolicyManager>(parsed.policy, std::vector<PortBinding>{{0, {}}, {1, {}}}, hooks,
                                          PolicyManager::Clock::now());
  }
  EndpointChange change(EndpointChange::Op op, uint32_t address, uint32_t weight = 1) {
    EndpointChange c;
    c.op = op;
    c.address = address;
    c.weight = weight;
    return c;
  }
  std::vector<Event> events() { return pm_->events().after(0, std::chrono::milliseconds(0)); }

  std::unique_ptr<PolicyManager> pm_;
  std::unique_ptr<dataplane::Snapshot> current_;
  const rte_lpm* previous_routes_ = nullptr;
  int published_ = 0;
};

TEST_F(PolicyManagerTest, RejectedApplyChangesNothing) {
  const std::string before = config::to_yaml(pm_->policy());
  const auto* running = current_.get();
  Outcome o = pm_->apply(doc("[{address: 10.0.2.11}, {address: 10.0.2.300}]", "icmp: {errors_burst: 0}\n"),
                         "bad.yaml", false, PolicyManager::Clock::now());
  EXPECT_EQ(o.code, Outcome::Code::kInvalid);
  ASSERT_EQ(o.errors.size(), 2u) << o.message;
  EXPECT_EQ(o.errors[0].file, "bad.yaml");
  EXPECT_EQ(o.errors[0].mark.line, 5);  // errors_burst
  EXPECT_EQ(o.errors[1].mark.line, 10);  // the bad endpoint address
  EXPECT_GT(o.errors[1].mark.column, 0);
  EXPECT_EQ(o.generation, 1u);
  EXPECT_EQ(pm_->generation(), 1u);
  EXPECT_EQ(config::to_yaml(pm_->policy()), before);
  EXPECT_EQ(current_.get(), running) << "nothing published";
  EXPECT_EQ(events().back().kind, "policy_rejected");

  auto mtu = doc("[{address: 10.0.2.11}]");
  mtu.replace(mtu.find("addresses: [10.0.1.1/24]"), 24, "addresses: [10.0.1.1/24], mtu: 1400");
  o = pm_->apply(mtu, "mtu.yaml", false, PolicyManager::Clock::now());
  EXPECT_EQ(o.code, Outcome::Code::kNeedsRestart);
  EXPECT_NE(o.message.find("needs a restart"), std::string::npos);
  EXPECT_EQ(pm_->generation(), 1u);
  EXPECT_EQ(published_, 1);
}

TEST_F(PolicyManagerTest, DryRunPublishesNothingAndEachChangeIsOneGeneration) {
  Outcome o = pm_->apply(doc("[{address: 10.0.2.11}]"), "dry.yaml", true, PolicyManager::Clock::now());
  EXPECT_TRUE(o.ok());
  EXPECT_FALSE(o.applied);
  EXPECT_EQ(published_, 1);
  EXPECT_EQ(pm_->policy().services[0].endpoints.size(), 2u);
  for (uint64_t g = 2; g < 6; ++g) {
    o = pm_->apply(doc("[{address: 10.0.2.11, weight: " + std::to_string(g) + "}]"), "p.yaml", false,
                   PolicyManager::Clock::now());
    ASSERT_TRUE(o.ok()) << o.message;
    EXPECT_EQ(o.generation, g);
    EXPECT_EQ(current_->generation, g);
  }
}

TEST_F(PolicyManagerTest, EndpointUpdatesAreAllOrNothing) {
  const auto now = PolicyManager::Clock::now();
  EXPECT_EQ(pm_->update_endpoints("nope", {change(EndpointChange::Op::kDrain, 0x0a00020b)}, false, now).code,
            Outcome::Code::kNotFound);
  EXPECT_EQ(pm_->update_endpoints("web", {change(EndpointChange::Op::kAdd, 0x0a00020b)}, false, now).code,
            Outcome::Code::kAlreadyExists);
  // The first change is fine, the second names a gateway address: neither happens.
  Outcome o = pm_->update_endpoints(
      "web", {change(EndpointChange::Op::kAdd, 0x0a00020d), change(EndpointChange::Op::kAdd, 0x0a000201)}, false, now);
  EXPECT_EQ(o.code, Outcome::Code::kInvalid);
  EXPECT_NE(o.message.find("gateway's own address"), std::string::npos) << o.message;
  EXPECT_EQ(pm_->policy().services[0].endpoints.size(), 2u);
  EXPECT_EQ(pm_->generation(), 1u);

  o = pm_->update_endpoints("web",
                            {change(EndpointChange::Op::kAdd, 0x0a00020d, 3),
                             change(EndpointChange::Op::kRemove, 0x0a00020b),
                             change(EndpointChange::Op::kDrain, 0x0a00020c)},
                            false, now);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.generation, 2u);
  const auto& eps = pm_->policy().services[0].endpoints;
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].address, 0x0a00020cu);
  EXPECT_EQ(eps[0].weight, 0u);
  EXPECT_EQ(eps[1].weight, 3u);
  EXPECT_TRUE(pm_->registry().endpoints().at({"web", 0x0a00020b, 0}).draining);
  bool draining_event = false;
  for (const auto& e : events()) draining_event |= e.kind == "endpoint_draining" && e.message == "web/10.0.2.11";
  EXPECT_TRUE(draining_event);
}

TEST_F(PolicyManagerTest, UnchangedTablesAreSharedBetweenSnapshots) {
  const rte_lpm* routes = current_->routes;
  const auto db_table = current_->lb.subset(current_->lb.services[1], 0).slots;
  const auto web_table = current_->lb.subset(current_->lb.services[0], 0).slots;
  ASSERT_TRUE(pm_->update_endpoints("web", {change(EndpointChange::Op::kSetWeight, 0x0a00020b, 5)}, false,
                                    PolicyManager::Clock::now())
                  .ok());
  EXPECT_EQ(current_->routes, routes) << "routes unchanged: the same LPM";
  EXPECT_EQ(current_->lb.subset(current_->lb.services[1], 0).slots, db_table) << "db unchanged: its Maglev table reused";
  EXPECT_NE(current_->lb.subset(current_->lb.services[0], 0).slots, web_table) << "web's weights changed: rebuilt";
  Outcome o = pm_->apply(doc("[{address: 10.0.2.11}]", "routes: [{prefix: 10.20.0.0/16, via: 10.0.2.2}]\n"),
                         "r.yaml", false, PolicyManager::Clock::now());
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_NE(current_->routes, routes) << "a new route: a new table";
  EXPECT_EQ(current_->route(0x0a140001), 2) << "10.20.0.1 via the static route (next hop 2)";
}

// Unchanged services are copied from the running snapshot; what they were
// compiled against (routes, ports, NAT pool) must still reach them.
TEST_F(PolicyManagerTest, UnchangedServicesFollowChangedRoutes) {
  const auto be = [](uint32_t a) { return rte_cpu_to_be_32(a); };
  ASSERT_EQ(current_->lb.endpoint(current_->lb.services[1], 0).outer_source, be(0x0a000201)) << "db's endpoint on port b";
  const uint32_t db_slot = current_->lb.endpoint(current_->lb.services[1], 0).slot;
  ASSERT_TRUE(pm_->update_endpoints("web", {change(EndpointChange::Op::kSetWeight, 0x0a00020b, 5)}, false,
                                    PolicyManager::Clock::now())
                  .ok());
  // db unchanged, but a host route now sends its endpoint out of port a.
  Outcome o = pm_->apply(doc("[{address: 10.0.2.11, weight: 5}, {address: 10.0.2.12}]",
                             "routes: [{prefix: 10.0.2.20/32, via: 10.0.1.2}]\n"),
                         "r.yaml", false, PolicyManager::Clock::now());
  ASSERT_TRUE(o.ok()) << o.message;
  const auto& db = current_->lb.endpoint(current_->lb.services[1], 0);
  EXPECT_EQ(db.outer_source, be(0x0a000101)) << "NAT source: port a's address";
  EXPECT_EQ(db.slot, db_slot) << "the same endpoint keeps its slot";
  EXPECT_EQ(current_->lb.nat_pool[db.nat_first], be(0x0a000101));
  // The same services, moved down the file by a new line: still the same values.
  o = pm_->apply("node: gw1\n" + doc("[{address: 10.0.2.11, weight: 5}, {address: 10.0.2.12}]",
                                      "routes: [{prefix: 10.0.2.20/32, via: 10.0.1.2}]\n"),
                 "moved.yaml", false, PolicyManager::Clock::now());
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(current_->lb.endpoint(current_->lb.services[1], 0).outer_source, be(0x0a000101));
  EXPECT_EQ(current_->lb.services[0].endpoint_count, 2u);
  EXPECT_EQ(current_->lb.by_vip.find(dataplane::LbView::vip_key(be(0x0a1e0002))), 1u);
}

// Active health checks' verdicts: an unhealthy endpoint leaves the published
// Maglev table (its service's subset loses its weight) but not the policy,
// a second one puts the service under its panic threshold (all balanced
// again), and the health is kept across an apply that leaves the endpoint.
TEST(PolicyManagerHealth, UnhealthyEndpointsLeaveTheTableUntilTheServicePanics) {
  auto parsed = config::load_policy_text(R"(ports:
  - {name: a, device: d0, addresses: [10.0.1.1/24]}
  - {name: b, device: d1, addresses: [10.0.2.1/24]}
exception_path: {netns: t}
load_balancer: {flow_capacity: 1024, nat_port_max: 60999}
services:
  - name: web
    vip: 10.30.0.1
    ports: [{port: 80}]
    panic_threshold: 50
    health_check: {type: tcp}
    endpoints: [{address: 10.0.2.11}, {address: 10.0.2.12}, {address: 10.0.2.13}]
)",
                                         "h.yaml");
  ASSERT_TRUE(parsed.ok()) << config::format(parsed.errors);
  std::unique_ptr<dataplane::Snapshot> current;
  PolicyManager::Hooks hooks;
  hooks.publish = [&](std::unique_ptr<dataplane::Snapshot> s) { current = std::move(s); };
  PolicyManager pm(parsed.policy, {{0, {}}, {1, {}}}, hooks, PolicyManager::Clock::now());
  auto members = [&] {  // endpoints holding Maglev slots
    const auto& sub = current->lb.subsets[current->lb.services[0].first_subset];
    std::set<uint32_t> used(sub.slots, sub.slots + sub.size);
    return used.size();
  };
  ASSERT_EQ(members(), 3u);
  const uint64_t g = pm.generation();
  pm.set_health("web", 0x0a00020b, 0, false, "2 checks failed: connection refused", PolicyManager::Clock::now());
  EXPECT_EQ(pm.generation(), g + 1);
  EXPECT_EQ(members(), 2u) << "no new connections to it";
  EXPECT_EQ(pm.policy().services[0].endpoints[0].weight, 1u) << "the policy keeps its weight";
  EXPECT_FALSE(pm.healthy("web", 0x0a00020b, 0));
  pm.set_health("web", 0x0a00020c, 0, false, "timed out", PolicyManager::Clock::now());
  EXPECT_EQ(members(), 3u) << "1 of 3 healthy is under 50%: panic, all of them again";
  pm.set_health("web", 0x0a00020c, 0, true, "2 checks passed", PolicyManager::Clock::now());
  EXPECT_EQ(members(), 2u);
  auto kept = config::load_policy_text(config::to_yaml(pm.policy()), "again.yaml");
  ASSERT_TRUE(kept.ok());
  kept.policy.services[0].drain_seconds = 5;  // an unrelated change
  ASSERT_TRUE(pm.apply(std::move(kept), "again.yaml", false, PolicyManager::Clock::now()).ok());
  EXPECT_FALSE(pm.healthy("web", 0x0a00020b, 0)) << "kept across the apply";
  EXPECT_EQ(members(), 2u);
  auto events = pm.events().after(0, std::chrono::milliseconds(0));
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const Event& e) {
    return e.kind == "endpoint_unhealthy" && e.message.find("connection refused") != std::string::npos;
  }));
}

// on_unhealthy: an endpoint taken out keeps its open connections (keep, the
// default: it stays live for its flows) or loses them (reset: not live, so
// the next packet of each is answered with a RST); back in, it is live again.
TEST(PolicyManagerHealth, OnUnhealthyResetTakesTheEndpointsConnectionsToo) {
  for (const bool reset : {false, true}) {
    auto parsed = config::load_policy_text(fmt::format(R"(ports:
  - {{name: a, device: d0, addresses: [10.0.1.1/24]}}
  - {{name: b, device: d1, addresses: [10.0.2.1/24]}}
exception_path: {{netns: t}}
load_balancer: {{flow_capacity: 1024, nat_port_max: 60999}}
services:
  - name: web
    vip: 10.30.0.1
    ports: [{{port: 80}}]
    on_unhealthy: {}
    health_check: {{type: tcp}}
    endpoints: [{{address: 10.0.2.11}}, {{address: 10.0.2.12}}, {{address: 10.0.2.13}}]
)", reset ? "reset" : "keep"),
                                           "h.yaml");
    ASSERT_TRUE(parsed.ok()) << config::format(parsed.errors);
    std::unique_ptr<dataplane::Snapshot> current;
    PolicyManager::Hooks hooks;
    hooks.publish = [&](std::unique_ptr<dataplane::Snapshot> s) { current = std::move(s); };
    PolicyManager pm(parsed.policy, {{0, {}}, {1, {}}}, hooks, PolicyManager::Clock::now());
    const uint32_t slot = current->lb.endpoints[0].slot;
    ASSERT_TRUE(current->lb.live(slot));
    pm.set_health("web", 0x0a00020b, 0, false, "2 checks failed", PolicyManager::Clock::now());
    EXPECT_EQ(current->lb.live(slot), !reset) << (reset ? "reset" : "keep");
    EXPECT_TRUE(current->lb.live(current->lb.endpoints[1].slot));
    pm.set_health("web", 0x0a00020b, 0, true, "2 checks passed", PolicyManager::Clock::now());
    EXPECT_TRUE(current->lb.live(slot));
  }
}

// SAs IKE negotiated are compiled into their peer (ESP in UDP when NAT-T),
// are never part of the document, survive applies while the peer stays keyed
// by IKE, and go when it does not.
TEST(PolicyManagerIke, NegotiatedSasAreCompiledIntoThePeerAndOutliveApplies) {
  char key[] = "/tmp/mp-ike-key-XXXXXX";
  close(mkstemp(key));  // mode 0600
  // The peer site-b, keyed as `keying` says.
  auto with_peer = [&](const std::string& keying) {
    return fmt::format(R"(ports:
  - {{name: lan, device: d0, addresses: [10.1.0.1/24]}}
  - {{name: wan, device: d1, addresses: [192.0.2.1/24]}}
ike: {{certificate: /etc/gw.pem, key: {}, ca: /etc/ca.pem}}
peers:
  - name: site-b
    address: 192.0.2.2
    local_address: 192.0.2.1
    prefixes: [10.2.0.0/16]
)", key) + keying;
  };
  const std::string ike_doc = with_peer("    identity: gw-b.example\n    ike: {}\n");
  auto parsed = config::load_policy_text(ike_doc, "ike.yaml");
  ASSERT_TRUE(parsed.ok()) << config::format(parsed.errors);
  std::unique_ptr<dataplane::Snapshot> current;
  PolicyManager::Hooks hooks;
  hooks.publish = [&](std::unique_ptr<dataplane::Snapshot> s) { current = std::move(s); };
  PolicyManager pm(parsed.policy, {{0, {}}, {1, {}}}, hooks, PolicyManager::Clock::now());
  ASSERT_EQ(current->peers.size(), 1u);
  EXPECT_EQ(current->peers[0].outbound_sa, dataplane::kNoOutboundSa) << "not keyed yet: its traffic is dropped";
  EXPECT_GT(current->ike_packets_per_second, 0u);

  auto sa = [](config::SaDirection d, uint32_t spi, uint8_t fill) {
    config::SecurityAssociation s;
    s.direction = d;
    s.spi = spi;
    s.key = config::Secret(std::vector<uint8_t>(20, fill));
    return s;
  };
  NegotiatedSas keyed;
  keyed.sas = {sa(config::SaDirection::kInbound, 0x1000, 1), sa(config::SaDirection::kOutbound, 0x2000, 2)};
  keyed.udp = true;
  keyed.udp_port = 40001;  // the peer is behind a NAT that maps its 4500 here
  ASSERT_TRUE(pm.set_negotiated("site-b", keyed, PolicyManager::Clock::now()).applied);
  auto keyed_right = [&] {
    const auto& peer = current->peers.at(0);
    return peer.outbound_sa != dataplane::kNoOutboundSa &&
           current->outbound_sas[peer.outbound_sa].spi == rte_cpu_to_be_32(0x2000) &&
           current->outbound_sas[peer.outbound_sa].encapsulation == dataplane::Encapsulation::kUdp &&
           current->outbound_sas[peer.outbound_sa].remote_port == rte_cpu_to_be_16(40001) &&
           current->inbound_by_spi.find(rte_cpu_to_be_32(0x1000)) != dataplane::StaticMap::kMissing;
  };
  EXPECT_TRUE(keyed_right());
  EXPECT_TRUE(pm.policy().peers[0].sas.empty()) << "never part of the document";
  EXPECT_EQ(pm.compiled_policy().peers[0].sas.size(), 2u);
  EXPECT_TRUE(pm.compiled_policy().peers[0].sas[0].negotiated);
  EXPECT_EQ(config::to_yaml(pm.policy()).find("0x1000"), std::string::npos);

  ASSERT_TRUE(pm.apply(config::load_policy_text(ike_doc, "again.yaml"), "again.yaml", false,
                       PolicyManager::Clock::now()).applied);
  EXPECT_TRUE(keyed_right()) << "an apply keeps what IKE negotiated";

  EXPECT_EQ(pm.set_negotiated("nobody", keyed, PolicyManager::Clock::now()).code, Outcome::Code::kNotFound);
  const std::string manual = with_peer(R"(    sas:
      - {direction: outbound, spi: 0x3000, key: 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4}
      - {direction: inbound, spi: 0x3001, key: 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4}
)");
  ASSERT_TRUE(pm.apply(config::load_policy_text(manual, "manual.yaml"), "manual.yaml", false,
                       PolicyManager::Clock::now()).applied);
  EXPECT_EQ(current->outbound_sas.at(current->peers[0].outbound_sa).spi, rte_cpu_to_be_32(0x3000));
  EXPECT_EQ(current->inbound_by_spi.find(rte_cpu_to_be_32(0x1000)), dataplane::StaticMap::kMissing)
      << "keyed by hand now: IKE's SAs are gone";
  std::remove(key);
}

}  // namespace
}  // namespace meshplane::ctrl
