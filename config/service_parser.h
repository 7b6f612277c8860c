// The load-balancing sections of a policy: `load_balancer` (settings) and
// `services`. Structural and type errors only, like parser.cc; cross-checks
// are in service_validate.cc.
#pragma once

#include "config/diagnostic.h"
#include "config/model.h"
#include "config/yaml_tree.h"

namespace meshplane::config {

void parse_load_balancer(const YamlNode& n, Diagnostics& d, LoadBalancerSettings& lb);
void parse_services(const YamlNode& n, Diagnostics& d, std::vector<Service>& services);

}  // namespace meshplane::config
