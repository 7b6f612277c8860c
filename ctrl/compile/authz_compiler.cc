#include "ctrl/compile/authz_compiler.h"

#include <algorithm>
#include <map>

#include "config/address.h"

namespace meshplane::ctrl {
namespace {

using dataplane::AuthzVerdict;

// Ids in a fixed order: mapped identities, then peers' identities not among them.
std::vector<std::string> identity_names(const config::Policy& policy) {
  std::vector<std::string> names;
  for (const auto& id : policy.identities) names.push_back(id.name);
  for (const auto& p : policy.peers)
    if (!p.identity.empty() && std::find(names.begin(), names.end(), p.identity) == names.end())
      names.push_back(p.identity);
  return names;
}

// What a decision depends on, besides the rules: who the sources are.
bool same_inputs(const config::Policy& a, const config::Policy& b) {
  if (!(a.identities == b.identities) || !(a.authorization == b.authorization) || a.peers.size() != b.peers.size())
    return false;
  for (size_t i = 0; i < a.peers.size(); ++i)
    if (a.peers[i].name != b.peers[i].name || a.peers[i].identity != b.peers[i].identity ||
        a.peers[i].prefixes != b.peers[i].prefixes)
      return false;
  return true;
}

// 1 + the place of `name` among `names`; 0: not there.
uint32_t id_in(const std::vector<std::string>& names, const std::string& name) {
  const auto at = std::find(names.begin(), names.end(), name);
  return at == names.end() ? 0 : static_cast<uint32_t>(at - names.begin()) + 1;
}

dataplane::AuthzPrefix compiled(const config::Ipv4Prefix& p) {
  const uint32_t mask = config::prefix_mask(p.length);
  return {p.address & mask, mask};
}

}  // namespace

std::string identity_name(const config::Policy& policy, uint32_t id) {
  const auto names = identity_names(policy);
  return id == 0 || id > names.size() ? "" : names[id - 1];
}

uint32_t identity_id(const config::Policy& policy, const std::string& name) {
  return id_in(identity_names(policy), name);
}

config::Status compile_authz(const config::Policy& policy, const config::Policy* previous, uint8_t previous_epoch,
                             CompiledSnapshot& s) {
  dataplane::AuthzView& v = s.authz;
  v.epoch = previous && same_inputs(policy, *previous) ? previous_epoch : static_cast<uint8_t>(previous_epoch + 1);
  const auto names = identity_names(policy);
  auto id_of = [&](const std::string& name) { return id_in(names, name); };  // validated: every name is there
  for (const auto& p : policy.peers) v.peer_identities.push_back(p.identity.empty() ? 0 : id_of(p.identity));
  for (const auto& id : policy.identities) {
    uint16_t peer = 0;
    for (size_t i = 0; i < policy.peers.size(); ++i)
      if (policy.peers[i].name == id.peer) peer = static_cast<uint16_t>(i + 1);
    for (const auto& prefix : id.prefixes) v.mappings.push_back({compiled(prefix), peer, id_of(id.name)});
  }
  // Longest prefix first; among equals, the order written.
  std::stable_sort(v.mappings.begin(), v.mappings.end(), [](const auto& a, const auto& b) {
    return a.prefix.mask > b.prefix.mask;  // longer prefixes have numerically larger masks
  });
  std::map<std::string_view, uint32_t> slot_of;
  for (size_t i = 0; i < policy.services.size() && i < s.lb.services.size(); ++i)
    slot_of.emplace(policy.services[i].name, s.lb.services[i].slot);
  for (const auto& a : policy.authorization) {
    const uint32_t policy_id = static_cast<uint32_t>(v.policies.size()) + 1;
    if (a.for_service()) {
      const auto slot = slot_of.find(a.service);
      if (slot == slot_of.end())
        return config::Status::failure(config::Status::Code::kInvalid,
                                       "authorization for an unknown service: " + a.service);
      if (v.policy_by_slot.size() <= slot->second) v.policy_by_slot.resize(slot->second + 1, 0);
      v.policy_by_slot[slot->second] = policy_id;
    }
    for (const auto& p : a.destinations) v.destinations.push_back({compiled(p), policy_id});
    s.authz_policies.push_back(a.label());
    dataplane::AuthzPolicyView pv{static_cast<uint32_t>(v.rules.size()), 0,
                                  a.default_action == config::AuthzAction::kDeny ? AuthzVerdict::kDeny
                                                                                 : AuthzVerdict::kAllow,
                                  a.keep_existing, s.patterns ? s.patterns->slot1(a.inspect) : 0};
    for (auto action : {config::AuthzAction::kDeny, config::AuthzAction::kAllow, config::AuthzAction::kAudit})
      for (const auto& r : a.rules) {
        if (r.action != action) continue;
        dataplane::AuthzRuleView rv{};
        rv.action = static_cast<AuthzVerdict>(r.action);
        rv.first_identity = static_cast<uint32_t>(v.rule_identities.size());
        for (const auto& name : r.identities) v.rule_identities.push_back(id_of(name));
        rv.identity_count = static_cast<uint32_t>(r.identities.size());
        rv.first_prefix = static_cast<uint32_t>(v.rule_prefixes.size());
        for (const auto& p : r.prefixes) v.rule_prefixes.push_back(compiled(p));
        rv.prefix_count = static_cast<uint32_t>(r.prefixes.size());
        rv.first_ports = static_cast<uint32_t>(v.rule_ports.size());
        for (const auto& p : r.ports) v.rule_ports.push_back({p.first, p.last});
        rv.ports_count = static_cast<uint32_t>(r.ports.size());
        for (auto p : r.protocols) rv.protocols |= p == config::Protocol::kTcp ? 1 : 2;
        rv.inspect = s.patterns ? s.patterns->slot1(r.inspect) : 0;
        v.rules.push_back(rv);
        s.authz_rules.push_back({r.name, r.mark.line});
        ++pv.rule_count;
      }
    v.policies.push_back(pv);
  }
  // Longest prefix first, as workers scan them.
  std::stable_sort(v.destinations.begin(), v.destinations.end(),
                   [](const auto& a, const auto& b) { return a.prefix.mask > b.prefix.mask; });
  for (const auto& l : s.local_addresses)
    v.destinations_hold_gateway |= v.destination_policy(l.address) || (l.broadcast && v.destination_policy(l.broadcast));
  return {};
}

}  // namespace meshplane::ctrl
