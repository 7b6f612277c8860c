// The kEncrypt stage: packets the route stages sent into a peer's tunnel
// (the peer's index in m->hash.usr) get their TCP MSS clamped if the peer
// asks, a sequence number from the outbound SA, and are encapsulated and
// encrypted (dataplane/ipsec/esp.h). The result, from the gateway to the peer,
// goes on to kRouteEncrypted to be routed like any packet the gateway sends.
#pragma once

#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/graph.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

uint16_t esp_encrypt_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

}  // namespace meshplane::dataplane
