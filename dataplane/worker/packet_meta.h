// What travels with a packet outside its headers, in the mbuf private area
// (the pool is created with priv_size = sizeof(PacketMeta)): why a packet was
// punted or where an injected one goes, and the flow of a packet on its way
// to the inspect stage. The fast path of uninspected packets never touches it.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace meshplane::dataplane {

enum class PuntReason : uint8_t {
  kArp = 1,      // ARP frame for the control thread's neighbour logic
  kResolve = 2,  // routed packet whose next hop has no neighbour entry yet
  kHost = 3,     // for the gateway's addresses, not served here: to the host's exception path (TAP)
  kIke = 4,      // IKE to the gateway's addresses (UDP 500, or 4500 with the non-ESP marker): to the IKE daemon
};

// Where the control thread's packets enter the pipeline.
enum class InjectAt : uint8_t {
  kEgress = 0,  // L2 header final, `port` the egress port
  kRoute = 1,   // an IPv4 packet the gateway originates (Ethernet header room in front): routed first
};

struct PacketMeta {
  PuntReason reason;
  uint8_t port;        // ingress port for kArp, kHost and kIke; egress port for kResolve and injected packets
  InjectAt inject_at;  // injected packets
  uint8_t reserved;
  uint32_t next_hop;   // kResolve: the next hop to resolve (host order)
  uint32_t flow;       // to the inspect stage: the flow's index in the worker's table
  uint8_t direction;   // to the inspect stage: 0 client to server, 1 back
  uint8_t unused[3];
};
static_assert(sizeof(PacketMeta) % RTE_MBUF_PRIV_ALIGN == 0);

inline PacketMeta& meta(rte_mbuf* m) { return *static_cast<PacketMeta*>(rte_mbuf_to_priv(m)); }

}  // namespace meshplane::dataplane
