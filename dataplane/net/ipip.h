// IP-in-IP (RFC 2003): direct return tunnels a client's packet, unchanged but
// for its TTL, to the endpoint, which decapsulates it and answers the client
// itself.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace meshplane::dataplane {

// Wraps the IPv4 packet after `m`'s Ethernet header in an outer IPv4 header:
// protocol 4, DF and TOS copied from the inner header. Needs 20 bytes of
// headroom; returns false (packet untouched) without them.
bool ipip_encapsulate(rte_mbuf* m, uint32_t outer_src, uint32_t outer_dst, uint16_t id);

}  // namespace meshplane::dataplane
