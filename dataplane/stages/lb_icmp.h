// ICMP errors about NATed flows (RFC 5508 section 7): a router between us and
// an endpoint that sends "fragmentation needed", "time exceeded" or an
// unreachable addresses it to our NAT address and quotes the packet as we
// rewrote it. We translate it back for the flow's client, so path-MTU
// discovery and unreachables work through the NAT.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

// Consumes `m` (relayed, handed to the worker owning the flow, or dropped)
// and returns true when it is an ICMP error about one of our NAT flows;
// false leaves it to the caller.
bool lb_relay_icmp_error(WorkerCtx& w, uint16_t in_port, rte_mbuf* m);

}  // namespace meshplane::dataplane
