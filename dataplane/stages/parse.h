// Stage 1: L2 and IPv4 validation (RFC 1812 5.2.2 and 5.3.7). Keeps valid IPv4
// packets, punts ARP to the control thread, drops the rest by reason.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/worker_ctx.h"

#include "dataplane/worker/packet_meta.h"

namespace meshplane::dataplane {

uint16_t parse_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf** pkts, uint16_t n);

// What is wrong with the IPv4 packet after `m`'s Ethernet header, or kCount
// when nothing is (then any padding after it is trimmed). Also used on
// packets that come out of a tunnel.
DropReason ipv4_problem(rte_mbuf* m);

// Hands a packet to the control thread; drops it if the ring is full.
void punt(WorkerCtx& w, rte_mbuf* m);
// The same for a packet that arrived on `in_port`, saying why.
void punt_received(WorkerCtx& w, rte_mbuf* m, PuntReason reason, uint16_t in_port);

}  // namespace meshplane::dataplane
