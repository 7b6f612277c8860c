// Prometheus metric families from a stats message: names follow the
// conventions (prefix, _total on counters, seconds for cycles, valid
// characters, no family twice), values and labels come from the message,
// histograms are cumulative, every family produced is in the catalogue, and
// docs/operations.md's metrics reference is the catalogue as it is now.
#include "ctrl/telemetry/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "dataplane/worker/counters.h"

namespace meshplane::ctrl {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

v1::GetStatsResponse sample_stats() {
  v1::GetStatsResponse s;
  s.set_generation(7);
  s.set_flow_capacity_per_worker(65536);
  auto* port = s.add_ports();
  port->set_name("client");
  port->set_link_up(true);
  (*port->mutable_counters())["rx_packets"] = 1000;
  (*port->mutable_counters())["rx_bytes"] = 64000;
  (*s.mutable_drops())["ttl_expired"] = 3;
  auto* w = s.add_workers();
  w->set_id(0);
  (*w->mutable_counters())["busy_cycles"] = 3'000'000'000;
  (*w->mutable_counters())["flows"] = 12;
  (*w->mutable_counters())["rx_packets"] = 1000;
  for (uint64_t n : {10, 0, 5, 0, 0, 20}) w->add_rx_bursts(n);
  auto* svc = s.add_services();
  svc->set_name("web");
  (*svc->mutable_counters())["new_flows"] = 40;
  (*svc->mutable_counters())["active_flows"] = 2;
  (*svc->mutable_drops())["no_endpoint"] = 1;
  auto* ep = svc->add_endpoints();
  ep->set_address("10.10.2.11");
  ep->set_weight(2);
  ep->set_state("active");
  (*ep->mutable_counters())["packets"] = 99;
  auto* sa = s.add_sas();
  sa->set_peer("site-b");
  sa->set_direction("outbound");
  sa->set_spi("0x1001");
  sa->set_sequence(500);
  (*sa->mutable_counters())["packets"] = 500;
  auto* rule = s.add_access_rules();
  rule->set_name("no-telnet");
  rule->set_hits(4);
  return s;
}

std::map<std::string, MetricFamily> by_name(const std::vector<MetricFamily>& families) {
  std::map<std::string, MetricFamily> out;
  for (const auto& f : families) EXPECT_TRUE(out.emplace(f.name, f).second) << f.name << " twice";
  return out;
}

// The sample of `family` whose labels are `labels` (name=value,...).
const prometheus::ClientMetric* find(const std::map<std::string, MetricFamily>& all, const std::string& family,
                                     const std::string& labels) {
  const auto it = all.find(family);
  if (it == all.end()) return nullptr;
  for (const auto& m : it->second.metric) {
    std::string got;
    for (const auto& l : m.label) got += (got.empty() ? "" : ",") + l.name + "=" + l.value;
    if (got == labels) return &m;
  }
  return nullptr;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stats_ = sample_stats();
    apply_.observe(0.004);
    apply_.observe(0.3);
    MetricsInput in{&stats_, &apply_, 1e9, 1.7e9, 16128};
    families_ = by_name(metric_families(in));
  }
  v1::GetStatsResponse stats_;
  DurationHistogram apply_;
  std::map<std::string, MetricFamily> families_;
};

TEST_F(MetricsTest, NamesFollowPrometheusConventions) {
  const std::regex valid("[a-zA-Z_:][a-zA-Z0-9_:]*");
  for (const auto& [name, f] : families_) {
    EXPECT_TRUE(std::regex_match(name, valid)) << name;
    EXPECT_TRUE(name.starts_with("meshplane_") || name == "process_start_time_seconds") << name;
    EXPECT_EQ(f.type == MetricType::Counter, name.ends_with("_total")) << name;
    EXPECT_EQ(name.find("cycles"), std::string::npos) << name << ": cycles are not a base unit";
    EXPECT_FALSE(f.help.empty()) << name;
  }
}

TEST_F(MetricsTest, ValuesAndLabelsComeFromTheStats) {
  const auto* rx = find(families_, "meshplane_port_rx_packets_total", "port=client");
  ASSERT_NE(rx, nullptr);
  EXPECT_EQ(rx->counter.value, 1000);
  EXPECT_EQ(find(families_, "meshplane_port_up", "port=client")->gauge.value, 1);
  EXPECT_EQ(find(families_, "meshplane_drops_total", "reason=ttl_expired")->counter.value, 3);
  EXPECT_EQ(find(families_, "meshplane_drops_total", "reason=no_route")->counter.value, 0) << "every reason, 0 too";
  EXPECT_DOUBLE_EQ(find(families_, "meshplane_worker_busy_seconds_total", "worker=0")->counter.value, 3.0);
  EXPECT_EQ(find(families_, "meshplane_worker_flows", "worker=0")->gauge.value, 12);
  EXPECT_EQ(find(families_, "meshplane_worker_flow_capacity", "worker=0")->gauge.value, 65536);
  EXPECT_EQ(find(families_, "meshplane_worker_nat_ports", "worker=0")->gauge.value, 16128);
  EXPECT_EQ(find(families_, "meshplane_service_new_flows_total", "service=web")->counter.value, 40);
  EXPECT_EQ(find(families_, "meshplane_service_active_flows", "service=web")->gauge.value, 2);
  EXPECT_EQ(find(families_, "meshplane_service_drops_total", "service=web,reason=no_endpoint")->counter.value, 1);
  EXPECT_EQ(find(families_, "meshplane_endpoint_packets_total", "service=web,endpoint=10.10.2.11")->counter.value, 99);
  EXPECT_EQ(find(families_, "meshplane_endpoint_state", "service=web,endpoint=10.10.2.11,state=active")->gauge.value, 1);
  EXPECT_EQ(find(families_, "meshplane_sa_packets_total", "peer=site-b,direction=outbound,spi=0x1001")->counter.value,
            500);
  EXPECT_EQ(find(families_, "meshplane_access_rule_hits_total", "rule=no-telnet")->counter.value, 4);
  EXPECT_EQ(find(families_, "meshplane_policy_generation", "")->gauge.value, 7);
}

TEST_F(MetricsTest, HistogramsAreCumulative) {
  const auto* bursts = find(families_, "meshplane_worker_rx_burst_packets", "worker=0");
  ASSERT_NE(bursts, nullptr);
  const auto& h = bursts->histogram;
  ASSERT_EQ(h.bucket.size(), dataplane::kRxBurstBuckets + 1);
  EXPECT_EQ(h.bucket[0].upper_bound, 1);
  EXPECT_EQ(h.bucket[0].cumulative_count, 10u);
  EXPECT_EQ(h.bucket[2].upper_bound, 4);
  EXPECT_EQ(h.bucket[2].cumulative_count, 15u);
  EXPECT_EQ(h.bucket[5].upper_bound, 32);
  EXPECT_EQ(h.bucket[5].cumulative_count, 35u);
  EXPECT_TRUE(std::isinf(h.bucket.back().upper_bound));
  EXPECT_EQ(h.sample_count, 35u);
  EXPECT_EQ(h.sample_sum, 1000);
  const auto& apply = find(families_, "meshplane_policy_apply_seconds", "")->histogram;
  EXPECT_EQ(apply.sample_count, 2u);
  EXPECT_DOUBLE_EQ(apply.sample_sum, 0.304);
  for (const auto& b : apply.bucket)
    EXPECT_EQ(b.cumulative_count, b.upper_bound < 0.004 ? 0u : b.upper_bound < 0.3 ? 1u : 2u) << b.upper_bound;
}

TEST_F(MetricsTest, TheCatalogueListsEveryFamily) {
  std::set<std::string> catalogue;
  for (const auto& m : metric_catalogue()) catalogue.insert(m.name);
  for (const auto& [name, f] : families_) EXPECT_TRUE(catalogue.count(name)) << name;
  EXPECT_GE(catalogue.size(), families_.size());
  EXPECT_TRUE(catalogue.count("meshplane_worker_routed_flows_total")) << "a counter list's member is a metric";
}

TEST(MetricsReference, TheOperationsGuideHasTheCurrentCatalogue) {
  std::ifstream in(MESHPLANE_SOURCE_ROOT "/docs/operations.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str(), start = "<!-- metrics:start -->\n", end = "<!-- metrics:end -->";
  const auto a = doc.find(start), b = doc.find(end);
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_EQ(doc.substr(a + start.size(), b - a - start.size()), metrics_reference())
      << "regenerate it: build/ctrl/meshplane --metrics-reference";
}

}  // namespace
}  // namespace meshplane::ctrl
