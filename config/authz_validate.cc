#include "config/authz_validate.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "common/limits.h"
#include "config/address.h"

namespace meshplane::config {
namespace {

bool inside(const Ipv4Prefix& inner, const Ipv4Prefix& outer) {
  return outer.length <= inner.length && prefix_contains(outer, inner.address);
}
bool meet(const Ipv4Prefix& a, const Ipv4Prefix& b) { return inside(a, b) || inside(b, a); }

const Peer* find_peer(const Policy& policy, const std::string& name) {
  for (const auto& p : policy.peers)
    if (p.name == name) return &p;
  return nullptr;
}

// Who may be named in a rule: the mapped identities and the peers' own.
std::set<std::string> known_identities(const Policy& policy) {
  std::set<std::string> known;
  for (const auto& id : policy.identities) known.insert(id.name);
  for (const auto& p : policy.peers)
    if (!p.identity.empty()) known.insert(p.identity);
  return known;
}

void validate_identity(const Policy& policy, const Identity& id, Diagnostics& d) {
  const Peer* peer = id.peer.empty() ? nullptr : find_peer(policy, id.peer);
  if (!id.peer.empty() && !peer) {
    d.error(id.peer_mark, fmt::format("identity '{}': peer '{}' is not in this policy", id.name, id.peer));
    return;
  }
  for (size_t i = 0; i < id.prefixes.size(); ++i) {
    const Ipv4Prefix& prefix = id.prefixes[i];
    if (peer) {
      if (std::none_of(peer->prefixes.begin(), peer->prefixes.end(), [&](const Ipv4Prefix& p) { return inside(prefix, p); }))
        d.error(id.prefix_marks[i], fmt::format("identity '{}': {} is not behind peer '{}' (its prefixes: the peer "
                                                "can only speak for sources behind it)",
                                                id.name, prefix_to_string(prefix), peer->name));
      continue;
    }
    // Without `peer`, the mapping would be believed for whatever arrives from
    // these sources; sources behind a peer arrive over its SAs, so say so.
    for (const auto& p : policy.peers)
      for (const auto& behind : p.prefixes)
        if (meet(prefix, behind))
          d.error(id.prefix_marks[i], fmt::format("identity '{}': {} lies behind peer '{}': add 'peer: {}' so that it "
                                                  "is believed only over that peer's SAs",
                                                  id.name, prefix_to_string(prefix), p.name, p.name));
  }
}

}  // namespace

void validate_authorization(const Policy& policy, Diagnostics& d) {
  std::unordered_set<std::string_view> names;
  for (const auto& id : policy.identities) {
    if (!names.insert(id.name).second) d.error(id.mark, fmt::format("identity '{}' is listed twice", id.name));
    validate_identity(policy, id, d);
  }
  const std::set<std::string> known = known_identities(policy);
  size_t destination_count = 0;
  for (const auto& a : policy.authorization) {
    destination_count += a.destinations.size();
    if (destination_count > kMaxAuthzDestinations) {
      d.error(a.destination_marks[a.destinations.size() - (destination_count - kMaxAuthzDestinations)],
              fmt::format("more than {} destination prefixes in authorizations (workers check each routed packet "
                          "against them): use fewer, broader prefixes",
                          kMaxAuthzDestinations));
      break;
    }
  }
  std::unordered_set<std::string_view> services, destination_names;
  std::map<std::pair<uint32_t, uint8_t>, std::string_view> destinations;  // prefix -> the authorization holding it
  for (const auto& a : policy.authorization) {
    if (a.service.empty() && a.name.empty()) continue;  // neither given: the parser said so
    if (!a.for_service()) {
      if (!destination_names.insert(a.name).second)
        d.error(a.service_mark, fmt::format("a second authorization is named '{}'", a.name));
      for (size_t i = 0; i < a.destinations.size(); ++i) {
        const Ipv4Prefix& p = a.destinations[i];
        const auto [at, added] = destinations.emplace(std::pair{p.address, p.length}, a.name);
        if (!added)
          d.error(a.destination_marks[i], fmt::format("destination {} is already authorized by '{}': a prefix "
                                                      "belongs to one authorization",
                                                      prefix_to_string(p), at->second));
      }
    } else if (std::none_of(policy.services.begin(), policy.services.end(),
                            [&](const Service& s) { return s.name == a.service; })) {
      d.error(a.service_mark, fmt::format("authorization for service '{}': no such service in this policy", a.service));
    } else if (!services.insert(a.service).second) {
      d.error(a.service_mark, fmt::format("service '{}' has a second authorization; give all its rules in one",
                                          a.service));
    }
    std::unordered_set<std::string_view> rules;
    for (const auto& r : a.rules) {
      if (!rules.insert(r.name).second)
        d.error(r.mark, fmt::format("authorization rule name '{}' is used twice for {}", r.name, a.label()));
      for (size_t i = 0; i < r.identities.size(); ++i)
        if (!known.count(r.identities[i]))
          d.error(r.identity_marks[i], fmt::format("rule '{}': identity '{}' is neither in 'identities' nor a peer's "
                                                   "identity",
                                                   r.name, r.identities[i]));
    }
  }
}

}  // namespace meshplane::config
