// Stage 3: IPv4 forwarding (RFC 1812 5.3): TTL, route lookup, MTU, next-hop
// resolution and Ethernet rewrite, then transmit buffering.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/snapshot.h"
#include "dataplane/worker_ctx.h"

namespace meshplane::dataplane {

uint16_t forward_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf** pkts, uint16_t n);

// Routes one IPv4 packet (Ethernet header present, IP fields final) and queues it
// for transmit. `transit` packets get TTL handling and ICMP errors; packets the
// gateway originates (echo replies, ICMP errors) do not. Consumes `m`.
void route_packet(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m, bool transit);

}  // namespace meshplane::dataplane
