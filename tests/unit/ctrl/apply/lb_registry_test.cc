#include "ctrl/apply/lb_registry.h"

#include <gtest/gtest.h>

namespace meshplane::ctrl {
namespace {

using namespace std::chrono_literals;
using Clock = LbRegistry::Clock;

config::Service service(const std::string& name, std::vector<uint32_t> endpoints, uint32_t drain_seconds = 10) {
  config::Service s;
  s.name = name;
  s.vip = 0x0a1e0001;
  s.drain_seconds = drain_seconds;
  for (uint32_t a : endpoints) s.endpoints.push_back({.address = a});
  return s;
}

TEST(LbRegistry, SlotsStayAcrossUpdatesAndRemovedEndpointsDrain) {
  LbRegistry r(4, 8, 60s);
  const auto t0 = Clock::now();
  ASSERT_TRUE(r.update({service("web", {1, 2, 3})}, t0).ok());
  EXPECT_EQ(r.fresh_endpoint_slots().size(), 3u);
  const uint32_t slot2 = r.endpoint_slot({"web", 2, 0});
  ASSERT_TRUE(r.update({service("web", {1, 3, 4})}, t0 + 1s).ok());
  EXPECT_EQ(r.endpoint_slot({"web", 2, 0}), slot2) << "a draining endpoint keeps its slot";
  EXPECT_TRUE(r.endpoints().at({"web", 2, 0}).draining);
  EXPECT_EQ(r.endpoints().at({"web", 2, 0}).weight, 0u);
  EXPECT_EQ(r.fresh_endpoint_slots().size(), 1u) << "only the added endpoint is new";
  EXPECT_NE(r.endpoint_slot({"web", 4, 0}), slot2);

  EXPECT_TRUE(r.expire(t0 + 10s).empty());
  EXPECT_EQ(r.expire(t0 + 11s), std::vector<std::string>{"web/0.0.0.2"});
  EXPECT_EQ(r.endpoints().count({"web", 2, 0}), 0u);
  // Gone, and listed as such (with its slot, so its last counters) while the slot rests.
  ASSERT_EQ(r.gone().count({"web", 2, 0}), 1u);
  EXPECT_EQ(r.gone().at({"web", 2, 0}).slot, slot2);
  r.expire(t0 + 70s);
  EXPECT_EQ(r.gone().at({"web", 2, 0}).slot, slot2) << "quarantine is 60 s from the end of the drain";
  r.expire(t0 + 71s);
  EXPECT_EQ(r.gone().count({"web", 2, 0}), 0u);
}

TEST(LbRegistry, AGoneEndpointListedAgainIsNoLongerGone) {
  LbRegistry r(4, 8, 60s);
  const auto t0 = Clock::now();
  ASSERT_TRUE(r.update({service("web", {1, 2}, 0)}, t0).ok());
  ASSERT_TRUE(r.update({service("web", {1}, 0)}, t0).ok());
  EXPECT_EQ(r.gone().count({"web", 2, 0}), 1u) << "drain_seconds 0: gone at once";
  ASSERT_TRUE(r.update({service("web", {1, 2}, 0)}, t0 + 1s).ok());
  EXPECT_EQ(r.gone().count({"web", 2, 0}), 0u);
  EXPECT_FALSE(r.endpoints().at({"web", 2, 0}).draining);
}

TEST(LbRegistry, ListedAgainWithinTheDrainStopsDraining) {
  LbRegistry r(4, 8);
  const auto t0 = Clock::now();
  ASSERT_TRUE(r.update({service("web", {1, 2})}, t0).ok());
  const uint32_t slot = r.endpoint_slot({"web", 2, 0});
  ASSERT_TRUE(r.update({service("web", {1})}, t0).ok());
  ASSERT_TRUE(r.update({service("web", {1, 2})}, t0 + 1s).ok());
  EXPECT_FALSE(r.endpoints().at({"web", 2, 0}).draining);
  EXPECT_EQ(r.endpoint_slot({"web", 2, 0}), slot);
  EXPECT_TRUE(r.expire(t0 + 1h).empty());
}

TEST(LbRegistry, FreedSlotsRestBeforeReuseAndFailuresChangeNothing) {
  LbRegistry r(2, 2, 60s);
  const auto t0 = Clock::now();
  ASSERT_TRUE(r.update({service("web", {1, 2}, 0)}, t0).ok());
  const uint32_t slot1 = r.endpoint_slot({"web", 1, 0});
  // drain_seconds 0: endpoint 1 is gone at once, but its slot rests.
  ASSERT_TRUE(r.update({service("web", {2}, 0)}, t0).ok());
  EXPECT_EQ(r.endpoints().count({"web", 1, 0}), 0u);
  const config::Status s = r.update({service("web", {2, 3}, 0)}, t0 + 30s);
  EXPECT_EQ(s.code, config::Status::Code::kExhausted);
  EXPECT_NE(s.message.find("no endpoint slot free"), std::string::npos) << s.message;
  EXPECT_EQ(r.endpoints().size(), 1u) << "a failed update changes nothing";
  ASSERT_TRUE(r.update({service("web", {2, 3}, 0)}, t0 + 61s).ok());
  EXPECT_EQ(r.endpoint_slot({"web", 3, 0}), slot1);
  EXPECT_EQ(r.fresh_endpoint_slots(), std::vector<uint32_t>{slot1});
}

TEST(LbRegistry, RemovedServiceKeepsItsSlotWhileItsEndpointsDrain) {
  LbRegistry r(4, 8);
  const auto t0 = Clock::now();
  ASSERT_TRUE(r.update({service("web", {1}), service("db", {2})}, t0).ok());
  ASSERT_TRUE(r.update({service("db", {2})}, t0).ok());
  ASSERT_EQ(r.services().count("web"), 1u);
  EXPECT_FALSE(r.services().at("web").in_policy);
  r.expire(t0 + 11s);
  EXPECT_EQ(r.services().count("web"), 0u);
}

}  // namespace
}  // namespace meshplane::ctrl
