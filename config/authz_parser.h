// The `identities` and `authorization` sections of a policy. Structural and
// type errors only; references (services, identities, peers) are checked in
// authz_validate.cc.
#pragma once

#include "config/diagnostic.h"
#include "config/model.h"
#include "config/yaml_tree.h"

namespace meshplane::config {

void parse_identities(const YamlNode& n, Diagnostics& d, std::vector<Identity>& out);
void parse_authorization(const YamlNode& n, Diagnostics& d, std::vector<Authorization>& out);

// "allow", "deny", "audit".
const char* authz_action_name(AuthzAction a);

}  // namespace meshplane::config
