// Stage 3: IPv4 forwarding (RFC 1812 5.3): TTL, route lookup, MTU, next-hop
// resolution and Ethernet rewrite, then transmit buffering.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/worker/graph.h"
#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// The kRoute stage: transit packets (Ethernet header present, IP fields
// final) get TTL handling and ICMP errors, are routed and rewritten, and are
// kept for egress (m->port: the egress port), or punted while their next hop
// is resolved. Packets routed to a peer's protected prefix go to kEncrypt.
uint16_t route_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);
// The kRouteOriginated stage: the same for packets the gateway originates
// (echo replies, ICMP errors, resets, tunnelled packets): no TTL decrement and
// no ICMP errors about them.
uint16_t route_originated_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);
// The kRouteEncrypted stage: the same for ESP the gateway sends to its peers,
// which never goes into a tunnel again; the next hop is the peer's, resolved
// when the snapshot was compiled (m->hash.usr), not looked up again.
uint16_t route_encrypted_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

}  // namespace meshplane::dataplane
