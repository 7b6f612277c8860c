#include "config/access_validate.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "config/access_parser.h"
#include "config/address.h"

namespace meshplane::config {
namespace {

bool prefix_covers(const Ipv4Prefix& outer, const Ipv4Prefix& inner) {
  return outer.length <= inner.length && prefix_contains(outer, inner.address);
}
bool prefixes_meet(const Ipv4Prefix& a, const Ipv4Prefix& b) {
  return prefix_covers(a, b) || prefix_covers(b, a);
}
bool range_covers(const PortRange& outer, const PortRange& inner) {
  return outer.first <= inner.first && inner.last <= outer.last;
}
bool ranges_meet(const PortRange& a, const PortRange& b) { return a.first <= b.last && b.first <= a.last; }

// An empty list is "any": it covers and meets everything.
template <typename T, typename Covers>
bool list_covers(const std::vector<T>& outer, const std::vector<T>& inner, Covers covers) {
  if (outer.empty()) return true;
  if (inner.empty()) return false;
  return std::all_of(inner.begin(), inner.end(), [&](const T& i) {
    return std::any_of(outer.begin(), outer.end(), [&](const T& o) { return covers(o, i); });
  });
}
template <typename T, typename Meet>
bool lists_meet(const std::vector<T>& a, const std::vector<T>& b, Meet meet) {
  if (a.empty() || b.empty()) return true;
  return std::any_of(a.begin(), a.end(),
                     [&](const T& x) { return std::any_of(b.begin(), b.end(), [&](const T& y) { return meet(x, y); }); });
}
template <typename T>
bool optional_covers(const std::optional<T>& outer, const std::optional<T>& inner) {
  return !outer || outer == inner;
}
template <typename T>
bool optionals_meet(const std::optional<T>& a, const std::optional<T>& b) {
  return !a || !b || a == b;
}

bool blocks(AccessAction a) { return a != AccessAction::kAllow; }

void check_rule(const Policy& policy, const AccessRule& r, Diagnostics& d) {
  const bool has_ports = !r.source_ports.empty() || !r.destination_ports.empty();
  if (has_ports && r.protocol != 6 && r.protocol != 17)
    d.error(r.mark, fmt::format("access rule '{}' has ports, so it needs protocol tcp or udp", r.name));
  if (r.icmp_type && r.protocol != 1)
    d.error(r.mark, fmt::format("access rule '{}' has an icmp_type, so it needs protocol icmp", r.name));
  if (!r.ingress.empty() &&
      std::none_of(policy.ports.begin(), policy.ports.end(), [&](const Port& p) { return p.name == r.ingress; }))
    d.error(r.ingress_mark, fmt::format("access rule '{}': ingress '{}' is not a port of this policy", r.name, r.ingress));
}

// Earlier rules that make `j` dead, or that decide part of its traffic the other way.
void check_order(const std::vector<AccessRule>& rules, Diagnostics& d) {
  for (size_t j = 1; j < rules.size(); ++j) {
    const AccessRule& later = rules[j];
    for (size_t i = 0; i < j; ++i) {
      const AccessRule& earlier = rules[i];
      if (!overlaps(earlier, later)) continue;
      if (covers(earlier, later)) {
        d.warning(later.mark, fmt::format("access rule '{}' can never match: rule '{}' (line {}) comes first and "
                                          "covers all of it",
                                          later.name, earlier.name, earlier.mark.line));
        break;
      }
      if (blocks(earlier.action) != blocks(later.action) && !covers(later, earlier)) {
        d.warning(later.mark, fmt::format("access rule '{}' ({}) partly overlaps rule '{}' ({}, line {}), which "
                                          "comes first and decides the packets both match",
                                          later.name, action_name(later.action), earlier.name,
                                          action_name(earlier.action), earlier.mark.line));
        break;
      }
    }
  }
}

}  // namespace

size_t access_entries(const AccessRule& r) {
  auto n = [](size_t size) { return std::max<size_t>(size, 1); };
  return n(r.sources.size()) * n(r.destinations.size()) * n(r.source_ports.size()) * n(r.destination_ports.size());
}

bool covers(const AccessRule& outer, const AccessRule& inner) {
  return optional_covers(outer.protocol, inner.protocol) && optional_covers(outer.icmp_type, inner.icmp_type) &&
         (outer.ingress.empty() || outer.ingress == inner.ingress) &&
         list_covers(outer.sources, inner.sources, prefix_covers) &&
         list_covers(outer.destinations, inner.destinations, prefix_covers) &&
         list_covers(outer.source_ports, inner.source_ports, range_covers) &&
         list_covers(outer.destination_ports, inner.destination_ports, range_covers);
}

bool overlaps(const AccessRule& a, const AccessRule& b) {
  return optionals_meet(a.protocol, b.protocol) && optionals_meet(a.icmp_type, b.icmp_type) &&
         (a.ingress.empty() || b.ingress.empty() || a.ingress == b.ingress) &&
         lists_meet(a.sources, b.sources, prefixes_meet) && lists_meet(a.destinations, b.destinations, prefixes_meet) &&
         lists_meet(a.source_ports, b.source_ports, ranges_meet) &&
         lists_meet(a.destination_ports, b.destination_ports, ranges_meet);
}

void validate_access(const Policy& policy, Diagnostics& d) {
  const auto& rules = policy.access.rules;
  if (rules.size() > kMaxAccessRules) {
    d.error(rules[kMaxAccessRules].mark,
            fmt::format("at most {} access rules, found {}", kMaxAccessRules, rules.size()));
    return;
  }
  std::unordered_set<std::string_view> names;
  size_t entries = 0;
  for (const auto& r : rules) {
    check_rule(policy, r, d);
    if (!names.insert(r.name).second) d.error(r.mark, fmt::format("access rule name '{}' is used twice", r.name));
    entries += access_entries(r);
    if (entries > kMaxAccessEntries) {
      d.error(r.mark, fmt::format("access rules expand to more than {} classifier entries here (each rule is one "
                                  "entry per combination of its lists)",
                                  kMaxAccessEntries));
      return;
    }
  }
  if (d.ok()) check_order(rules, d);
}

}  // namespace meshplane::config
