// The immutable state workers read: compiled by the control thread from a
// policy (ctrl/compile/snapshot_compiler), published through SnapshotSlot,
// never modified after publication. Flat arrays indexed by integers; what
// owns the shared tables (route table, Maglev slots) and the keys that let
// later snapshots reuse them live in the compiler's subclass.
#pragma once

#include <rte_ether.h>

#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/ipsec/sa.h"
#include "dataplane/tables/access_view.h"
#include "dataplane/tables/authz_view.h"
#include "dataplane/tables/circuit_breaker.h"
#include "dataplane/tables/inspect_view.h"
#include "dataplane/tables/lb_view.h"
#include "dataplane/tables/rate_limit.h"
#include "dataplane/worker/capacity.h"

struct rte_lpm;

namespace meshplane::dataplane {

struct PortView {
  rte_ether_addr mac{};
  uint16_t mtu = 1500;
  uint16_t dpdk_port = 0;
  uint32_t primary_address = 0;  // source of ICMP errors sent from this port
};
static_assert(sizeof(PortView) == 16);

struct LocalAddress {
  uint32_t address;    // host order
  uint32_t mask;       // its subnet
  uint32_t broadcast;  // directed broadcast of its subnet; 0 for a /31 or /32
  uint16_t port;
};
static_assert(sizeof(LocalAddress) == 16);

struct NextHop {
  uint32_t gateway;  // 0: connected, the destination itself is the next hop
  uint16_t port;
  uint16_t tunnel;   // 0: none; else 1 + the peer whose tunnel carries it (a protected prefix)
  uint16_t mtu;      // the largest packet that leaves this way: the port's MTU, or the tunnel's inner MTU
};
static_assert(sizeof(NextHop) == 12);

// A remote gateway as the encrypt stage needs it.
struct PeerView {
  uint32_t outbound_sa;  // index into Snapshot::outbound_sas; kNoOutboundSa: IKE has not keyed the tunnel yet
  uint32_t next_hop;     // index into Snapshot::next_hops: the route to the peer's address
  uint16_t inner_mtu;    // the largest inner packet that fits once encapsulated
  uint16_t tcp_mss;      // clamp SYNs entering the tunnel to this MSS; 0: no clamping
};
static_assert(sizeof(PeerView) == 12);
inline constexpr uint32_t kNoOutboundSa = ~uint32_t{0};

struct Snapshot {
  Snapshot() = default;
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  virtual ~Snapshot();  // the compiler's subclass releases the tables it shares

  uint64_t generation = 0;
  uint16_t port_count = 0;
  std::array<PortView, kMaxPorts> ports{};
  uint16_t min_mtu = 1500;  // smallest port MTU: packets up to it fit any egress
  std::vector<LocalAddress> local_addresses;
  std::vector<NextHop> next_hops;  // indexed by the LPM's next-hop value
  rte_lpm* routes = nullptr;  // next-hop index by destination; shared by snapshots with the same routes
  int32_t default_route = -1;  // next-hop index for 0.0.0.0/0 (rte_lpm takes depths 1..32 only)
  uint32_t icmp_errors_per_second = 1000;
  uint32_t icmp_errors_burst = 50;
  // Packets per second per worker to the host's exception path; 0: none (unserved traffic is dropped).
  uint32_t host_packets_per_second = 0;
  // IKE datagrams per second per worker to the control thread; 0: the policy has no ike (dropped).
  uint32_t ike_packets_per_second = 0;
  LbView lb;

  // Encryption between gateways (dataplane/stages/esp_*.cc).
  std::vector<PeerView> peers;
  std::vector<OutboundSa> outbound_sas;
  std::vector<InboundSa> inbound_sas;
  StaticMap inbound_by_spi;  // SPI (network order) -> index into inbound_sas

  // Access rules (dataplane/stages/access.cc).
  AccessView access;
  // Authorization of new connections to services (dataplane/stages/lb.cc).
  AuthzView authz;
  // Payload matching (dataplane/stages/inspect.cc).
  InspectView inspect;
  // Services' rate limits, by service slot (empty when no service has one).
  std::vector<RateLimitView> rate_limits;
  const RateLimitView* rate_limit(uint32_t slot) const {
    return slot < rate_limits.size() && rate_limits[slot].any() ? &rate_limits[slot] : nullptr;
  }

  // Services' circuit breakers, by service slot (empty when no service has one).
  std::vector<BreakerView> breakers;
  const BreakerView* breaker(uint32_t slot) const {
    return slot < breakers.size() && breakers[slot].configured ? &breakers[slot] : nullptr;
  }

  // Address owned by the gateway, or its subnet broadcast (checked by callers).
  const LocalAddress* local(uint32_t address) const {
    for (const auto& l : local_addresses)
      if (l.address == address) return &l;
    return nullptr;
  }
  // Next-hop index for `address`, or -1 without a route.
  int32_t route(uint32_t address) const;
  // 1 + the peer whose protected prefixes hold `address` (its route is that
  // peer's tunnel); 0: none. After the decrypt stage, a source behind a peer
  // arrived over that peer's SAs.
  uint16_t tunnel_of(uint32_t address) const {
    const int32_t nh = route(address);
    return nh < 0 ? 0 : next_hops[nh].tunnel;
  }
  bool directed_broadcast(uint32_t address) const {
    for (const auto& l : local_addresses)
      if (l.broadcast == address) return true;
    return false;
  }
};

}  // namespace meshplane::dataplane
