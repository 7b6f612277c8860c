#include "ctrl/lb_registry.h"

#include <fmt/format.h>

#include <set>

#include "config/address.h"

namespace meshplane::ctrl {

LbRegistry::LbRegistry(uint32_t max_services, uint32_t max_endpoints)
    : max_services_(max_services), max_endpoints_(max_endpoints) {
  for (uint32_t i = 0; i < max_services; ++i) free_services_.push_back(i);
  for (uint32_t i = 0; i < max_endpoints; ++i) free_endpoints_.push_back(i);
}

std::string LbRegistry::endpoint_name(const EndpointId& id) {
  return fmt::format("{}/{}{}", id.service, config::ipv4_to_string(id.address),
                     id.port ? fmt::format(":{}", id.port) : "");
}

std::string LbRegistry::update(const std::vector<config::Service>& services, Clock::time_point now) {
  LbRegistry next = *this;
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
      if (free_services_.empty()) return fmt::format("no service slot left for '{}' (max_services {})", s.name, max_services_);
      it = services_.emplace(s.name, ServiceRecord{free_services_.front()}).first;
      free_services_.pop_front();
    }
    it->second.vip = s.vip;
    it->second.in_policy = true;
    it->second.drain_seconds = s.drain_seconds;
    for (const auto& e : s.endpoints) {
      EndpointId id{s.name, e.address, e.port};
      listed.insert(id);
      auto ep = endpoints_.find(id);
      if (ep == endpoints_.end()) {
        if (free_endpoints_.empty())
          return fmt::format("no endpoint slot left for {} (max_endpoints {})", endpoint_name(id), max_endpoints_);
        ep = endpoints_.emplace(id, EndpointRecord{free_endpoints_.front()}).first;
        free_endpoints_.pop_front();
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
      free_endpoints_.push_back(it->second.slot);
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
      free_services_.push_back(it->second.slot);
      it = services_.erase(it);
    } else {
      ++it;
    }
  }
  return done;
}

}  // namespace meshplane::ctrl
