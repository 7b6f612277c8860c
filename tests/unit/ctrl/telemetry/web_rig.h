// The topology the telemetry tests share: a client on port a, one NAT
// service ("web", 10.30.0.10:80 -> 10.0.2.11:8080) behind port b, both
// neighbours known, so a SYN to the VIP leaves through port b.
#pragma once

#include <rte_ether.h>

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/worker_rig.h"

namespace meshplane::testing {

inline constexpr uint32_t kWebClient = 0x0a000102;    // 10.0.1.2
inline constexpr uint32_t kWebEndpoint = 0x0a00020b;  // 10.0.2.11
inline constexpr uint32_t kWebVip = 0x0a1e000a;       // 10.30.0.10
inline constexpr rte_ether_addr kWebClientMac{{2, 0, 0, 0, 1, 2}}, kWebEndpointMac{{2, 0, 0, 0, 2, 11}};

inline const std::string kWebPolicy = R"(ports:
  - {name: a, device: net_null0, addresses: [10.0.1.1/24]}
  - {name: b, device: net_null1, addresses: [10.0.2.1/24]}
services:
  - {name: web, vip: 10.30.0.10, ports: [{protocol: tcp, port: 80, target_port: 8080}], endpoints: [{address: 10.0.2.11}]}
)";

// A rig running kWebPolicy + `extra`, with the client's and the endpoint's MACs known.
inline std::unique_ptr<WorkerRig> web_rig(const std::string& extra = "") {
  auto rig = std::make_unique<WorkerRig>(kWebPolicy + extra);
  if (!rig->ok()) return rig;
  rig->neighbours.set(rig->neighbours.insert(0, kWebClient), dataplane::NeighbourState::kReachable, kWebClientMac);
  rig->neighbours.set(rig->neighbours.insert(1, kWebEndpoint), dataplane::NeighbourState::kReachable, kWebEndpointMac);
  return rig;
}

}  // namespace meshplane::testing
