#include "config/access_parser.h"

#include <fmt/format.h>

#include <charconv>

#include "config/yaml_fields.h"

namespace meshplane::config {
namespace {



bool parse_port(std::string_view s, uint16_t& out) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// "80" or "1024-65535".

// tcp, udp, icmp, any, or an IP protocol number.
void read_protocol(const YamlNode& n, Diagnostics& d, std::optional<uint8_t>& out) {
  std::string s;
  if (!read_string(n, "rule protocol", d, s)) return;
  if (s == "any") return;
  out = parse_protocol(s);
  if (!out) d.error(n.mark(), fmt::format("rule protocol must be tcp, udp, icmp, any or a number 0-255, found '{}'", s));
}

void parse_rule(const YamlNode& n, Diagnostics& d, AccessPolicy& access) {
  Fields f(n, "an access rule", d,
           {"name", "action", "protocol", "source", "destination", "source_ports", "destination_ports", "icmp_type",
            "ingress", "log"});
  if (!f.is_map()) return;
  AccessRule r;
  r.mark = r.ingress_mark = f.mark();
  r.name = fmt::format("rule-{}", access.rules.size() + 1);
  if (auto v = f.get("name"); v.defined()) read_string(v, "rule name", d, r.name);
  if (auto v = f.require("action"); v.defined()) {
    const int c = read_choice(v, "rule action", d, {"allow", "deny", "reject"});
    if (c >= 0) r.action = static_cast<AccessAction>(c);
  }
  if (auto v = f.get("protocol"); v.defined()) read_protocol(v, d, r.protocol);
  if (auto v = f.get("source"); v.defined()) read_prefixes(v, "rule source", d, r.sources);
  if (auto v = f.get("destination"); v.defined()) read_prefixes(v, "rule destination", d, r.destinations);
  if (auto v = f.get("source_ports"); v.defined()) read_ports(v, "rule source_ports", d, r.source_ports);
  if (auto v = f.get("destination_ports"); v.defined())
    read_ports(v, "rule destination_ports", d, r.destination_ports);
  if (auto v = f.get("icmp_type"); v.defined()) {
    uint8_t t = 0;
    if (read_uint_as(v, "rule icmp_type", d, 0, 255, t)) r.icmp_type = t;
  }
  if (auto v = f.get("ingress"); v.defined()) {
    read_string(v, "rule ingress", d, r.ingress);
    r.ingress_mark = v.mark();
  }
  if (auto v = f.get("log"); v.defined()) read_bool(v, "rule log", d, r.log);
  access.rules.push_back(std::move(r));
}

}  // namespace

bool read_port_range(const YamlNode& n, std::string_view what, Diagnostics& d, PortRange& out) {
  std::string s;
  if (!read_string(n, what, d, s)) return false;
  const auto dash = s.find('-');
  const bool ok = dash == std::string::npos
                      ? parse_port(s, out.first) && (out.last = out.first, true)
                      : parse_port(std::string_view(s).substr(0, dash), out.first) &&
                            parse_port(std::string_view(s).substr(dash + 1), out.last);
  if (!ok) {
    d.error(n.mark(), fmt::format("{} must be a port (0-65535) or a range such as 1024-65535, found '{}'", what, s));
    return false;
  }
  if (out.first > out.last) {
    d.error(n.mark(), fmt::format("{} '{}' runs backwards", what, s));
    return false;
  }
  return true;
}

// One value or a list of them.
std::vector<YamlNode> one_or_many(const YamlNode& n, std::string_view what, Diagnostics& d) {
  std::vector<YamlNode> items;
  if (n.is_scalar())
    items.push_back(n);
  else
    read_list(n, what, d, items);
  return items;
}

void read_prefixes(const YamlNode& n, std::string_view what, Diagnostics& d, std::vector<Ipv4Prefix>& out) {
  for (const auto& item : one_or_many(n, what, d)) {
    Ipv4Prefix p;
    std::string s;
    // A bare address is its /32.
    if (item.is_scalar() && item.scalar().find('/') == std::string::npos) {
      if (read_ipv4(item, what, d, p.address)) out.push_back(p);
    } else if (read_prefix(item, what, d, p)) {
      out.push_back(p);
    }
  }
}

void read_ports(const YamlNode& n, std::string_view what, Diagnostics& d, std::vector<PortRange>& out) {
  for (const auto& item : one_or_many(n, what, d)) {
    PortRange r;
    if (read_port_range(item, what, d, r)) out.push_back(r);
  }
}

const char* action_name(AccessAction a) {
  switch (a) {
    case AccessAction::kAllow: return "allow";
    case AccessAction::kDeny: return "deny";
    case AccessAction::kReject: return "reject";
  }
  return "?";
}

std::optional<uint8_t> parse_protocol(std::string_view s) {
  if (s == "tcp") return 6;
  if (s == "udp") return 17;
  if (s == "icmp") return 1;
  if (uint16_t v = 0; parse_port(s, v) && v <= 255) return static_cast<uint8_t>(v);
  return std::nullopt;
}

std::string protocol_name(uint8_t protocol) {
  switch (protocol) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
  }
  return std::to_string(protocol);
}

void parse_access(const YamlNode& n, Diagnostics& d, AccessPolicy& access) {
  Fields f(n, "access", d, {"default", "rules", "log_per_second"});
  if (!f.is_map()) return;
  if (auto v = f.get("default"); v.defined()) {
    const int c = read_choice(v, "access default", d, {"allow", "deny"});
    if (c >= 0) access.default_action = static_cast<AccessAction>(c);
  }
  if (auto v = f.get("log_per_second"); v.defined())
    read_uint_as(v, "access.log_per_second", d, 0, 1'000'000, access.log_per_second);
  std::vector<YamlNode> items;
  if (read_list(f.get("rules"), "access rules", d, items))
    for (const auto& item : items) parse_rule(item, d, access);
}

}  // namespace meshplane::config
