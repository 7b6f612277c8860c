// Active health checks (docs/config.md, "health checks"): a thread of its
// own inside the exception path's network namespace checks each endpoint of
// the services with a health_check, many at once (non-blocking probes, one
// poll: ctrl/runtime/health_probe.h), every interval (plus jitter) within
// its timeout. Consecutive results past a
// threshold change an endpoint's health; the changes wait in a queue for the
// control thread, which commits them like an endpoint change (PolicyManager).
// The kernel's own TCP stack does the work; the checker writes none.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "config/model.h"
#include "ctrl/runtime/health_probe.h"

namespace meshplane::ctrl {

class HealthChecker {
 public:
  struct Target {
    std::string service;
    uint32_t address = 0;  // host order
    uint16_t port = 0;     // the endpoint's port as the policy names it (0: the service's target ports)
    uint16_t check_port = 0;  // where the check connects
    config::HealthCheck check;
    auto key() const { return std::tie(service, address, port); }
  };
  struct Change {
    std::string service;
    uint32_t address;
    uint16_t port;
    bool healthy;
    std::string why;  // "3 checks failed: connection refused", "2 checks passed"
  };

  // Starts the thread in network namespace `netns` (/run/netns/NAME).
  explicit HealthChecker(const std::string& netns);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // The endpoints to check from now on (a policy was published); one already
  // checked keeps its state and schedule.
  void set_targets(std::vector<Target> targets);
  // Health changes since the last call.
  std::vector<Change> take_changes();

  // The targets of `policy`: every endpoint of every service with a health_check.
  static std::vector<Target> targets_of(const config::Policy& policy);

 private:
  struct State {
    Target target;
    bool healthy = true;  // an endpoint is healthy until checks say otherwise
    uint32_t successes = 0, failures = 0;
    uint64_t due_ms = 0;
    std::unique_ptr<HealthProbe> probe;  // a check in flight
    uint64_t deadline_ms = 0;
  };
  void run(int netns_fd);
  void finish_check(State& s, bool ok, std::string why, uint64_t now);  // why by value: it may live in s.probe

  std::mutex mutex_;  // guards pending_, changes_
  std::vector<Target> pending_;
  bool have_pending_ = false;
  std::vector<Change> changes_;
  std::map<std::tuple<std::string, uint32_t, uint16_t>, State> states_;  // the thread's only
  ssl_ctx_st* tls_ = nullptr;  // https checks' client context (no certificate verification: liveness only)
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace meshplane::ctrl
