#include "ctrl/apply/lb_registry.h"

#include <fmt/format.h>

#include <optional>

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

uint32_t LbRegistry::available(const std::deque<FreeSlot>& free, Clock::time_point now, uint32_t want) {
  uint32_t n = 0;
  for (auto it = free.begin(); n < want && it != free.end() && it->reusable <= now; ++it) ++n;
  return n;
}

// Looks every service and endpoint up once and counts the slots the change
// needs before touching anything, so that it either applies whole or leaves
// the registry as it was, without a copy.
config::Status LbRegistry::update(const std::vector<config::Service>& services, Clock::time_point now) {
  Lookups found;
  found.services.reserve(services.size());
  uint32_t new_services = 0, new_endpoints = 0;
  const config::Service* first_service = nullptr;
  std::optional<EndpointId> first_endpoint;
  for (const auto& s : services) {
    found.services.push_back(services_.find(s.name));
    if (found.services.back() == services_.end() && !new_services++) first_service = &s;
    for (const auto& e : s.endpoints) {
      EndpointId id{s.name, e.address, e.port};
      found.endpoints.push_back(endpoints_.find(id));
      if (found.endpoints.back() == endpoints_.end() && !new_endpoints++) first_endpoint = std::move(id);
    }
  }
  if (available(free_services_, now, new_services) < new_services)
    return config::Status::failure(
        config::Status::Code::kExhausted,
        fmt::format("no service slot free for '{}' and {} more (max_services {}; removed services' slots are "
                    "reused once their flows have timed out)", first_service->name, new_services - 1, max_services_));
  if (available(free_endpoints_, now, new_endpoints) < new_endpoints)
    return config::Status::failure(
        config::Status::Code::kExhausted,
        fmt::format("no endpoint slot free for {} and {} more (max_endpoints {}; removed endpoints' slots are "
                    "reused once their flows have timed out)", endpoint_name(*first_endpoint), new_endpoints - 1,
                    max_endpoints_));
  fresh_services_.clear();
  fresh_endpoints_.clear();
  started_draining_.clear();
  apply(services, found, now);
  return {};
}

void LbRegistry::apply(const std::vector<config::Service>& services, const Lookups& found, Clock::time_point now) {
  // Listed or not, by slot: slots are dense below max_*.
  std::vector<bool> service_listed(max_services_), endpoint_listed(max_endpoints_);
  size_t next_endpoint = 0;
  for (size_t i = 0; i < services.size(); ++i) {
    const auto& s = services[i];
    auto it = found.services[i];
    if (it == services_.end()) {
      uint32_t slot = 0;
      take(free_services_, now, slot);  // counted by update()
      it = services_.emplace(s.name, ServiceRecord{slot}).first;
      fresh_services_.push_back(slot);
    }
    service_listed[it->second.slot] = true;
    it->second.vip = s.vip;
    it->second.in_policy = true;
    it->second.drain_seconds = s.drain_seconds;
    for (const auto& e : s.endpoints) {
      auto ep = found.endpoints[next_endpoint++];
      if (ep == endpoints_.end()) {
        uint32_t slot = 0;
        take(free_endpoints_, now, slot);
        ep = endpoints_.emplace(EndpointId{s.name, e.address, e.port}, EndpointRecord{slot}).first;
        gone_.erase(ep->first);
        fresh_endpoints_.push_back(slot);
      }
      endpoint_listed[ep->second.slot] = true;
      ep->second.subset = e.subset;
      ep->second.weight = e.weight;
      ep->second.draining = false;
    }
  }
  for (auto& [name, rec] : services_)
    if (!service_listed[rec.slot]) rec.in_policy = false;
  for (auto& [id, rec] : endpoints_) {
    if (endpoint_listed[rec.slot] || rec.draining) continue;
    rec.draining = true;
    rec.weight = 0;
    rec.drain_until = now + std::chrono::seconds(services_.at(id.service).drain_seconds);
    started_draining_.push_back(id);
  }
  expire(now);  // drain_seconds 0: gone at once
}

std::vector<std::string> LbRegistry::expire(Clock::time_point now) {
  std::vector<std::string> done;
  for (auto it = endpoints_.begin(); it != endpoints_.end();) {
    if (it->second.draining && it->second.drain_until <= now) {
      done.push_back(endpoint_name(it->first));
      free_endpoints_.push_back({it->second.slot, now + quarantine_});
      gone_[it->first] = GoneRecord{it->second.slot, now + quarantine_};
      it = endpoints_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(gone_, [now](const auto& g) { return g.second.until <= now; });
  // A service that left the policy keeps its slot while any of its endpoints
  // drain (endpoints are ordered by service first).
  for (auto it = services_.begin(); it != services_.end();) {
    auto first = endpoints_.lower_bound(EndpointId{it->first, 0, 0});
    const bool busy = first != endpoints_.end() && first->first.service == it->first;
    if (!it->second.in_policy && !busy) {
      free_services_.push_back({it->second.slot, now + quarantine_});
      it = services_.erase(it);
    } else {
      ++it;
    }
  }
  return done;
}

}  // namespace meshplane::ctrl
