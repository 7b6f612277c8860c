#include "ctrl/telemetry/metrics_server.h"

#include <fmt/format.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <atomic>
#include <stdexcept>

#include "config/address.h"

namespace meshplane::ctrl {

class MetricsServer::Collector final : public prometheus::Collectable {
 public:
  explicit Collector(CollectFn collect) : collect_(std::move(collect)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    scrapes_.fetch_add(1, std::memory_order_relaxed);
    return collect_();
  }
  uint64_t scrapes() const { return scrapes_.load(std::memory_order_relaxed); }

 private:
  CollectFn collect_;
  mutable std::atomic<uint64_t> scrapes_{0};
};

MetricsServer::MetricsServer(uint32_t address, uint16_t port, CollectFn collect)
    : collector_(std::make_shared<Collector>(std::move(collect))) {
  const std::string where = fmt::format("{}:{}", config::ipv4_to_string(address), port);
  try {
    // Two threads: a scrape waits for the control thread, and a second
    // scraper should not wait behind it for the socket.
    exposer_ = std::make_unique<prometheus::Exposer>(where, 2);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("cannot serve metrics on {}: {}", where, e.what()));
  }
  exposer_->RegisterCollectable(collector_);
  const auto ports = exposer_->GetListeningPorts();
  if (ports.empty()) throw std::runtime_error(fmt::format("cannot serve metrics on {}: no listening port", where));
  port_ = static_cast<uint16_t>(ports.front());
}

MetricsServer::~MetricsServer() = default;

uint64_t MetricsServer::scrapes() const { return collector_->scrapes(); }

}  // namespace meshplane::ctrl
