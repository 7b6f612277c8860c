// The Prometheus endpoint: GET /metrics over HTTP on the management address
// (api.metrics), served by prometheus-cpp's exposer on threads of its own
// (never a worker's core: they inherit the control thread's affinity). A
// scrape asks `collect`, which the daemon runs on the control thread
// through its queue, so the policy and the registry are read where they
// live; worker counters are relaxed loads.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace prometheus {
class Exposer;
}

namespace meshplane::ctrl {

class MetricsServer {
 public:
  using CollectFn = std::function<std::vector<prometheus::MetricFamily>()>;
  // Listens on address:port (host order; port 0: one the kernel picks);
  // throws std::runtime_error saying why when it cannot.
  MetricsServer(uint32_t address, uint16_t port, CollectFn collect);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const { return port_; }  // the one listened on
  uint64_t scrapes() const;

 private:
  class Collector;
  std::shared_ptr<Collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  uint16_t port_ = 0;
};

}  // namespace meshplane::ctrl
