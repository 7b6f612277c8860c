#include "ctrl/compile/snapshot_compiler.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_lpm.h>

#include <algorithm>
#include <atomic>
#include <fmt/format.h>

#include "config/address.h"
#include "config/pattern_validate.h"
#include "config/validate.h"
#include "ctrl/compile/access_compiler.h"
#include "ctrl/compile/authz_compiler.h"
#include "ctrl/compile/lb_compiler.h"
#include "ctrl/compile/pattern_compiler.h"
#include "ctrl/compile/peer_compiler.h"
#include "dataplane/ipsec/esp.h"

namespace meshplane::ctrl {

using config::prefix_mask;

namespace {

// IKE datagrams per second each worker hands the control thread: handshakes
// and rekeys need a few; a flood beyond it is dropped (ike_limited) before
// it can crowd ARP and resolution out of the punt rings.
constexpr uint32_t kIkePacketsPerSecond = 2000;

config::Status invalid(std::string message) {
  return config::Status::failure(config::Status::Code::kInvalid, std::move(message));
}
config::Status exhausted(std::string message) {
  return config::Status::failure(config::Status::Code::kExhausted, std::move(message));
}

// A rate as cycles per token, bursts of a tenth of a second's worth (at least one).
dataplane::Gcra gcra(uint32_t per_second) {
  if (per_second == 0) return {};
  const uint64_t interval = std::max<uint64_t>(rte_get_tsc_hz() / per_second, 1);
  const uint64_t burst = std::max<uint64_t>(per_second / 10, 1);
  return {interval, (burst - 1) * interval};
}

void compile_rate_limits(const config::Policy& policy, dataplane::Snapshot& s) {
  for (size_t i = 0; i < policy.services.size() && i < s.lb.services.size(); ++i) {
    const config::RateLimit& r = policy.services[i].rate_limit;
    if (!r.any()) continue;
    const uint32_t slot = s.lb.services[i].slot;
    if (s.rate_limits.size() <= slot) s.rate_limits.resize(slot + 1);
    s.rate_limits[slot] = {gcra(r.connections_per_second), gcra(r.packets_per_second),
                           gcra(r.source_connections_per_second), config::prefix_mask(r.source_prefix_length),
                           r.reject};
  }
}

void compile_breakers(const config::Policy& policy, dataplane::Snapshot& s) {
  for (size_t i = 0; i < policy.services.size() && i < s.lb.services.size(); ++i) {
    const auto& b = policy.services[i].circuit_breaker;
    if (!b) continue;
    const uint32_t slot = s.lb.services[i].slot;
    if (s.breakers.size() <= slot) s.breakers.resize(slot + 1);
    s.breakers[slot] = {{b->service.max_connections, gcra(b->service.max_connections_per_second)},
                        {b->endpoint.max_connections, gcra(b->endpoint.max_connections_per_second)},
                        b->refuse_overflow,
                        true};
  }
}

void fill_inspect_view(const config::Policy& policy, CompiledSnapshot& s) {
  const PatternLibrary& lib = *s.patterns;
  dataplane::InspectView& v = s.inspect;
  v.events_per_second = lib.events_per_second;
  v.scratch = lib.scratch;
  v.sets.resize(lib.sets.size());
  for (size_t slot = 0; slot < lib.sets.size(); ++slot) {
    if (!lib.sets[slot]) continue;
    const CompiledPatternSet& c = *lib.sets[slot];
    const config::PatternSet& set = c.definition;
    v.sets[slot] = {c.db, c.id, set.inspect_bytes, static_cast<uint32_t>(v.patterns.size()),
                    static_cast<uint32_t>(set.patterns.size()), set.client, set.server, set.hold_out_of_order,
                    set.fail_closed};
    for (const auto& p : set.patterns)
      v.patterns.push_back({lib.pattern_slots.at(set.name + "/" + p.name), static_cast<dataplane::PatternAction>(p.action),
                            config::start_anchored(p)});
  }
  for (size_t i = 0; i < policy.services.size() && i < s.lb.services.size(); ++i)
    s.lb.services[i].inspect = lib.slot1(policy.services[i].inspect);
}

}  // namespace

CompileResult compile_snapshot(const config::Policy& policy, const std::vector<PortBinding>& ports,
                                  uint64_t generation, const LbRegistry* lb, const Previous& previous,
                                  const SaRegistry* sas, const PatternCache* patterns) {
  CompileResult out;
  if (ports.size() != policy.ports.size()) {
    out.status() = invalid(fmt::format("policy has {} ports but {} are running", policy.ports.size(), ports.size()));
    return out;
  }
  auto s = std::make_unique<CompiledSnapshot>();
  s->generation = generation;
  s->port_count = static_cast<uint16_t>(ports.size());
  s->icmp_errors_per_second = policy.icmp.errors_per_second;
  s->icmp_errors_burst = policy.icmp.errors_burst;
  s->host_packets_per_second = policy.exception_path ? policy.exception_path->packets_per_second : 0;
  s->ike_packets_per_second = policy.ike ? kIkePacketsPerSecond : 0;

  struct RouteEntry {
    uint32_t prefix;
    uint8_t length;
    dataplane::NextHop nh;
  };
  std::vector<RouteEntry> routes;
  for (size_t i = 0; i < policy.ports.size(); ++i) {
    const auto& p = policy.ports[i];
    auto& view = s->ports[i];
    view.dpdk_port = ports[i].dpdk_port;
    view.mac = ports[i].mac;
    view.mtu = p.mtu;
    s->min_mtu = i == 0 ? p.mtu : std::min(s->min_mtu, p.mtu);
    view.primary_address = p.addresses.empty() ? 0 : p.addresses.front().address;
    for (const auto& a : p.addresses) {
      const bool has_broadcast = a.length <= 30;
      s->local_addresses.push_back({a.address, prefix_mask(a.length),
                                    has_broadcast ? (a.address | ~prefix_mask(a.length)) : 0,
                                    static_cast<uint16_t>(i)});
      if (a.length < 32)
        routes.push_back({a.address & prefix_mask(a.length), a.length, {0, static_cast<uint16_t>(i), 0, p.mtu}});
    }
  }
  // NAT addresses are ours too (ARP, replies), without routes or broadcasts of their own.
  for (const uint32_t a : policy.load_balancer.nat_addresses) {
    const int port = config::connected_port(policy, a);
    if (port < 0) {
      out.status() = invalid(fmt::format("NAT address {} is not connected", config::ipv4_to_string(a)));
      return out;
    }
    uint32_t mask = 0;
    for (const auto& pa : policy.ports[port].addresses)
      if (config::prefix_contains(pa, a)) mask = std::max(mask, prefix_mask(pa.length));
    s->local_addresses.push_back({a, mask, 0, static_cast<uint16_t>(port)});
  }
  // Static routes after connected ones: an identical prefix in the file wins.
  for (const auto& r : policy.routes) {
    const int port = config::connected_port(policy, r.via);
    if (port < 0) {
      out.status() = invalid(fmt::format("route {} via {}: next hop is not connected",
                                         config::prefix_to_string(r.prefix), config::ipv4_to_string(r.via)));
      return out;
    }
    routes.push_back({r.prefix.address, r.prefix.length, {r.via, static_cast<uint16_t>(port), 0,
                                                          policy.ports[port].mtu}});
  }
  // A peer's prefixes are routes into its tunnel, sized by the port its ESP leaves by.
  for (size_t i = 0; i < policy.peers.size(); ++i) {
    const auto& peer = policy.peers[i];
    const RouteEntry* toward = nullptr;
    for (const auto& r : routes)
      if (r.nh.tunnel == 0 && (peer.address & prefix_mask(r.length)) == r.prefix && (!toward || r.length > toward->length))
        toward = &r;
    if (!toward) {
      out.status() = invalid(fmt::format("peer '{}': no route to {}", peer.name, config::ipv4_to_string(peer.address)));
      return out;
    }
    const auto inner_mtu = static_cast<uint16_t>(
        dataplane::esp_inner_mtu(policy.ports[toward->nh.port].mtu, peer.encapsulation == config::Encapsulation::kUdp));
    const uint16_t port = toward->nh.port;
    for (const auto& prefix : peer.prefixes)
      routes.push_back({prefix.address & prefix_mask(prefix.length), prefix.length,
                        {0, port, static_cast<uint16_t>(i + 1), inner_mtu}});
  }

  std::vector<uint64_t> inputs;
  for (const auto& r : routes)
    inputs.push_back(uint64_t{r.prefix} << 32 | uint64_t{r.length} << 24 | r.nh.port);
  for (const auto& r : routes) inputs.push_back(uint64_t{r.nh.gateway} << 32 | r.nh.tunnel);
  for (const auto& r : routes) {
    const uint32_t index = static_cast<uint32_t>(s->next_hops.size());
    s->next_hops.push_back(r.nh);
    if (r.length == 0) s->default_route = static_cast<int32_t>(index);
  }
  if (previous.snapshot && previous.snapshot->route_inputs == inputs) {
    s->route_table = previous.snapshot->route_table;
  } else {
    // rte_lpm names must be unique process-wide; the old snapshot's table lives
    // until its grace period ends.
    static std::atomic<uint64_t> lpm_serial{0};
    const std::string name = fmt::format("routes{}", lpm_serial.fetch_add(1));
    rte_lpm_config cfg{};
    cfg.max_rules = static_cast<uint32_t>(routes.size() + 16);
    cfg.number_tbl8s = 256;
    rte_lpm* lpm = rte_lpm_create(name.c_str(), SOCKET_ID_ANY, &cfg);
    if (!lpm) {
      out.status() = exhausted(fmt::format("cannot create the route table: {}", rte_strerror(rte_errno)));
      return out;
    }
    s->route_table = std::shared_ptr<rte_lpm>(lpm, rte_lpm_free);
    for (uint32_t index = 0; index < routes.size(); ++index) {
      const auto& r = routes[index];
      if (r.length == 0) continue;
      if (int rc = rte_lpm_add(lpm, r.prefix, r.length, index); rc != 0) {
        out.status() = exhausted(
            fmt::format("cannot add route {}/{}: {}", config::ipv4_to_string(r.prefix), r.length, rte_strerror(-rc)));
        return out;
      }
    }
  }
  s->routes = s->route_table.get();
  s->route_inputs = std::move(inputs);
  if (!lb) {
    LbRegistry fresh(policy.load_balancer.max_services, policy.load_balancer.max_endpoints);
    out.status() = fresh.update(policy.services, LbRegistry::Clock::now());
    if (out.ok()) out.status() = compile_lb(policy, fresh, *s);
  } else {
    out.status() = compile_lb(policy, *lb, *s, previous);
  }
  if (!out.ok()) return out;
  if (!sas) {
    SaRegistry fresh(policy.ipsec.max_sas);
    out.status() = fresh.update(policy.peers);
    if (out.ok()) out.status() = compile_peers(policy, fresh, *s);
  } else {
    out.status() = compile_peers(policy, *sas, *s);
  }
  if (!out.ok()) return out;
  const AccessTable* old_access = previous.snapshot ? previous.snapshot->access_table.get() : nullptr;
  if (old_access && old_access->same_input(policy.access, policy.ports)) {
    s->access_table = previous.snapshot->access_table;
  } else {
    s->access_table = AccessTable::build(policy.access, policy.ports, rte_lcore_count(), old_access, out.status());
    if (!s->access_table) return out;
  }
  s->access = s->access_table->view();
  const PatternLibrary* old_patterns = previous.snapshot ? previous.snapshot->patterns.get() : nullptr;
  if (old_patterns && previous.policy->pattern_sets == policy.pattern_sets &&
      old_patterns->events_per_second == policy.inspection.events_per_second) {
    s->patterns = previous.snapshot->patterns;
  } else {
    out.status() = compile_patterns(policy, old_patterns, rte_lcore_count(), s->patterns, patterns);
    if (!out.ok()) return out;
  }
  fill_inspect_view(policy, *s);
  out.status() = compile_authz(policy, previous.policy, previous.snapshot ? previous.snapshot->authz.epoch : 0, *s);
  if (!out.ok()) return out;
  compile_rate_limits(policy, *s);
  compile_breakers(policy, *s);
  out.snapshot = std::move(s);
  return out;
}

}  // namespace meshplane::ctrl
