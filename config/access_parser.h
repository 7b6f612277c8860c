// The `access` section of a policy: ordered, stateless access rules.
// Structural and type errors only; cross-checks (port names, fields that
// need a protocol) and shadowed rules are in access_validate.cc.
#pragma once

#include "config/diagnostic.h"
#include "config/model.h"
#include "config/yaml_tree.h"

namespace meshplane::config {

void parse_access(const YamlNode& n, Diagnostics& d, AccessPolicy& access);

// "allow", "deny", "reject": as the policy file spells them.
const char* action_name(AccessAction a);
// "tcp", "udp", "icmp", or the number.
std::string protocol_name(uint8_t protocol);

}  // namespace meshplane::config
