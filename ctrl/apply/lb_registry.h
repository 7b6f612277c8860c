// Stable identities for services and endpoints across policy changes. Each
// gets a slot, which names its counters in every worker and its liveness in
// every snapshot. An endpoint that leaves the policy drains: it keeps its slot
// (so its flows keep working) until its service's drain_seconds pass. A freed
// slot rests for `quarantine` (the longest flow timeout) before reuse, so no
// flow of its previous owner can be left in any worker's table; its counters
// are then zeroed (fresh_*_slots) before the new owner's first snapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "config/model.h"
#include "config/status.h"

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
  // An endpoint whose drain ended: listed (state "gone", last counters) until
  // its slot could be reused, or until it is listed again.
  struct GoneRecord {
    uint32_t slot;
    Clock::time_point until;
  };
  struct ServiceRecord {
    uint32_t slot;
    uint32_t vip = 0;  // host order
    bool in_policy = true;
    uint32_t drain_seconds = 0;
  };

  LbRegistry(uint32_t max_services, uint32_t max_endpoints, Clock::duration quarantine = {});

  // Brings the slots in line with `services` at time `now`: new services and
  // endpoints get slots, endpoints that left start draining, endpoints listed
  // again stop draining. Out of slots (kExhausted), the registry is unchanged.
  // Slots handed out by this call are listed in fresh_*_slots, and endpoints
  // that began to drain in started_draining, until the next.
  config::Status update(const std::vector<config::Service>& services, Clock::time_point now);
  const std::vector<uint32_t>& fresh_service_slots() const { return fresh_services_; }
  const std::vector<uint32_t>& fresh_endpoint_slots() const { return fresh_endpoints_; }
  const std::vector<EndpointId>& started_draining() const { return started_draining_; }

  // Ends the drains that are over; the names of the endpoints that finished.
  std::vector<std::string> expire(Clock::time_point now);

  const std::map<std::string, ServiceRecord>& services() const { return services_; }
  const std::map<EndpointId, EndpointRecord>& endpoints() const { return endpoints_; }
  const std::map<EndpointId, GoneRecord>& gone() const { return gone_; }
  uint32_t max_services() const { return max_services_; }
  uint32_t max_endpoints() const { return max_endpoints_; }
  uint32_t service_slot(const std::string& name) const { return services_.at(name).slot; }
  uint32_t endpoint_slot(const EndpointId& id) const { return endpoints_.at(id).slot; }

  static std::string endpoint_name(const EndpointId& id);

 private:
  struct FreeSlot {
    uint32_t slot;
    Clock::time_point reusable;
  };
  // What update() found for each listed service and endpoint, in policy
  // order (end() for new ones): std::map iterators survive inserts.
  struct Lookups {
    std::vector<std::map<std::string, ServiceRecord>::iterator> services;
    std::vector<std::map<EndpointId, EndpointRecord>::iterator> endpoints;
  };
  void apply(const std::vector<config::Service>& services, const Lookups& found, Clock::time_point now);
  static bool take(std::deque<FreeSlot>& free, Clock::time_point now, uint32_t& slot);
  static uint32_t available(const std::deque<FreeSlot>& free, Clock::time_point now, uint32_t want);

  uint32_t max_services_, max_endpoints_;
  Clock::duration quarantine_;
  std::vector<uint32_t> fresh_services_, fresh_endpoints_;
  std::vector<EndpointId> started_draining_;
  std::map<std::string, ServiceRecord> services_;
  std::map<EndpointId, EndpointRecord> endpoints_;
  std::map<EndpointId, GoneRecord> gone_;
  std::deque<FreeSlot> free_services_, free_endpoints_;  // oldest first
};

}  // namespace meshplane::ctrl
