#include "ctrl/runtime/access_text.h"

#include <fmt/format.h>
#include <rte_byteorder.h>

#include "config/access_parser.h"
#include "config/address.h"

namespace meshplane::ctrl {

namespace {

// "tcp 10.1.0.5:40000 -> 10.2.0.9:23", "icmp type 8 code 0 a -> b", "protocol 47 a -> b".
std::string tuple_text(const dataplane::AccessKey& k) {
  const std::string src = config::ipv4_to_string(rte_be_to_cpu_32(k.source));
  const std::string dst = config::ipv4_to_string(rte_be_to_cpu_32(k.destination));
  const uint16_t sport = rte_be_to_cpu_16(k.source_port), dport = rte_be_to_cpu_16(k.destination_port);
  if (k.protocol == 6 || k.protocol == 17)
    return fmt::format("{} {}:{} -> {}:{}", config::protocol_name(k.protocol), src, sport, dst, dport);
  if (k.protocol == 1) return fmt::format("icmp type {} code {} {} -> {}", sport, dport, src, dst);
  return fmt::format("protocol {} {} -> {}", k.protocol, src, dst);
}

}  // namespace

std::string describe(const dataplane::AccessLogRecord& r, const AccessTable& table,
                     const std::vector<config::Port>& ports) {
  const auto& rules = table.rules().rules;
  const std::string rule = r.table == table.id() && r.rule < rules.size()
                               ? fmt::format("rule '{}' (line {})", rules[r.rule].name, rules[r.rule].mark.line)
                               : fmt::format("rule {} of an earlier policy", r.rule + 1);
  static constexpr const char* kVerdicts[] = {"allowed", "denied", "rejected"};
  const uint32_t port = rte_be_to_cpu_32(r.key.port);
  const std::string in = port < ports.size() ? ports[port].name : std::to_string(port);
  return fmt::format("{} {} {} from port {}", rule, kVerdicts[static_cast<int>(r.verdict) % 3], tuple_text(r.key), in);
}

std::string describe_audit(const dataplane::AccessLogRecord& r, const CompiledSnapshot& running,
                           const config::Policy& policy) {
  std::string whose;
  if (r.kind == dataplane::LogKind::kRoutedAudit) {
    whose = r.table >= 1 && r.table <= running.authz_policies.size() ? running.authz_policies[r.table - 1]
                                                                     : fmt::format("authorization {}", r.table);
  } else {
    whose = fmt::format("service in slot {}", r.table);
    for (size_t i = 0; i < running.lb.services.size() && i < policy.services.size(); ++i)
      if (running.lb.services[i].slot == r.table) whose = fmt::format("service '{}'", policy.services[i].name);
  }
  const std::string rule = r.rule < running.authz_rules.size()
                               ? fmt::format("'{}' (line {})", running.authz_rules[r.rule].name,
                                             running.authz_rules[r.rule].line)
                               : fmt::format("{}", r.rule);
  return fmt::format("{}: audit rule {} matched {} ({})", whose, rule, tuple_text(r.key),
                     r.verdict == dataplane::AccessVerdict::kAllow ? "allowed" : "denied");
}

namespace {

template <typename T, typename Show>
std::string any_of(const std::vector<T>& list, Show show) {
  std::string out;
  for (const auto& item : list) out += (out.empty() ? "" : ",") + show(item);
  return out;
}

}  // namespace

std::string describe_match(const config::AccessRule& r) {
  auto prefix = [](const config::Ipv4Prefix& p) { return config::prefix_to_string(p); };
  auto range = [](const config::PortRange& p) {
    return p.first == p.last ? std::to_string(p.first) : fmt::format("{}-{}", p.first, p.last);
  };
  std::vector<std::string> parts;
  if (r.protocol) parts.push_back(config::protocol_name(*r.protocol));
  if (r.icmp_type) parts.push_back(fmt::format("type {}", *r.icmp_type));
  auto side = [&](const char* what, const auto& prefixes, const auto& ports) {
    if (prefixes.empty() && ports.empty()) return;
    std::string s = what;
    if (!prefixes.empty()) s += " " + any_of(prefixes, prefix);
    if (!ports.empty()) s += " port " + any_of(ports, range);
    parts.push_back(s);
  };
  side("from", r.sources, r.source_ports);
  side("to", r.destinations, r.destination_ports);
  if (!r.ingress.empty()) parts.push_back("in " + r.ingress);
  if (parts.empty()) return "any";
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

}  // namespace meshplane::ctrl
