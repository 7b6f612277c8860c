#include "dataplane/tables/authz_view.h"

#include <netinet/in.h>

namespace meshplane::dataplane {

Client AuthzView::client(uint32_t source, uint16_t peer) const {
  Client c{source, 0, peer ? peer_identities[peer - 1] : 0};
  for (const auto& m : mappings)
    if (m.prefix.contains(source) && (m.peer == 0 || m.peer == peer)) {
      c.identity = m.identity;
      break;
    }
  return c;
}

namespace {

bool matches(const AuthzView& v, const AuthzRuleView& r, const Client& c, uint8_t protocol, uint16_t port) {
  if (r.protocols) {
    const uint8_t bit = protocol == IPPROTO_TCP ? 1 : protocol == IPPROTO_UDP ? 2 : 0;
    if (!(r.protocols & bit)) return false;
  }
  if (r.ports_count) {
    bool any = false;
    for (uint32_t i = 0; i < r.ports_count && !any; ++i) {
      const AuthzPorts& p = v.rule_ports[r.first_ports + i];
      any = p.first <= port && port <= p.last;
    }
    if (!any) return false;
  }
  if (r.prefix_count) {
    bool any = false;
    for (uint32_t i = 0; i < r.prefix_count && !any; ++i) any = v.rule_prefixes[r.first_prefix + i].contains(c.source);
    if (!any) return false;
  }
  if (r.identity_count) {
    bool any = false;
    for (uint32_t i = 0; i < r.identity_count && !any; ++i) {
      const uint32_t id = v.rule_identities[r.first_identity + i];
      any = (c.identity && id == c.identity) || (c.peer_identity && id == c.peer_identity);
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace

AuthzDecision AuthzView::decide(uint32_t policy, const Client& c, uint8_t protocol, uint16_t port) const {
  const AuthzPolicyView& p = policies[policy - 1];
  AuthzDecision d{p.default_verdict == AuthzVerdict::kAllow, -1, -1};
  bool decided = false;
  // Rules are kept deny first, then allow, then audit: a deny always wins (as Istio's).
  for (uint32_t i = 0; i < p.rule_count; ++i) {
    const uint32_t index = p.first_rule + i;
    const AuthzRuleView& r = rules[index];
    if (decided && r.action != AuthzVerdict::kAudit) continue;
    if (!matches(*this, r, c, protocol, port)) continue;
    if (r.action == AuthzVerdict::kAudit) {
      d.audit_rule = static_cast<int32_t>(index);
      break;
    }
    d = {r.action == AuthzVerdict::kAllow, static_cast<int32_t>(index), -1};
    decided = true;
  }
  return d;
}

}  // namespace meshplane::dataplane
