#include "ctrl/telemetry/trace_session.h"

#include <fmt/format.h>
#include <rte_byteorder.h>

#include "config/access_parser.h"
#include "config/address.h"
#include "ctrl/api/explain.h"
#include "ctrl/runtime/access_text.h"

namespace meshplane::ctrl {
namespace {

using dataplane::Stage;
using dataplane::TraceEvent;
using dataplane::TraceRecord;

constexpr const char* kStageNames[] = {"parse", "decrypt", "access", "lb", "routed-authz", "inspect", "local", "route",
                                       "route-originated", "encrypt", "route-encrypted", "egress"};
static_assert(std::size(kStageNames) == dataplane::kStageCount);

std::string port_name(const config::Policy& policy, uint16_t port) {
  return port < policy.ports.size() ? policy.ports[port].name : fmt::format("{}", port);
}

std::string tuple(const TraceRecord& r) {
  const std::string src = config::ipv4_to_string(rte_be_to_cpu_32(r.source));
  const std::string dst = config::ipv4_to_string(rte_be_to_cpu_32(r.destination));
  const uint16_t sp = rte_be_to_cpu_16(r.source_port), dp = rte_be_to_cpu_16(r.destination_port);
  std::string text;
  if (r.protocol == 6 || r.protocol == 17)
    text = fmt::format("{} {}:{} -> {}:{}", config::protocol_name(r.protocol), src, sp, dst, dp);
  else if (r.protocol == 1)
    text = fmt::format("icmp type {} code {} {} -> {}", sp, dp, src, dst);
  else
    text = fmt::format("protocol {} {} -> {}", r.protocol, src, dst);
  if (r.spi) text += fmt::format(" (ESP SPI 0x{:08x})", rte_be_to_cpu_32(r.spi));
  return text + fmt::format(", ttl {}, {} bytes", r.ttl, r.length);
}

bool same_headers(const TraceRecord& a, const TraceRecord& b) {
  return a.source == b.source && a.destination == b.destination && a.source_port == b.source_port &&
         a.destination_port == b.destination_port && a.protocol == b.protocol && a.spi == b.spi;
}

// What the running policy says at a stage, from the headers the packet had there.
std::string annotate(const TraceRecord& r, uint16_t ingress, const config::Policy& policy, const CompiledSnapshot& s) {
  const uint32_t dst = rte_be_to_cpu_32(r.destination);
  switch (r.stage) {
    case Stage::kAccess: {
      if (!s.access_table) return "";
      const bool ports = r.protocol == 6 || r.protocol == 17 || r.protocol == 1;
      const dataplane::AccessKey key{r.protocol, {}, r.source, r.destination, ports ? r.source_port : uint16_t{0},
                                     ports ? r.destination_port : uint16_t{0}, rte_cpu_to_be_32(ingress)};
      const auto& rules = s.access_table->rules();
      if (const int32_t i = s.access_table->classify(key); i >= 0)
        return fmt::format("rule '{}' (line {}): {}", rules.rules[i].name, rules.rules[i].mark.line,
                           config::action_name(rules.rules[i].action));
      return fmt::format("no rule matches: {} (the default)", config::action_name(rules.default_action));
    }
    case Stage::kLb:
      for (const auto& svc : policy.services)
        if (svc.vip == dst) return fmt::format("service '{}'", svc.name);
      return "";
    case Stage::kRoutedAuthz:
      if (const uint32_t p = s.authz.destination_policy(dst); p && p <= s.authz_policies.size())
        return "authorization of " + s.authz_policies[p - 1];
      return "";
    case Stage::kRoute:
    case Stage::kRouteOriginated:
    case Stage::kRouteEncrypted:
    case Stage::kEncrypt: {
      const std::string route = route_text(policy, s, dst);
      return route.empty() ? "no route" : route;
    }
    default:
      return "";
  }
}

}  // namespace

TracedPacket render(const std::vector<TraceRecord>& records, const config::Policy& policy, const CompiledSnapshot& s) {
  TracedPacket p;
  p.verdict = "incomplete (records lost, or still on its way)";
  if (records.empty()) return p;
  p.id = records.front().packet;
  p.worker = records.front().worker;
  uint16_t ingress = 0;
  const TraceRecord* before = nullptr;
  for (const auto& r : records) {
    switch (r.event) {
      case TraceEvent::kReceived:
        ingress = r.port;
        p.steps.push_back(fmt::format("received on port {}: {}", port_name(policy, r.port), tuple(r)));
        break;
      case TraceEvent::kStage: {
        std::string line = kStageNames[static_cast<size_t>(r.stage) % dataplane::kStageCount];
        if (const std::string note = annotate(r, ingress, policy, s); !note.empty()) line += ": " + note;
        if (before && !same_headers(*before, r)) line += " [now " + tuple(r) + "]";
        if (r.stage == Stage::kEgress) line += fmt::format(", out on port {}", port_name(policy, r.port));
        p.steps.push_back(std::move(line));
        break;
      }
      case TraceEvent::kSent:
        p.verdict = fmt::format("sent on port {}", port_name(policy, r.port));
        break;
      case TraceEvent::kDropped: {
        const auto& reason = dataplane::kDropReasons[r.detail % dataplane::kDropReasonCount];
        p.steps.push_back(fmt::format("dropped: {} ({})", reason.name, reason.help));
        p.verdict = fmt::format("dropped: {}", reason.name);
        break;
      }
      case TraceEvent::kHandedOff:
        p.steps.push_back(fmt::format("handed to worker {}, which keeps this connection's flow", r.detail));
        p.verdict = "handed off";
        break;
      case TraceEvent::kPunted:
        p.steps.push_back("punted to the control thread (its next hop is being resolved, or ARP)");
        p.verdict = "punted";
        break;
    }
    if (r.event == TraceEvent::kReceived || r.event == TraceEvent::kStage) before = &r;
  }
  return p;
}

std::vector<TracedPacket> TraceSession::take(const config::Policy& policy, const CompiledSnapshot& s, bool all) {
  std::vector<TracedPacket> out;
  for (auto it = packets_.begin(); it != packets_.end();) {
    const TraceEvent last = it->second.back().event;
    const bool done = last != TraceEvent::kReceived && last != TraceEvent::kStage;
    if (!done && !all) {
      ++it;
      continue;
    }
    out.push_back(render(it->second, policy, s));
    it = packets_.erase(it);
  }
  return out;
}

config::Status trace_filter(const TraceQuery& q, const config::Policy& policy, dataplane::TraceFilter& out) {
  auto bad = [](std::string m) { return config::Status::failure(config::Status::Code::kInvalid, std::move(m)); };
  auto prefix = [](const std::string& text, uint32_t& address, uint32_t& mask) {
    if (text.empty()) return true;
    const auto p = config::parse_ipv4_prefix(text);
    if (!p) return false;
    mask = config::prefix_mask(p->length);
    address = p->address & mask;
    return true;
  };
  if (q.count == 0 || q.count > 1000) return bad(fmt::format("--count must be 1 to 1000, found {}", q.count));
  if (!prefix(q.source, out.source, out.source_mask))
    return bad(fmt::format("--from must be an IPv4 address or prefix, found '{}'", q.source));
  if (!prefix(q.destination, out.destination, out.destination_mask))
    return bad(fmt::format("--to must be an IPv4 address or prefix, found '{}'", q.destination));
  if (!q.protocol.empty()) {
    const auto p = config::parse_protocol(q.protocol);
    if (!p) return bad(fmt::format("--protocol must be tcp, udp, icmp or a number 0-255, found '{}'", q.protocol));
    out.protocol = *p;
  }
  out.port = q.port;
  if (!q.ingress.empty()) {
    for (size_t i = 0; i < policy.ports.size(); ++i)
      if (policy.ports[i].name == q.ingress) out.ingress = static_cast<uint16_t>(i + 1);
    if (!out.ingress) return bad(fmt::format("--ingress '{}' is not a port of the running policy", q.ingress));
  }
  return {};
}

}  // namespace meshplane::ctrl
