// The TCP reset a gateway sends for a segment nothing may answer (a VIP's
// port no service listens on, with unknown_port: reject).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace meshplane::dataplane {

// Turns a TCP segment into the RST that answers it (RFC 793, "Reset
// Generation"), addressed back to its sender, IP options dropped, checksums
// computed. Returns false, leaving the packet alone, for a segment that is
// itself a RST (never answered).
bool make_tcp_reset(rte_mbuf* m, uint16_t id);

}  // namespace meshplane::dataplane
