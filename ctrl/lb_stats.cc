// Per-service and per-endpoint counters for the stats output.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "config/address.h"
#include "ctrl/stats.h"

namespace meshplane::ctrl {
namespace {

using dataplane::EndpointCounters;
using dataplane::ServiceCounters;

struct EndpointTotals {
  uint64_t new_flows = 0, active_flows = 0, packets = 0, bytes = 0;
};

EndpointTotals endpoint_totals(const StatsSource& src, uint32_t slot) {
  EndpointTotals t;
  const uint32_t stride = src.registry->max_endpoints();
  for (size_t w = 0; w < src.worker_lcores.size(); ++w) {
    const EndpointCounters& c = src.endpoint_counters[w * stride + slot];
    t.new_flows += c.new_flows.get();
    t.active_flows += c.active_flows.get();
    t.packets += c.packets.get();
    t.bytes += c.bytes.get();
  }
  return t;
}

template <typename F>
uint64_t service_sum(const StatsSource& src, uint32_t slot, F field) {
  uint64_t n = 0;
  const uint32_t stride = src.registry->max_services();
  for (size_t w = 0; w < src.worker_lcores.size(); ++w) n += field(src.service_counters[w * stride + slot]).get();
  return n;
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

std::string endpoint_address(const LbRegistry::EndpointId& id) {
  return fmt::format("{}{}", config::ipv4_to_string(id.address), id.port ? fmt::format(":{}", id.port) : "");
}

const config::Service* find_service(const StatsSource& src, const std::string& name) {
  for (const auto& s : src.policy->services)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace

std::string services_table(const StatsSource& src) {
  std::string out;
  if (!src.registry) return out;
  for (const auto& [name, rec] : src.registry->services()) {
    const uint32_t slot = rec.slot;
    out += fmt::format("service {} ({}){}: {} new flows, {} packets, {} bytes\n", name,
                       config::ipv4_to_string(rec.vip), rec.in_policy ? "" : " removed, draining",
                       service_sum(src, slot, [](const ServiceCounters& c) -> auto& { return c.new_flows; }),
                       service_sum(src, slot, [](const ServiceCounters& c) -> auto& { return c.packets; }),
                       service_sum(src, slot, [](const ServiceCounters& c) -> auto& { return c.bytes; }));
    for_each_endpoint(*src.registry, name, [&](const EndpointRow& row) {
      const EndpointTotals t = endpoint_totals(src, row.slot);
      const std::string state =
          row.drain_seconds_left >= 0 ? fmt::format("{} ({} s left)", row.state, row.drain_seconds_left) : row.state;
      out += fmt::format("  {:<21} {:<20} weight {:<5} {:>10} new {:>8} active {:>12} packets\n",
                         endpoint_address(*row.id), state, row.weight, t.new_flows, t.active_flows, t.packets);
    });
  }
  return out;
}

std::string services_json(const StatsSource& src) {
  std::string out = "[";
  if (!src.registry) return out + "]";
  bool first_service = true;
  for (const auto& [name, rec] : src.registry->services()) {
    const config::Service* svc = find_service(src, name);
    const uint32_t slot = rec.slot;
    std::string endpoints;
    uint64_t active = 0;
    for_each_endpoint(*src.registry, name, [&](const EndpointRow& row) {
      const EndpointTotals t = endpoint_totals(src, row.slot);
      active += t.active_flows;
      endpoints += fmt::format(
          "{}{{\"address\":\"{}\",\"port\":{},\"subset\":\"{}\",\"weight\":{},\"state\":\"{}\",{}\"new_flows\":{},"
          "\"active_flows\":{},\"packets\":{},\"bytes\":{}}}",
          endpoints.empty() ? "" : ",", config::ipv4_to_string(row.id->address), row.id->port, *row.subset,
          row.weight, row.state,
          row.drain_seconds_left >= 0 ? fmt::format("\"drain_seconds_left\":{},", row.drain_seconds_left) : "",
          t.new_flows, t.active_flows, t.packets, t.bytes);
    });
    std::string drops;
    for (size_t r = 0; r < dataplane::kLbDropReasonCount; ++r)
      drops += fmt::format("{}\"{}\":{}", r ? "," : "", dataplane::kDropReasons[dataplane::kFirstLbDropReason + r].name,
                           service_sum(src, slot, [r](const ServiceCounters& c) -> auto& { return c.drops[r]; }));
    out += fmt::format(
        "{}{{\"name\":\"{}\",\"vip\":\"{}\",\"mode\":\"{}\",\"in_policy\":{},\"new_flows\":{},\"stateless_flows\":{},"
        "\"rescheduled\":{},"
        "\"active_flows\":{},\"packets\":{},\"bytes\":{},\"drops\":{{{}}},\"endpoints\":[{}]}}",
        first_service ? "" : ",", name, config::ipv4_to_string(rec.vip),
        svc && svc->mode == config::LbMode::kDirectReturn ? "direct_return" : "nat", rec.in_policy,
        service_sum(src, slot, [](const ServiceCounters& c) -> auto& { return c.new_flows; }),
        service_sum(src, slot, [](const ServiceCounters& c) -> auto& { return c.stateless_flows; }),
        service_sum(src, slot, [](const ServiceCounters& c) -> auto& { return c.rescheduled; }), active,
        service_sum(src, slot, [](const ServiceCounters& c) -> auto& { return c.packets; }),
        service_sum(src, slot, [](const ServiceCounters& c) -> auto& { return c.bytes; }), drops, endpoints);
    first_service = false;
  }
  return out + "]";
}

}  // namespace meshplane::ctrl
