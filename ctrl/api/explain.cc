#include "ctrl/api/explain.h"

#include <fmt/format.h>
#include <rte_byteorder.h>

#include "config/access_parser.h"
#include "config/address.h"
#include "ctrl/compile/authz_compiler.h"
#include "ctrl/runtime/access_text.h"

namespace meshplane::ctrl {
namespace {

Explanation refuse(std::string message) {
  Explanation e;
  e.status() = config::Status::failure(config::Status::Code::kInvalid, std::move(message));
  return e;
}

// Authorization `p` (1-based; 0: none), as a worker decides a new connection; false when it denies.
// An allowed connection's pattern set (1 + its slot), when its rule or authorization names one, goes to `inspect`.
bool authorized(const config::Policy& policy, const CompiledSnapshot& s, uint32_t p, uint32_t source,
                uint8_t protocol, uint16_t port, uint32_t identity, Explanation& e, uint32_t& inspect) {
  if (!p) return true;
  const uint16_t peer = s.tunnel_of(source);
  dataplane::Client client = s.authz.client(source, peer);
  std::string who = client.identity ? "identity " + identity_name(policy, client.identity) : "no mapped identity";
  if (identity) {
    client.identity = identity;
    who = identity_name(policy, identity).empty() ? "an identity no rule names (as asked)"
                                                  : "identity " + identity_name(policy, identity) + " (as asked)";
  }
  if (peer) who += fmt::format(", over peer '{}'", policy.peers[peer - 1].name);
  if (client.peer_identity) who += " (" + identity_name(policy, client.peer_identity) + ")";
  const dataplane::AuthzDecision d = s.authz.decide(p, client, protocol, port);
  const char* verdict = d.allowed ? "allow" : "deny";
  if (d.rule >= 0)
    e.steps.push_back(fmt::format("authorization of {}: {}; rule '{}' (line {}) decides: {}", s.authz_policies[p - 1],
                                  who, s.authz_rules[d.rule].name, s.authz_rules[d.rule].line, verdict));
  else
    e.steps.push_back(fmt::format("authorization of {}: {}; no allow or deny rule matches; the default decides: {}",
                                  s.authz_policies[p - 1], who, verdict));
  if (d.audit_rule >= 0)
    e.steps.push_back(fmt::format("authorization: audit rule '{}' (line {}) matches: the connection is reported",
                                  s.authz_rules[d.audit_rule].name, s.authz_rules[d.audit_rule].line));
  if (const uint32_t set = d.allowed ? s.authz.inspect_of(p, d) : 0) inspect = set;
  return d.allowed;
}

// A TCP connection's payload inspection by the set in slot `set1 - 1` (0: none), as a step.
void inspection(const CompiledSnapshot& s, uint8_t protocol, uint32_t set1, Explanation& e) {
  if (protocol != 6 || !set1 || !s.patterns || set1 > s.patterns->sets.size() || !s.patterns->sets[set1 - 1]) return;
  const config::PatternSet& set = s.patterns->sets[set1 - 1]->definition;
  e.steps.push_back(fmt::format("payload: inspected with pattern set '{}' ({} patterns) over the first {} bytes of {}",
                                set.name, set.patterns.size(), set.inspect_bytes,
                                set.client && set.server ? "each direction"
                                : set.client             ? "the client's direction"
                                                         : "the server's direction"));
}

}  // namespace

std::string route_text(const config::Policy& policy, const CompiledSnapshot& s, uint32_t address) {
  const int32_t nh = s.route(address);
  if (nh < 0) return "";
  const dataplane::NextHop& hop = s.next_hops[nh];
  if (hop.tunnel) {
    const config::Peer& peer = policy.peers[hop.tunnel - 1];
    return fmt::format("into the tunnel to peer '{}' ({}): encrypted, then sent to {}", peer.name,
                       peer.encapsulation == config::Encapsulation::kUdp ? "ESP in UDP 4500" : "ESP",
                       config::ipv4_to_string(peer.address));
  }
  const std::string port = policy.ports[hop.port].name;
  return hop.gateway ? fmt::format("via {} on port {}", config::ipv4_to_string(hop.gateway), port)
                     : fmt::format("on port {} (connected)", port);
}

Explanation explain(const ExplainQuery& q, const config::Policy& policy, const CompiledSnapshot& s) {
  const auto src = config::parse_ipv4(q.source), dst = config::parse_ipv4(q.destination);
  if (!src) return refuse(fmt::format("source '{}' is not an IPv4 address", q.source));
  if (!dst) return refuse(fmt::format("destination '{}' is not an IPv4 address", q.destination));
  const auto protocol = config::parse_protocol(q.protocol);
  if (!protocol) return refuse(fmt::format("protocol must be tcp, udp, icmp or a number 0-255, found '{}'", q.protocol));
  // An identity this policy does not know can be named by no rule: it is asked as one that matches none.
  constexpr uint32_t kUnknownIdentity = ~uint32_t{0};
  uint32_t identity = q.identity.empty() ? 0 : identity_id(policy, q.identity);
  if (!q.identity.empty() && identity == 0) identity = kUnknownIdentity;
  Explanation e;
  auto step = [&](std::string line) { e.steps.push_back(std::move(line)); };

  // Ingress.
  int32_t port = -1;
  const uint16_t tunnel = s.tunnel_of(*src);
  if (!q.ingress.empty()) {
    for (size_t i = 0; i < policy.ports.size(); ++i)
      if (policy.ports[i].name == q.ingress) port = static_cast<int32_t>(i);
    if (port < 0) return refuse(fmt::format("ingress '{}' is not a port of the running policy", q.ingress));
  } else if (tunnel) {  // a tunnel's packets come in where its peer is reached
    port = s.next_hops[s.peers[tunnel - 1].next_hop].port;
  } else if (const int32_t back = s.route(*src); back >= 0) {
    port = s.next_hops[back].port;
  }
  if (port < 0) return refuse(fmt::format("no route back to {}: say which port it comes in on (--ingress)", q.source));
  step(fmt::format("ingress: port {}{}", policy.ports[port].name,
                   tunnel ? fmt::format(", decrypted from peer '{}' ({} lies behind it)", policy.peers[tunnel - 1].name,
                                        q.source)
                          : ""));

  // Access rules, through the workers' classifier.
  const bool ports = *protocol == 6 || *protocol == 17;
  dataplane::AccessKey key{*protocol, {}, rte_cpu_to_be_32(*src), rte_cpu_to_be_32(*dst),
                           rte_cpu_to_be_16(ports ? q.source_port : *protocol == 1 ? q.icmp_type : 0),
                           rte_cpu_to_be_16(ports ? q.destination_port : 0), rte_cpu_to_be_32(port)};
  const AccessTable& table = *s.access_table;
  const auto& rules = table.rules();
  config::AccessAction action = rules.default_action;
  if (const int32_t i = table.classify(key); i >= 0) {
    const config::AccessRule& r = rules.rules[i];
    action = r.action;
    step(fmt::format("access: rule '{}' (line {}: {}) decides: {}", r.name, r.mark.line, describe_match(r),
                     config::action_name(action)));
  } else {
    step(fmt::format("access: no rule matches ({} rules); the default decides: {}", rules.rules.size(),
                     config::action_name(action)));
  }
  if (action == config::AccessAction::kDeny) {
    e.verdict = "denied";
    return e;
  }
  if (action == config::AccessAction::kReject) {
    e.verdict = "rejected";
    step(*protocol == 6 ? "answered with a TCP RST" : "answered with ICMP destination unreachable, code 13");
    return e;
  }

  // Load balancing.
  for (size_t i = 0; i < policy.services.size(); ++i) {
    const config::Service& svc = policy.services[i];
    if (svc.vip != *dst) continue;
    for (const auto& p : svc.ports)
      if (static_cast<uint8_t>(p.protocol) == *protocol && p.port == q.destination_port) {
        uint32_t inspect = s.lb.services[i].inspect;
        if (!authorized(policy, s, s.authz.policy_of(s.lb.services[i].slot), *src, *protocol, q.destination_port,
                        identity, e, inspect)) {
          e.verdict = "denied";
          return e;
        }
        step(fmt::format("load balancing: service '{}' port {} -> one of {} endpoints, target port {} ({})", svc.name,
                         p.port, svc.endpoints.size(), p.target_port ? p.target_port : p.port,
                         svc.mode == config::LbMode::kNat ? "NAT" : "direct return"));
        inspection(s, *protocol, inspect, e);
        e.verdict = "balanced";
        return e;
      }
    step(fmt::format("load balancing: service '{}' listens on no {} port {}: {}", svc.name, q.protocol,
                     q.destination_port, svc.unknown_port == config::UnknownPort::kReject ? "rejected" : "dropped"));
    e.verdict = svc.unknown_port == config::UnknownPort::kReject ? "rejected" : "dropped";
    return e;
  }

  // The gateway itself, else routing.
  if (s.local(*dst)) {
    step("local: addressed to the gateway (echo requests are answered, other traffic is dropped)");
    e.verdict = "local";
    return e;
  }
  const std::string route = route_text(policy, s, *dst);
  if (route.empty()) {
    step(fmt::format("route: none to {}: dropped, ICMP destination unreachable sent", q.destination));
    e.verdict = "dropped";
    return e;
  }
  // A routed connection to a destination with an authorization (TCP and UDP per connection, others per packet).
  uint32_t inspect = 0;
  if (!authorized(policy, s, s.authz.destination_policy(*dst), *src, *protocol, ports ? q.destination_port : 0,
                  identity, e, inspect)) {
    e.verdict = "denied";
    return e;
  }
  inspection(s, *protocol, inspect, e);
  step("route: " + route);
  e.verdict = "forwarded";
  return e;
}

}  // namespace meshplane::ctrl
