// What travels with a punted or injected packet, in the mbuf private area
// (the pool is created with priv_size = sizeof(PacketMeta)). Only slow-path
// packets touch it.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace meshplane::dataplane {

enum class PuntReason : uint8_t {
  kArp = 1,      // ARP frame for the control thread's neighbour logic
  kResolve = 2,  // routed packet whose next hop has no neighbour entry yet
};

struct PacketMeta {
  PuntReason reason;
  uint8_t port;        // ingress port for kArp; egress port for kResolve and injected packets
  uint16_t reserved;
  uint32_t next_hop;   // kResolve: the next hop to resolve (host order)
};
static_assert(sizeof(PacketMeta) % RTE_MBUF_PRIV_ALIGN == 0);

inline PacketMeta& meta(rte_mbuf* m) { return *static_cast<PacketMeta*>(rte_mbuf_to_priv(m)); }

}  // namespace meshplane::dataplane
