// Stable identities for services and endpoints across policy changes. Each
// gets a slot, which names its counters in every worker and its liveness in
// every snapshot. An endpoint that leaves the policy drains: it keeps its slot
// (so its flows keep working) until its service's drain_seconds pass. Freed
// slots are reused oldest first, so a slot does not come back while flows of
// its previous owner could still be around.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "config/model.h"

namespace meshplane::ctrl {

class LbRegistry {
 public:
  using Clock = std::chrono::steady_clock;

  struct EndpointId {
    std::string service;
    uint32_t address;  // host order
    uint16_t port;     // 0: the service's target ports
    auto operator<=>(const EndpointId&) const = default;
  };
  struct EndpointRecord {
    uint32_t slot;
    std::string subset;
    uint32_t weight = 0;
    bool draining = false;
    Clock::time_point drain_until{};
  };
  struct ServiceRecord {
    uint32_t slot;
    uint32_t vip = 0;  // host order
    bool in_policy = true;
    uint32_t drain_seconds = 0;
  };

  LbRegistry(uint32_t max_services, uint32_t max_endpoints);

  // Brings the slots in line with `services` at time `now`: new services and
  // endpoints get slots, endpoints that left start draining, endpoints listed
  // again stop draining. On error (out of slots) the registry is unchanged.
  std::string update(const std::vector<config::Service>& services, Clock::time_point now);

  // Ends the drains that are over; the names of the endpoints that finished.
  std::vector<std::string> expire(Clock::time_point now);

  const std::map<std::string, ServiceRecord>& services() const { return services_; }
  const std::map<EndpointId, EndpointRecord>& endpoints() const { return endpoints_; }
  uint32_t max_services() const { return max_services_; }
  uint32_t max_endpoints() const { return max_endpoints_; }
  uint32_t service_slot(const std::string& name) const { return services_.at(name).slot; }
  uint32_t endpoint_slot(const EndpointId& id) const { return endpoints_.at(id).slot; }

  static std::string endpoint_name(const EndpointId& id);

 private:
  std::string apply(const std::vector<config::Service>& services, Clock::time_point now);

  uint32_t max_services_, max_endpoints_;
  std::map<std::string, ServiceRecord> services_;
  std::map<EndpointId, EndpointRecord> endpoints_;
  std::deque<uint32_t> free_services_, free_endpoints_;
};

}  // namespace meshplane::ctrl
