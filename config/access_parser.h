// The `access` section of a policy: ordered, stateless access rules.
// Structural and type errors only; cross-checks (port names, fields that
// need a protocol) and shadowed rules are in access_validate.cc.
#pragma once

#include <optional>
#include <string_view>

#include "config/diagnostic.h"
#include "config/model.h"
#include "config/yaml_tree.h"

namespace meshplane::config {

void parse_access(const YamlNode& n, Diagnostics& d, AccessPolicy& access);

// "allow", "deny", "reject": as the policy file spells them.
const char* action_name(AccessAction a);
// "tcp", "udp", "icmp", or the number.
std::string protocol_name(uint8_t protocol);
// The other way: "tcp", "udp", "icmp" or a number 0-255; nothing for anything else.
std::optional<uint8_t> parse_protocol(std::string_view s);

// Shared with the authorization rules: one value or a list of prefixes (a
// bare address is its /32), or of ports and ranges ("80", "1024-65535").
void read_prefixes(const YamlNode& n, std::string_view what, Diagnostics& d, std::vector<Ipv4Prefix>& out);
void read_ports(const YamlNode& n, std::string_view what, Diagnostics& d, std::vector<PortRange>& out);
// One port or range ("80", "61000-65535").
bool read_port_range(const YamlNode& n, std::string_view what, Diagnostics& d, PortRange& out);
// One value or a list of them.
std::vector<YamlNode> one_or_many(const YamlNode& n, std::string_view what, Diagnostics& d);

}  // namespace meshplane::config
