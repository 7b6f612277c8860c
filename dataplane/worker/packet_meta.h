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
};

struct PacketMeta {
  PuntReason reason;
  uint8_t port;        // ingress port for kArp and kHost; egress port for kResolve and injected packets
  uint16_t reserved;
  uint32_t next_hop;   // kResolve: the next hop to resolve (host order)
  uint32_t flow;       // to the inspect stage: the flow's index in the worker's table
  uint8_t direction;   // to the inspect stage: 0 client to server, 1 back
  uint8_t unused[3];
};
static_assert(sizeof(PacketMeta) % RTE_MBUF_PRIV_ALIGN == 0);

inline PacketMeta& meta(rte_mbuf* m) { return *static_cast<PacketMeta*>(rte_mbuf_to_priv(m)); }

}  // namespace meshplane::dataplane
