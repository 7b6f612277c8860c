// `meshctl explain`: what the running policy does with a packet, stage by
// stage, as the workers would decide it (as `istioctl x authz check` does
// for a proxy): where it comes in, which access rule decides, which service
// balances it, where it is routed. Nothing is sent; the access rules are
// asked through the workers' own classifier.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/status.h"
#include "ctrl/compile/compiled_snapshot.h"

namespace meshplane::ctrl {

struct ExplainQuery {
  std::string source, destination;  // IPv4 addresses
  std::string protocol = "tcp";     // tcp, udp, icmp or a number
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  uint8_t icmp_type = 8;
  std::string ingress;  // a port's name; empty: the port the source is routed through
  std::string identity;  // ask as a client with this identity; empty: the one its source maps to
};

struct Explanation : config::Status {
  std::string verdict;             // forwarded, balanced, local, denied, rejected, dropped
  std::vector<std::string> steps;  // one line per stage that decided something
};

Explanation explain(const ExplainQuery& q, const config::Policy& policy, const CompiledSnapshot& s);

// Where a packet to `address` (host order) leaves: "on port b (connected)",
// "via 10.0.2.254 on port b", or the tunnel; empty without a route.
std::string route_text(const config::Policy& policy, const CompiledSnapshot& s, uint32_t address);

}  // namespace meshplane::ctrl
