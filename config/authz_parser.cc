#include "config/authz_parser.h"

#include <fmt/format.h>

#include "config/access_parser.h"
#include "config/yaml_fields.h"

namespace meshplane::config {
namespace {

void read_names(const YamlNode& n, std::string_view what, Diagnostics& d, std::vector<std::string>& out,
                std::vector<Mark>& marks) {
  for (const auto& item : one_or_many(n, what, d)) {
    std::string s;
    if (!read_string(item, what, d, s)) continue;
    out.push_back(std::move(s));
    marks.push_back(item.mark());
  }
}

// A prefix or a list of them, each with where it was written.
void read_marked_prefixes(const YamlNode& n, std::string_view what, Diagnostics& d, std::vector<Ipv4Prefix>& out,
                          std::vector<Mark>& marks) {
  for (const auto& item : one_or_many(n, what, d)) {
    std::vector<Ipv4Prefix> one;
    read_prefixes(item, what, d, one);
    for (const auto& p : one) {
      out.push_back(p);
      marks.push_back(item.mark());
    }
  }
}

void parse_identity(const YamlNode& n, Diagnostics& d, std::vector<Identity>& out) {
  Fields f(n, "an identity", d, {"name", "prefixes", "peer"});
  if (!f.is_map()) return;
  Identity id;
  id.mark = id.peer_mark = f.mark();
  if (auto v = f.require("name"); v.defined()) read_string(v, "identity name", d, id.name);
  if (auto v = f.require("prefixes"); v.defined()) {
    read_marked_prefixes(v, "identity prefix", d, id.prefixes, id.prefix_marks);
    if (id.prefixes.empty() && d.ok()) d.error(v.mark(), fmt::format("identity '{}' needs at least one prefix", id.name));
  }
  if (auto v = f.get("peer"); v.defined()) {
    read_string(v, "identity peer", d, id.peer);
    id.peer_mark = v.mark();
  }
  out.push_back(std::move(id));
}

void parse_rule(const YamlNode& n, Diagnostics& d, Authorization& a) {
  Fields f(n, "an authorization rule", d, {"name", "action", "from", "to", "inspect"});
  if (!f.is_map()) return;
  AuthzRule r;
  r.mark = f.mark();
  r.name = fmt::format("rule-{}", a.rules.size() + 1);
  if (auto v = f.get("name"); v.defined()) read_string(v, "rule name", d, r.name);
  if (auto v = f.require("action"); v.defined()) {
    const int c = read_choice(v, "rule action", d, {"allow", "deny", "audit"});
    if (c >= 0) r.action = static_cast<AuthzAction>(c);
  }
  if (auto v = f.get("from"); v.defined()) {
    Fields from(v, "a rule's from", d, {"identities", "prefixes"});
    if (auto x = from.get("identities"); x.defined()) read_names(x, "from identities", d, r.identities, r.identity_marks);
    if (auto x = from.get("prefixes"); x.defined()) read_prefixes(x, "from prefixes", d, r.prefixes);
  }
  if (auto v = f.get("to"); v.defined()) {
    Fields to(v, "a rule's to", d, {"ports", "protocols"});
    if (auto x = to.get("ports"); x.defined()) read_ports(x, "to ports", d, r.ports);
    if (auto x = to.get("protocols"); x.defined())
      for (const auto& item : one_or_many(x, "to protocols", d)) {
        const int c = read_choice(item, "to protocol", d, {"tcp", "udp"});
        if (c >= 0) r.protocols.push_back(c == 0 ? Protocol::kTcp : Protocol::kUdp);
      }
  }
  if (auto v = f.get("inspect"); v.defined()) {
    read_string(v, "rule inspect", d, r.inspect);
    r.inspect_mark = v.mark();
  }
  a.rules.push_back(std::move(r));
}

void parse_one(const YamlNode& n, Diagnostics& d, std::vector<Authorization>& out) {
  Fields f(n, "an authorization", d, {"service", "name", "destinations", "default", "on_change", "rules", "inspect"});
  if (!f.is_map()) return;
  Authorization a;
  a.mark = a.service_mark = f.mark();
  const YamlNode service = f.get("service"), destinations = f.get("destinations"), name = f.get("name");
  if (service.defined() == destinations.defined()) {
    d.error(f.mark(), service.defined() ? "an authorization is for a service or for destinations, not both"
                                        : "an authorization needs 'service' (connections to its VIP) or "
                                          "'destinations' (routed connections to prefixes)");
  } else if (service.defined()) {
    read_string(service, "authorization service", d, a.service);
    a.service_mark = service.mark();
    if (name.defined()) d.error(name.mark(), "a service's authorization is named by its service: no 'name'");
  } else {
    read_marked_prefixes(destinations, "destination prefix", d, a.destinations, a.destination_marks);
    if (a.destinations.empty() && d.ok()) d.error(destinations.mark(), "'destinations' needs at least one prefix");
    if (!name.defined())
      d.error(f.mark(), "an authorization for destinations needs a 'name' (events, counters and explain use it)");
    else
      read_string(name, "authorization name", d, a.name);
    a.service_mark = name.defined() ? name.mark() : f.mark();
  }
  if (auto v = f.get("default"); v.defined()) {
    const int c = read_choice(v, "authorization default", d, {"allow", "deny"});
    if (c >= 0) a.default_action = static_cast<AuthzAction>(c);
  }
  if (auto v = f.get("on_change"); v.defined()) {
    const int c = read_choice(v, "authorization on_change", d, {"cut", "keep"});
    if (c >= 0) a.keep_existing = c == 1;
  }
  if (auto v = f.get("inspect"); v.defined()) {
    read_string(v, "authorization inspect", d, a.inspect);
    a.inspect_mark = v.mark();
  }
  std::vector<YamlNode> items;
  if (read_list(f.get("rules"), "authorization rules", d, items))
    for (const auto& item : items) parse_rule(item, d, a);
  out.push_back(std::move(a));
}

}  // namespace

const char* authz_action_name(AuthzAction a) {
  switch (a) {
    case AuthzAction::kAllow: return "allow";
    case AuthzAction::kDeny: return "deny";
    case AuthzAction::kAudit: return "audit";
  }
  return "?";
}

void parse_identities(const YamlNode& n, Diagnostics& d, std::vector<Identity>& out) {
  std::vector<YamlNode> items;
  if (read_list(n, "identities", d, items))
    for (const auto& item : items) parse_identity(item, d, out);
}

void parse_authorization(const YamlNode& n, Diagnostics& d, std::vector<Authorization>& out) {
  std::vector<YamlNode> items;
  if (read_list(n, "authorization", d, items))
    for (const auto& item : items) parse_one(item, d, out);
}

}  // namespace meshplane::config
