// Outlier detection's decisions from the workers' counts: failures in a row
// eject (an answer breaks the run), the ejection ends after its time and the
// next one lasts longer, and at most max_ejection_percent of a service's
// endpoints (at least one) are out at once.
#include "ctrl/apply/outlier_detector.h"

#include <gtest/gtest.h>

#include "config/parser.h"

namespace meshplane::ctrl {
namespace {

using namespace std::chrono_literals;

config::Policy policy(uint32_t percent) {
  auto r = config::load_policy_text(R"(ports:
  - {name: a, device: d0, addresses: [10.0.1.1/24]}
services:
  - name: web
    vip: 10.30.0.1
    ports: [{port: 80}]
    outlier_detection: {consecutive_failures: 3, base_ejection_ms: 1000, max_ejection_percent: )" +
                                        std::to_string(percent) + R"(}
    endpoints: [{address: 10.0.1.11}, {address: 10.0.1.12}, {address: 10.0.1.13}, {address: 10.0.1.14}]
)",
                                    "p.yaml");
  EXPECT_TRUE(r.ok()) << r.message;
  return r.policy;
}

TEST(OutlierDetector, FailuresInARowEjectForLongerEachTime) {
  OutlierDetector od;
  const auto p = policy(50);
  const auto t0 = OutlierDetector::Clock::now();
  auto sample = [](uint64_t failures, uint64_t answers) {
    return std::vector<OutlierDetector::Sample>{{"web", 0x0a00010b, 0, failures, answers}};
  };
  EXPECT_TRUE(od.update(p, sample(0, 10), t0).empty());
  EXPECT_TRUE(od.update(p, sample(2, 10), t0).empty()) << "2 in a row";
  EXPECT_TRUE(od.update(p, sample(3, 11), t0).empty()) << "an answer in between breaks the run";
  EXPECT_TRUE(od.update(p, sample(5, 11), t0).empty()) << "2 in a row again";
  auto d = od.update(p, sample(6, 11), t0);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].eject);
  EXPECT_NE(d[0].why.find("ejected for 1.0 s"), std::string::npos) << d[0].why;
  EXPECT_TRUE(od.update(p, sample(9, 11), t0 + 500ms).empty()) << "already out";
  d = od.update(p, sample(9, 11), t0 + 1s);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FALSE(d[0].eject) << "its time is over";
  d = od.update(p, sample(12, 11), t0 + 1100ms);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].why.find("ejected for 2.0 s (ejection 2)"), std::string::npos) << d[0].why;
}

TEST(OutlierDetector, AtMostTheConfiguredShareIsOutAtOnce) {
  OutlierDetector od;
  const auto p = policy(25);  // 4 endpoints: one
  const auto t0 = OutlierDetector::Clock::now();
  std::vector<OutlierDetector::Sample> all;
  for (uint32_t a : {0x0a00010bu, 0x0a00010cu, 0x0a00010du, 0x0a00010eu}) all.push_back({"web", a, 0, 0, 0});
  od.update(p, all, t0);
  for (auto& s : all) s.failures = 5;
  const auto d = od.update(p, all, t0);
  ASSERT_EQ(d.size(), 1u) << "one of four";
  EXPECT_TRUE(d[0].eject);
}

}  // namespace
}  // namespace meshplane::ctrl
