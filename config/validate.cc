#include "config/validate.h"

#include <fmt/format.h>
#include <map>

#include "config/access_validate.h"
#include "config/address.h"
#include "config/authz_validate.h"
#include "config/pattern_validate.h"
#include "config/peer_validate.h"
#include "config/service_validate.h"

namespace meshplane::config {
namespace {

int port_index(const Policy& policy, const std::string& name) {
  for (size_t i = 0; i < policy.ports.size(); ++i)
    if (policy.ports[i].name == name) return static_cast<int>(i);
  return -1;
}

void validate_ports(const Policy& policy, Diagnostics& d) {
  if (policy.ports.size() > kMaxPorts)
    d.error(policy.ports[kMaxPorts].mark, fmt::format("at most {} ports are supported", kMaxPorts));
  std::map<std::string, Mark> names, devices;
  std::map<uint32_t, std::string> owners;
  for (const auto& p : policy.ports) {
    if (!p.name.empty() && !names.emplace(p.name, p.mark).second)
      d.error(p.mark, fmt::format("duplicate port name '{}' (first defined at line {})", p.name,
                                  names[p.name].line));
    if (!p.device.empty() && !devices.emplace(p.device, p.device_mark).second)
      d.error(p.device_mark, fmt::format("device '{}' is already used by another port", p.device));
    if (p.mac && ((*p.mac)[0] & 1))
      d.error(p.mark, fmt::format("port '{}' mac {} is a multicast address", p.name, mac_to_string(*p.mac)));
    for (size_t i = 0; i < p.addresses.size(); ++i) {
      const auto& a = p.addresses[i];
      const Mark m = p.address_marks[i];
      if (!is_unicast(a.address)) {
        d.error(m, fmt::format("port address {} is not a unicast address", prefix_to_string(a)));
        continue;
      }
      if (a.length == 0 || a.length > 30) {
        if (a.length != 32)
          d.error(m, fmt::format("port address {} needs a prefix length between 1 and 30 (or 32)",
                                 prefix_to_string(a)));
      }
      if (a.length <= 30) {
        uint32_t host = a.address & ~prefix_mask(a.length);
        if (host == 0 || host == ~prefix_mask(a.length))
          d.error(m, fmt::format("port address {} is the network or broadcast address of its subnet",
                                 prefix_to_string(a)));
      }
      auto [it, fresh] = owners.emplace(a.address, p.name);
      if (!fresh)
        d.error(m, fmt::format("address {} is already assigned to port '{}'",
                               ipv4_to_string(a.address), it->second));
    }
  }
}

void validate_routes(const Policy& policy, Diagnostics& d) {
  std::map<std::pair<uint32_t, uint8_t>, int> seen;
  for (const auto& r : policy.routes) {
    const uint32_t host_bits = r.prefix.address & ~prefix_mask(r.prefix.length);
    if (host_bits != 0)
      d.error(r.prefix_mark,
              fmt::format("route prefix {} has host bits set; did you mean {}?", prefix_to_string(r.prefix),
                          prefix_to_string({r.prefix.address & prefix_mask(r.prefix.length), r.prefix.length})));
    if (!seen.emplace(std::make_pair(r.prefix.address, r.prefix.length), r.mark.line).second)
      d.error(r.prefix_mark, fmt::format("duplicate route for {} (first at line {})", prefix_to_string(r.prefix),
                                         seen[{r.prefix.address, r.prefix.length}]));
    int pinned = -1;
    if (!r.port.empty()) {
      pinned = port_index(policy, r.port);
      if (pinned < 0) d.error(r.port_mark, fmt::format("route refers to unknown port '{}'", r.port));
    }
    if (!is_unicast(r.via)) {
      d.error(r.via_mark, fmt::format("route next hop {} is not a unicast address", ipv4_to_string(r.via)));
      continue;
    }
    const int connected = connected_port(policy, r.via);
    if (connected < 0)
      d.error(r.via_mark, fmt::format("route next hop {} is not on any port's subnet; add an address "
                                      "on that subnet to a port", ipv4_to_string(r.via)));
    else if (pinned >= 0 && pinned != connected)
      d.error(r.via_mark, fmt::format("route next hop {} is on port '{}', not on port '{}'", ipv4_to_string(r.via),
                                      policy.ports[connected].name, r.port));
    for (const auto& p : policy.ports)
      for (const auto& a : p.addresses)
        if (a.address == r.via)
          d.error(r.via_mark, fmt::format("route next hop {} is this gateway's own address on port '{}'",
                                          ipv4_to_string(r.via), p.name));
  }
}

void validate_neighbours(const Policy& policy, Diagnostics& d) {
  for (const auto& n : policy.neighbours) {
    const int port = port_index(policy, n.port);
    if (port < 0) {
      d.error(n.port_mark, fmt::format("neighbour refers to unknown port '{}'", n.port));
      continue;
    }
    if (connected_port(policy, n.address) != port)
      d.error(n.mark, fmt::format("neighbour {} is not on a subnet of port '{}'", ipv4_to_string(n.address), n.port));
    if (n.mac[0] & 1)
      d.error(n.mark, fmt::format("neighbour mac {} is a multicast address", mac_to_string(n.mac)));
  }
}

// The host's own connections through the exception path use the gateway's
// addresses too: its ephemeral ports must not be NAT ports, or a reply could
// meet the other's connection.
void validate_exception_path(const Policy& policy, Diagnostics& d) {
  for (const auto& s : policy.services)
    if (s.health_check && !policy.exception_path)
      d.error(s.health_check->mark, fmt::format("service '{}': health checks run from the host's exception path "
                                                "namespace: add an exception_path section",
                                                s.name));
  if (!policy.exception_path) return;
  const auto& e = *policy.exception_path;
  const auto& lb = policy.load_balancer;
  if (!policy.services.empty() && e.local_port_min <= lb.nat_port_max && lb.nat_port_min <= e.local_port_max)
    d.error(e.mark, fmt::format("exception_path.local_ports {}-{} overlap the NAT ports {}-{}: the host's connections "
                                "and NAT'd ones would share ports; set load_balancer.nat_port_max below {}",
                                e.local_port_min, e.local_port_max, lb.nat_port_min, lb.nat_port_max,
                                e.local_port_min));
}

}  // namespace

int connected_port(const Policy& policy, uint32_t address) {
  int best = -1;
  int best_len = -1;
  for (size_t i = 0; i < policy.ports.size(); ++i)
    for (const auto& a : policy.ports[i].addresses)
      if (a.length > best_len && prefix_contains(a, address)) best = static_cast<int>(i), best_len = a.length;
  return best;
}

const Port* owner_port(const Policy& policy, uint32_t address) {
  for (const auto& p : policy.ports)
    for (const auto& a : p.addresses)
      if (a.address == address) return &p;
  return nullptr;
}

bool routable(const Policy& policy, uint32_t address) {
  if (connected_port(policy, address) >= 0) return true;
  for (const auto& r : policy.routes)
    if (prefix_contains(r.prefix, address)) return true;
  return false;
}

void validate(const Policy& policy, Diagnostics& d) {
  validate_ports(policy, d);
  validate_routes(policy, d);
  validate_neighbours(policy, d);
  validate_services(policy, d);
  validate_peers(policy, d);
  validate_access(policy, d);
  validate_authorization(policy, d);
  validate_pattern_sets(policy, d);
  validate_exception_path(policy, d);
}

}  // namespace meshplane::config
