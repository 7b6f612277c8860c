// The TCP resets a gateway sends: for a segment nothing may answer (a VIP's
// port no service listens on, with unknown_port: reject), and to both ends of
// a connection payload inspection blocks.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace meshplane::dataplane {

// Turns a TCP segment into the RST that answers it (RFC 793, "Reset
// Generation"), addressed back to its sender, IP options dropped, checksums
// computed. Returns false, leaving the packet alone, for a segment that is
// itself a RST (never answered).
bool make_tcp_reset(rte_mbuf* m, uint16_t id);

// Makes `m` (its data: any single- or multi-segment packet, or an empty
// buffer) a RST from src:sport to dst:dport with sequence number `seq`
// (addresses, ports and seq in network order), behind room for an Ethernet
// header that routing fills in. Returns false, leaving it alone, if the
// buffer cannot hold one (a pool with tiny buffers).
bool write_tcp_reset(rte_mbuf* m, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq,
                     uint16_t id);

}  // namespace meshplane::dataplane
