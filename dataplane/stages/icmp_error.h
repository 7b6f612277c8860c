// ICMP error messages (RFC 792, RFC 1812 4.3.2), built in place in the mbuf of
// the packet that caused them.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// Turns `m` (an IPv4 packet with its Ethernet header) into an ICMP error to
// its source and routes it. Returns false, leaving `m` to the caller, when
// RFC 1812 4.3.2.7 forbids an error for this packet or the rate limit is spent.
// `mtu` is the next-hop MTU for "fragmentation needed" (RFC 1191).
bool icmp_error(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m, uint8_t type, uint8_t code,
                uint16_t mtu);

// Counts `reason` for `m`, then turns it into the ICMP error when allowed and
// frees it otherwise. Consumes `m`.
void drop_with_icmp_error(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m, DropReason reason,
                          uint8_t type, uint8_t code, uint16_t mtu = 0);

}  // namespace meshplane::dataplane
