#include "ctrl/lb_registry.h"

#include <fmt/format.h>

#include <set>

#include "config/address.h"

namespace meshplane::ctrl {

LbRegistry::LbRegistry(uint32_t max_services, uint32_t max_endpoints, Clock::duration quarantine)
    : max_services_(max_services), max_endpoints_(max_endpoints), quarantine_(quarantine) {
  for (uint32_t i = 0; i < max_services; ++i) free_services_.push_back({i, {}});
  for (uint32_t i = 0; i < max_endpoints; ++i) free_endpoints_.push_back({i, {}});
}

bool LbRegistry::take(std::deque<FreeSlot>& free, Clock::time_point now, uint32_t& slot) {
  if (free.empty() || free.front().reusable > now) return false;
  slot = free.front().slot;
  free.pop_front();
  return true;
}

std::string LbRegistry::endpoint_name(const EndpointId& id) {
  return fmt::format("{}/{}{}", id.service, config::ipv4_to_string(id.address),
                     id.port ? fmt::format(":{}", id.port) : "");
}

std::string LbRegistry::update(const std::vector<config::Service>& services, Clock::time_point now) {
  LbRegistry next = *this;
  next.fresh_services_.clear();
  next.fresh_endpoints_.clear();
  if (auto error = next.apply(services, now); !error.empty()) return error;
  *this = std::move(next);
  return {};
}

std::string LbRegistry::apply(const std::vector<config::Service>& services, Clock::time_point now) {
  std::set<std::string> listed_services;
  std::set<EndpointId> listed;
  for (const auto& s : services) {
    listed_services.insert(s.name);
    auto it = services_.find(s.name);
    if (it == services_.end()) {
      uint32_t slot;
      if (!take(free_services_, now, slot))
        return fmt::format("no service slot free for '{}' (max_services {}; removed services' slots are reused "
                           "once their flows have timed out)", s.name, max_services_);
      it = services_.emplace(s.name, ServiceRecord{slot}).first;
      fresh_services_.push_back(slot);
    }
    it->second.vip = s.vip;
    it->second.in_policy = true;
    it->second.drain_seconds = s.drain_seconds;
    for (const auto& e : s.endpoints) {
      EndpointId id{s.name, e.address, e.port};
      listed.insert(id);
      auto ep = endpoints_.find(id);
      if (ep == endpoints_.end()) {
        uint32_t slot;
        if (!take(free_endpoints_, now, slot))
          return fmt::format("no endpoint slot free for {} (max_endpoints {}; removed endpoints' slots are reused "
                             "once their flows have timed out)", endpoint_name(id), max_endpoints_);
        ep = endpoints_.emplace(id, EndpointRecord{slot}).first;
        fresh_endpoints_.push_back(slot);
      }
      ep->second.subset = e.subset;
      ep->second.weight = e.weight;
      ep->second.draining = false;
    }
  }
  for (auto& [name, rec] : services_)
    if (!listed_services.count(name)) rec.in_policy = false;
  for (auto& [id, rec] : endpoints_) {
    if (listed.count(id) || rec.draining) continue;
    rec.draining = true;
    rec.weight = 0;
    rec.drain_until = now + std::chrono::seconds(services_.at(id.service).drain_seconds);
  }
  expire(now);  // drain_seconds 0: gone at once
  return {};
}

std::vector<std::string> LbRegistry::expire(Clock::time_point now) {
  std::vector<std::string> done;
  for (auto it = endpoints_.begin(); it != endpoints_.end();) {
    if (it->second.draining && it->second.drain_until <= now) {
      done.push_back(endpoint_name(it->first));
      free_endpoints_.push_back({it->second.slot, now + quarantine_});
      it = endpoints_.erase(it);
    } else {
      ++it;
    }
  }
  // A service that left the policy keeps its slot while any of its endpoints drain.
  std::set<std::string> busy;
  for (const auto& [id, rec] : endpoints_) busy.insert(id.service);
  for (auto it = services_.begin(); it != services_.end();) {
    if (!it->second.in_policy && !busy.count(it->first)) {
      free_services_.push_back({it->second.slot, now + quarantine_});
      it = services_.erase(it);
    } else {
      ++it;
    }
  }
  return done;
}

}  // namespace meshplane::ctrl
