// Per-service and per-endpoint counters for the stats message.
#include <algorithm>
#include <chrono>

#include "config/address.h"
#include "ctrl/runtime/stats.h"

namespace meshplane::ctrl {
namespace {

// Sums one slot's counters over workers into `out`, by the names of `list`.
template <typename T, size_t N>
void sum_slot(const StatsSource& src, const T* per_worker, uint32_t stride, uint32_t slot,
              const dataplane::CounterInfo<T, dataplane::Counter> (&list)[N],
              google::protobuf::Map<std::string, uint64_t>& out) {
  for (const auto& c : list) {
    uint64_t n = 0;
    for (size_t w = 0; w < src.worker_lcores.size(); ++w) n += (per_worker[w * stride + slot].*c.member).get();
    out[c.name] = n;
  }
}

// What an endpoint is now, as operators read it: active; drained (weight 0,
// no new connections, existing ones continue); draining (removed, its
// connections continue for the seconds left); gone (its drain ended; listed
// with its last counters until its slot may be reused).
struct EndpointRow {
  const LbRegistry::EndpointId* id;
  uint32_t slot;
  const char* state;
  uint32_t weight;
  const std::string* subset;
  int64_t drain_seconds_left;  // draining only; -1 otherwise
};

template <typename F>
void for_each_endpoint(const LbRegistry& registry, const std::string& service, F f) {
  static const std::string kNone;
  const auto now = LbRegistry::Clock::now();
  for (auto it = registry.endpoints().lower_bound({service, 0, 0});
       it != registry.endpoints().end() && it->first.service == service; ++it) {
    const auto& ep = it->second;
    int64_t left = -1;
    if (ep.draining)
      left = std::max<int64_t>(0, std::chrono::ceil<std::chrono::seconds>(ep.drain_until - now).count());
    f(EndpointRow{&it->first, ep.slot, ep.draining ? "draining" : ep.weight == 0 ? "drained" : "active", ep.weight,
                  &ep.subset, left});
  }
  for (auto it = registry.gone().lower_bound({service, 0, 0});
       it != registry.gone().end() && it->first.service == service; ++it)
    f(EndpointRow{&it->first, it->second.slot, "gone", 0, &kNone, -1});
}

void set_breaker(const dataplane::BreakerCount& count, const config::BreakerLimits& limits, v1::BreakerStats& out) {
  const uint32_t active = count.active.load(std::memory_order_relaxed);
  out.set_active(active);
  out.set_max_connections(limits.max_connections);
  out.set_max_connections_per_second(limits.max_connections_per_second);
  out.set_full(limits.max_connections && active >= limits.max_connections);
}

const config::Service* find_service(const StatsSource& src, const std::string& name) {
  for (const auto& s : src.policy->services)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace

void add_services(const StatsSource& src, v1::GetStatsResponse& out) {
  if (!src.registry) return;
  for (const auto& [name, rec] : src.registry->services()) {
    const config::Service* svc = find_service(src, name);
    auto* ss = out.add_services();
    ss->set_name(name);
    ss->set_vip(config::ipv4_to_string(rec.vip));
    ss->set_mode(svc && svc->mode == config::LbMode::kDirectReturn ? "direct_return" : "nat");
    ss->set_in_policy(rec.in_policy);
    sum_slot(src, src.service_counters, src.registry->max_services(), rec.slot, dataplane::kServiceCounters,
             *ss->mutable_counters());
    auto& drops = *ss->mutable_drops();
    for (size_t r = 0; r < dataplane::kLbDropReasonCount; ++r) {
      uint64_t n = 0;
      for (size_t w = 0; w < src.worker_lcores.size(); ++w)
        n += src.service_counters[w * src.registry->max_services() + rec.slot].drops[r].get();
      drops[dataplane::kDropReasons[dataplane::kFirstLbDropReason + r].name] = n;
    }
    const bool breaker = svc && svc->circuit_breaker && src.breakers;
    if (breaker) set_breaker(src.breakers->service(rec.slot), svc->circuit_breaker->service, *ss->mutable_breaker());
    uint64_t active = 0;
    for_each_endpoint(*src.registry, name, [&](const EndpointRow& row) {
      auto* es = ss->add_endpoints();
      es->set_address(config::ipv4_to_string(row.id->address));
      es->set_port(row.id->port);
      es->set_subset(*row.subset);
      es->set_weight(row.weight);
      es->set_state(row.state);
      if (row.drain_seconds_left >= 0) es->set_drain_seconds_left(row.drain_seconds_left);
      if (svc && (svc->health_check || svc->outlier_detection) && src.health)
        es->set_health(src.health(name, row.id->address, row.id->port));
      if (breaker)
        set_breaker(src.breakers->endpoint(row.slot), svc->circuit_breaker->endpoint, *es->mutable_breaker());
      sum_slot(src, src.endpoint_counters, src.registry->max_endpoints(), row.slot, dataplane::kEndpointCounters,
               *es->mutable_counters());
      active += es->counters().at("active_flows");
    });
    (*ss->mutable_counters())["active_flows"] = active;
  }
}

}  // namespace meshplane::ctrl
