#include "config/service_validate.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <tuple>

#include "config/address.h"
#include "common/numbers.h"
#include "config/validate.h"

namespace meshplane::config {
namespace {

const char* protocol_name(Protocol p) { return p == Protocol::kTcp ? "tcp" : "udp"; }

void validate_endpoints(const Policy& policy, const Service& s, Diagnostics& d) {
  std::set<std::pair<uint32_t, uint16_t>> seen;
  std::map<std::string, uint32_t> subset_weight;  // subset -> sum of its endpoint weights
  std::set<std::string> subsets;
  for (const auto& sub : s.subsets)
    if (!sub.name.empty() && !subsets.insert(sub.name).second)
      d.error(sub.mark, fmt::format("service '{}' has two subsets named '{}'", s.name, sub.name));
  for (const auto& e : s.endpoints) {
    auto where = [&] { return fmt::format("endpoint {}", ipv4_to_string(e.address)); };  // errors only
    if (e.address == 0) continue;
    if (!is_unicast(e.address)) d.error(e.mark, fmt::format("{} is not a unicast address", where()));
    if (const Port* p = owner_port(policy, e.address))
      d.error(e.mark, fmt::format("{} is this gateway's own address on port '{}'", where(), p->name));
    else if (!routable(policy, e.address))
      d.error(e.mark, fmt::format("{} has no route: it is on no port's subnet and no route covers it", where()));
    if (!seen.emplace(e.address, e.port).second)
      d.error(e.mark, fmt::format("{}{} is listed twice in service '{}'", where(),
                                  e.port ? fmt::format(":{}", e.port) : "", s.name));
    if (s.mode == LbMode::kDirectReturn && e.port != 0)
      d.error(e.mark, fmt::format("{}: direct_return cannot change the port; the endpoint answers as the VIP",
                                  where()));
    if (s.subsets.empty()) {
      if (!e.subset.empty())
        d.error(e.subset_mark, fmt::format("{} names subset '{}' but service '{}' defines no subsets", where(),
                                           e.subset, s.name));
    } else if (e.subset.empty()) {
      d.error(e.mark, fmt::format("{} needs a subset: service '{}' is split into subsets", where(), s.name));
    } else if (!subsets.count(e.subset)) {
      d.error(e.subset_mark, fmt::format("{} names unknown subset '{}'", where(), e.subset));
    } else {
      subset_weight[e.subset] += e.weight;
    }
  }
  for (const auto& sub : s.subsets)
    if (sub.weight > 0 && subset_weight[sub.name] == 0)
      d.error(sub.mark, fmt::format("subset '{}' has weight {} but no endpoint with a non-zero weight", sub.name,
                                    sub.weight));
  if (s.endpoints.size() >= s.table_size)
    d.error(s.table_size_mark, fmt::format("service '{}' has {} endpoints; table_size {} must be larger (about "
                                           "100 times the endpoint count keeps the balance within 1%)",
                                           s.name, s.endpoints.size(), s.table_size));
}

}  // namespace

void validate_services(const Policy& policy, Diagnostics& d) {
  const auto& lb = policy.load_balancer;
  if (lb.nat_port_min > lb.nat_port_max || lb.nat_port_max - lb.nat_port_min < 255)
    d.error(lb.nat_ports_mark, fmt::format("load_balancer NAT port range {}-{} needs at least 256 ports",
                                           lb.nat_port_min, lb.nat_port_max));
  if (policy.services.size() > lb.max_services)
    d.error(policy.services[lb.max_services].mark,
            fmt::format("more than load_balancer.max_services ({}) services", lb.max_services));
  std::set<uint32_t> nat;
  for (size_t i = 0; i < lb.nat_addresses.size(); ++i) {
    const uint32_t a = lb.nat_addresses[i];
    const Mark m = lb.nat_address_marks[i];
    if (!is_unicast(a)) d.error(m, fmt::format("NAT address {} is not a unicast address", ipv4_to_string(a)));
    else if (const Port* p = owner_port(policy, a))
      d.error(m, fmt::format("NAT address {} is already an address of port '{}'", ipv4_to_string(a), p->name));
    else if (connected_port(policy, a) < 0)
      d.error(m, fmt::format("NAT address {} is on no port's subnet", ipv4_to_string(a)));
    if (!nat.insert(a).second) d.error(m, fmt::format("NAT address {} is listed twice", ipv4_to_string(a)));
  }
  size_t endpoints = 0;
  std::map<std::string, int> names;
  std::map<std::tuple<uint32_t, Protocol, uint16_t>, std::string> listeners;
  for (const auto& s : policy.services) {
    if (!s.name.empty() && !names.emplace(s.name, s.mark.line).second)
      d.error(s.mark, fmt::format("duplicate service name '{}' (first defined at line {})", s.name, names[s.name]));
    if (s.vip != 0 && !is_unicast(s.vip)) d.error(s.vip_mark, fmt::format("vip {} is not a unicast address", ipv4_to_string(s.vip)));
    if (nat.count(s.vip))
      d.error(s.vip_mark, fmt::format("vip {} is also a NAT address", ipv4_to_string(s.vip)));
    if (const Port* p = owner_port(policy, s.vip))
      d.error(s.vip_mark, fmt::format("vip {} is this gateway's own address on port '{}'; a VIP needs an address "
                                      "of its own", ipv4_to_string(s.vip), p->name));
    for (const auto& p : s.ports) {
      auto [it, fresh] = listeners.emplace(std::make_tuple(s.vip, p.protocol, p.port), s.name);
      if (!fresh)
        d.error(p.mark, fmt::format("{}:{}/{} is already served by service '{}'", ipv4_to_string(s.vip), p.port,
                                    protocol_name(p.protocol), it->second));
      if (s.mode == LbMode::kDirectReturn && p.target_port != p.port)
        d.error(p.target_mark, "direct_return cannot change the port; the endpoint answers as the VIP");
    }
    if (!is_prime(s.table_size))
      d.error(s.table_size_mark, fmt::format("table_size {} is not a prime (Maglev needs one, e.g. {})",
                                             s.table_size, kDefaultMaglevTableSize));
    validate_endpoints(policy, s, d);
    endpoints += s.endpoints.size();
  }
  if (endpoints > lb.max_endpoints)
    d.error({1, 1}, fmt::format("{} endpoints in all services; load_balancer.max_endpoints is {}", endpoints,
                                lb.max_endpoints));
}

}  // namespace meshplane::config
