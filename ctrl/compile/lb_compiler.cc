#include "ctrl/compile/lb_compiler.h"

#include <fmt/format.h>
#include <rte_byteorder.h>

#include <unordered_map>
#include <unordered_set>

#include "config/address.h"
#include "config/validate.h"
#include "ctrl/compile/maglev_builder.h"

namespace meshplane::ctrl {
namespace {

using dataplane::LbView;

// Maglev keys: the same endpoint gives the same permutation on every gateway.
std::string maglev_key(const config::Endpoint& e) {
  return fmt::format("{}:{}", config::ipv4_to_string(e.address), e.port);
}

using TableCache = std::unordered_map<std::string, std::shared_ptr<const MaglevTable>>;

// Appends a subset and its Maglev table to `s`, reusing the running
// snapshot's table when its inputs (table size, members with weights and
// positions) are unchanged: an endpoint update rebuilds one service's tables,
// not every service's.
void add_subset(const config::Service& svc, const std::string& subset, uint32_t weight, const TableCache& previous,
                CompiledSnapshot& s) {
  std::vector<MaglevEndpoint> members;
  std::vector<uint32_t> index;  // member -> service endpoint index
  std::string key = std::to_string(svc.table_size);
  for (uint32_t i = 0; i < svc.endpoints.size(); ++i) {
    const auto& e = svc.endpoints[i];
    if (e.subset != subset) continue;
    members.push_back({maglev_key(e), e.weight});
    index.push_back(i);
    key += fmt::format(" {}*{}@{}", members.back().key, e.weight, i);
  }
  std::shared_ptr<const MaglevTable> table;
  if (auto it = previous.find(key); it != previous.end()) {
    table = it->second;
  } else {
    auto built = std::make_shared<MaglevTable>(build_maglev(members, svc.table_size));
    for (auto& slot : built->slots) slot = index[slot];
    table = std::move(built);
  }
  s.lb.subsets.push_back({weight, table->size, table->slots.data()});
  s.subset_tables.push_back(std::move(table));
  s.subset_keys.push_back(std::move(key));
}

uint32_t subset_weight(const config::Service& svc, const std::string& subset) {
  if (svc.subsets.empty()) return 1;
  for (const auto& sub : svc.subsets)
    if (sub.name == subset) return sub.weight;
  return 0;
}

// A service's endpoints resolved to their egress ports, and its subsets' tables.
config::Status build_service(const config::Service& svc, const LbRegistry& registry,
                          const std::vector<std::pair<uint16_t, uint16_t>>& pool_of, const TableCache& tables,
                          CompiledSnapshot& s, dataplane::LbService& out) {
  out.slot = registry.service_slot(svc.name);
  out.direct_return = svc.mode == config::LbMode::kDirectReturn;
  out.reject_unknown_port = svc.unknown_port == config::UnknownPort::kReject;
  out.breaker = svc.circuit_breaker.has_value();
  out.first_endpoint = static_cast<uint32_t>(s.lb.endpoints.size());
  for (const auto& e : svc.endpoints) {
    const int32_t nh = s.route(e.address);
    if (nh < 0)
      return config::Status::failure(config::Status::Code::kInvalid,
                                     fmt::format("service '{}': endpoint {} has no route", svc.name,
                                                 config::ipv4_to_string(e.address)));
    const uint16_t egress = s.next_hops[nh].port;
    const auto& port = s.ports[egress];
    s.lb.endpoints.push_back({rte_cpu_to_be_32(e.address), rte_cpu_to_be_16(e.port), port.mtu,
                              rte_cpu_to_be_32(port.primary_address),
                              registry.endpoint_slot({svc.name, e.address, e.port}), pool_of[egress].first,
                              pool_of[egress].second, e.weight > 0 && subset_weight(svc, e.subset) > 0});
  }
  out.endpoint_count = static_cast<uint32_t>(svc.endpoints.size());
  out.first_subset = static_cast<uint32_t>(s.lb.subsets.size());
  if (svc.subsets.empty()) {
    add_subset(svc, "", 1, tables, s);
  } else {
    for (const auto& sub : svc.subsets) add_subset(svc, sub.name, sub.weight, tables, s);
  }
  out.subset_count = static_cast<uint16_t>(s.lb.subsets.size() - out.first_subset);
  for (uint32_t i = out.first_subset; i < s.lb.subsets.size(); ++i) out.subset_weight_total += s.lb.subsets[i].weight;
  return {};
}

// Appends service `old` of `previous` to `s` as it was: its endpoints, and its
// subsets pointing into the same tables.
dataplane::LbService copy_service(const CompiledSnapshot& previous, const dataplane::LbService& old,
                                  CompiledSnapshot& s) {
  dataplane::LbService out = old;
  out.first_endpoint = static_cast<uint32_t>(s.lb.endpoints.size());
  out.first_subset = static_cast<uint32_t>(s.lb.subsets.size());
  const auto& eps = previous.lb.endpoints;
  s.lb.endpoints.insert(s.lb.endpoints.end(), eps.begin() + old.first_endpoint,
                        eps.begin() + old.first_endpoint + old.endpoint_count);
  for (uint32_t i = old.first_subset; i < old.first_subset + old.subset_count; ++i) {
    s.lb.subsets.push_back(previous.lb.subsets[i]);
    s.subset_tables.push_back(previous.subset_tables[i]);
    s.subset_keys.push_back(previous.subset_keys[i]);
  }
  return out;
}

// Whether what a compiled service depends on besides its own definition
// (routes, ports' MTUs and addresses, the NAT pool) is as in `previous`.
bool same_surroundings(const CompiledSnapshot& s, const CompiledSnapshot& previous) {
  if (s.route_table != previous.route_table || s.lb.nat_pool != previous.lb.nat_pool ||
      s.port_count != previous.port_count)
    return false;
  for (uint16_t p = 0; p < s.port_count; ++p)
    if (s.ports[p].mtu != previous.ports[p].mtu || s.ports[p].primary_address != previous.ports[p].primary_address)
      return false;
  return true;
}

}  // namespace

config::Status compile_lb(const config::Policy& policy, const LbRegistry& registry, CompiledSnapshot& s,
                       const Previous& previous) {
  LbView& lb = s.lb;
  std::vector<std::pair<uint64_t, uint32_t>> listeners, vips;
  std::unordered_set<uint32_t> vips_seen;
  // NAT source pool per port: its NAT addresses, else its first address.
  std::vector<std::pair<uint16_t, uint16_t>> pool_of(s.port_count);  // first, count
  for (uint16_t p = 0; p < s.port_count; ++p) {
    pool_of[p].first = static_cast<uint16_t>(lb.nat_pool.size());
    for (const uint32_t a : policy.load_balancer.nat_addresses)
      if (config::connected_port(policy, a) == p) lb.nat_pool.push_back(rte_cpu_to_be_32(a));
    if (lb.nat_pool.size() == pool_of[p].first) lb.nat_pool.push_back(rte_cpu_to_be_32(s.ports[p].primary_address));
    pool_of[p].second = static_cast<uint16_t>(lb.nat_pool.size() - pool_of[p].first);
  }
  // An unchanged service (same definition, same surroundings) is copied from
  // the running snapshot: its slots are stable while it stays listed.
  std::unordered_map<std::string_view, uint32_t> unchanged;
  if (previous.snapshot && previous.policy && same_surroundings(s, *previous.snapshot))
    for (uint32_t i = 0; i < previous.policy->services.size(); ++i)
      unchanged.emplace(previous.policy->services[i].name, i);
  TableCache tables;  // the running snapshot's Maglev tables, filled when first needed
  bool tables_filled = false;
  for (const auto& svc : policy.services) {
    dataplane::LbService out{};
    auto same = unchanged.find(svc.name);
    if (same != unchanged.end() && previous.policy->services[same->second] == svc) {
      out = copy_service(*previous.snapshot, previous.snapshot->lb.services[same->second], s);
    } else {
      if (!tables_filled && previous.snapshot) {
        const auto& p = *previous.snapshot;
        for (size_t i = 0; i < p.subset_keys.size(); ++i) tables.emplace(p.subset_keys[i], p.subset_tables[i]);
        tables_filled = true;
      }
      if (auto status = build_service(svc, registry, pool_of, tables, s, out); !status.ok()) return status;
    }
    const auto index = static_cast<uint32_t>(lb.services.size());
    const uint32_t vip = rte_cpu_to_be_32(svc.vip);
    for (const auto& p : svc.ports) {
      listeners.emplace_back(LbView::listener_key(vip, static_cast<uint8_t>(p.protocol), rte_cpu_to_be_16(p.port)),
                             static_cast<uint32_t>(lb.listeners.size()));
      lb.listeners.push_back({index, rte_cpu_to_be_16(p.target_port)});
    }
    if (vips_seen.insert(vip).second) vips.emplace_back(LbView::vip_key(vip), index);  // the first service wins
    lb.services.push_back(out);
  }
  lb.by_listener.build(listeners);
  lb.by_vip.build(vips);
  lb.endpoint_live.assign(registry.max_endpoints(), 0);
  for (const auto& [id, rec] : registry.endpoints()) lb.endpoint_live[rec.slot] = 1;
  // An endpoint taken out with on_unhealthy: reset loses its connections too.
  for (const auto& svc : policy.services)
    for (const auto& e : svc.endpoints)
      if (e.reset) lb.endpoint_live[registry.endpoint_slot({svc.name, e.address, e.port})] = 0;
  return {};
}

}  // namespace meshplane::ctrl
