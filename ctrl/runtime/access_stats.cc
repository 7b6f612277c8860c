#include <fmt/format.h>

#include "config/access_parser.h"
#include "config/address.h"
#include "config/authz_parser.h"
#include "ctrl/runtime/access_text.h"
#include "ctrl/runtime/stats.h"

namespace meshplane::ctrl {

void add_access_rules(const StatsSource& src, v1::GetStatsResponse& out) {
  if (!src.access) return;
  const auto& access = src.access->rules();
  out.set_access_default(config::action_name(access.default_action));
  for (uint32_t i = 0; i < access.rules.size(); ++i) {
    const auto& r = access.rules[i];
    auto* s = out.add_access_rules();
    s->set_name(r.name);
    s->set_action(config::action_name(r.action));
    s->set_line(static_cast<uint32_t>(r.mark.line));
    s->set_match(describe_match(r));
    s->set_log(r.log);
    s->set_hits(src.access->hits(i));
  }
}

namespace {

std::string describe_rule(const config::AuthzRule& r) {
  std::string from, to;
  for (const auto& id : r.identities) from += (from.empty() ? "" : ",") + id;
  for (const auto& p : r.prefixes) from += (from.empty() ? "" : ",") + config::prefix_to_string(p);
  for (const auto& p : r.ports)
    to += (to.empty() ? "port " : ",") + (p.first == p.last ? std::to_string(p.first) : fmt::format("{}-{}", p.first, p.last));
  for (auto p : r.protocols) to += std::string(to.empty() ? "" : " ") + (p == config::Protocol::kTcp ? "tcp" : "udp");
  return fmt::format("{} '{}' (line {}): from {} to {}", config::authz_action_name(r.action), r.name, r.mark.line,
                     from.empty() ? "any" : from, to.empty() ? "any" : to);
}

uint64_t value(const google::protobuf::Map<std::string, uint64_t>& m, const char* key) {
  const auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

void add_authorizations(const StatsSource& src, v1::GetStatsResponse& out) {
  if (!src.policy) return;
  for (const auto& a : src.policy->authorization) {
    auto* s = out.add_authorizations();
    s->set_service(a.service);
    s->set_name(a.name);
    for (const auto& p : a.destinations) s->add_destinations(config::prefix_to_string(p));
    s->set_default_action(config::authz_action_name(a.default_action));
    for (auto action : {config::AuthzAction::kDeny, config::AuthzAction::kAllow, config::AuthzAction::kAudit})
      for (const auto& r : a.rules)
        if (r.action == action) s->add_rules(describe_rule(r));
    for (const auto& svc : out.services())
      if (svc.name() == a.service && svc.in_policy()) {
        s->set_denied(value(svc.drops(), "authz_denied"));
        s->set_audited(value(svc.counters(), "authz_audited"));
        s->set_cut(value(svc.counters(), "authz_cut"));
      }
  }
}

}  // namespace meshplane::ctrl
