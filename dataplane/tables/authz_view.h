// Authorization as workers read it (dataplane/stages/lb.cc for services,
// dataplane/stages/routed_authz.cc for destinations): per service slot and
// per destination prefix an optional policy, decided when a connection
// starts and kept in its flow with the epoch it was decided in. Flat arrays; lists are ranges into
// shared arrays. Compiled by ctrl/compile/authz_compiler.cc.
#pragma once

#include <cstdint>
#include <vector>

namespace meshplane::dataplane {

enum class AuthzVerdict : uint8_t { kAllow, kDeny, kAudit };  // config::AuthzAction's order

struct AuthzPrefix {
  uint32_t address;  // host order, masked
  uint32_t mask;
  bool contains(uint32_t a) const { return (a & mask) == address; }
};

struct AuthzPorts {
  uint16_t first, last;
};

struct AuthzRuleView {
  uint32_t first_identity, identity_count;  // AuthzView::rule_identities: identity ids
  uint32_t first_prefix, prefix_count;      // AuthzView::rule_prefixes
  uint32_t first_ports, ports_count;        // AuthzView::rule_ports
  uint8_t protocols;                        // bit 0: TCP, bit 1: UDP; 0: any
  AuthzVerdict action;
  uint32_t inspect = 0;                     // allow rules: 1 + the pattern set slot of what they admit; 0: none
};

struct AuthzPolicyView {
  uint32_t first_rule, rule_count;  // deny rules first, then allow, then audit (the order they are asked in)
  AuthzVerdict default_verdict;     // kAllow or kDeny
  bool keep_existing;               // a change leaves established connections alone
  uint32_t inspect = 0;             // 1 + the pattern set slot of connections it allows (rules may name their own)
};

// A source prefix mapped to an identity, believed only over `peer`'s SAs
// when peer is not 0.
struct IdentityMapping {
  AuthzPrefix prefix;
  uint16_t peer;  // 1 + the peer's index; 0: any source
  uint32_t identity;
};

// Who a connection's client is: the identity its source maps to, and the
// identity of the peer it came through (0: none).
struct Client {
  uint32_t source;  // host order
  uint32_t identity;
  uint32_t peer_identity;
};

// Routed connections to `prefix` are decided by `policy` (1-based).
struct AuthzDestination {
  AuthzPrefix prefix;
  uint32_t policy;
};

struct AuthzDecision {
  bool allowed;
  int32_t rule;        // the deny or allow rule that decided (index into rules); -1: the default
  int32_t audit_rule;  // an audit rule that matched; -1: none
};

struct AuthzView {
  uint8_t epoch = 0;  // changes with every change to authorization or identities; flows keep theirs
  std::vector<uint32_t> policy_by_slot;  // by service slot: 1 + policy index; 0 (or beyond): no authorization
  std::vector<AuthzPolicyView> policies;
  std::vector<AuthzRuleView> rules;
  std::vector<uint32_t> rule_identities;
  std::vector<AuthzPrefix> rule_prefixes;
  std::vector<AuthzPorts> rule_ports;
  std::vector<IdentityMapping> mappings;  // longest prefix first
  std::vector<uint32_t> peer_identities;  // by peer index: its identity id, 0 none
  std::vector<AuthzDestination> destinations;  // longest prefix first (at most kMaxAuthzDestinations)
  bool destinations_hold_gateway = false;      // one holds a gateway address or broadcast (not routed)

  // 1 + the policy index for a service slot; 0: connections to it are not checked.
  uint32_t policy_of(uint32_t slot) const { return slot < policy_by_slot.size() ? policy_by_slot[slot] : 0; }
  // 1 + the policy deciding routed connections to `address` (host order); 0: none.
  uint32_t destination_policy(uint32_t address) const {
    for (const auto& d : destinations)
      if (d.prefix.contains(address)) return d.policy;
    return 0;
  }
  // Who a source is. `peer`: 1 + the peer whose tunnel it arrived through, 0 none.
  Client client(uint32_t source, uint16_t peer) const;
  // The decision of policy `policy` (1-based, as policy_of gives) for a connection.
  AuthzDecision decide(uint32_t policy, const Client& c, uint8_t protocol, uint16_t port) const;
  // The pattern set (1 + its slot; 0: none) of a connection `d` allowed: its rule's, else its policy's.
  uint32_t inspect_of(uint32_t policy, const AuthzDecision& d) const {
    return d.rule >= 0 && rules[d.rule].inspect ? rules[d.rule].inspect : policies[policy - 1].inspect;
  }
};

}  // namespace meshplane::dataplane
