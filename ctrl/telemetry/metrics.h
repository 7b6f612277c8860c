// The gateway's counters as Prometheus metric families (text exposition by
// prometheus-cpp): every counter list of dataplane/worker/counter_list.h,
// the drop reasons, per-worker burst sizes, and the control side's own
// measurements. Names follow Prometheus conventions: `meshplane_` prefix,
// `_total` on counters, base units (seconds, bytes), labels from bounded
// sets (port, worker, reason, service, endpoint, SA, rule), never a flow.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "ctrl/telemetry/duration_histogram.h"
#include "meshplane.pb.h"

namespace meshplane::ctrl {

struct MetricsInput {
  const v1::GetStatsResponse* stats = nullptr;  // ctrl/runtime/stats.h: what meshctl stats shows
  const DurationHistogram* apply_seconds = nullptr;
  double tsc_hz = 1;                 // converts busy cycles to seconds
  double start_time_seconds = 0;     // Unix time the daemon started
  uint32_t nat_ports_per_worker = 0;  // each worker's share of the NAT port range
};

std::vector<prometheus::MetricFamily> metric_families(const MetricsInput& in);

// One row of the metrics reference (docs/operations.md): every family
// metric_families() can produce, from the same lists.
struct MetricInfo {
  std::string name;
  std::string type;    // counter, gauge, histogram
  std::string labels;  // "port", "service, endpoint", ""
  std::string help;
};
std::vector<MetricInfo> metric_catalogue();
// The catalogue as a Markdown table.
std::string metrics_reference();

}  // namespace meshplane::ctrl
