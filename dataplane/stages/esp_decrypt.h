// The kDecrypt stage, right after parse: ESP (IP protocol 50, or UDP 4500 as
// RFC 3948 demultiplexes it) addressed to the gateway is checked against its
// inbound SA (SPI, replay window, ICV), decrypted, and its inner packet goes
// on through the rest of the pipeline (load balancing, local delivery,
// forwarding) if its source lies behind the SA's peer. Everything else passes
// untouched.
#pragma once

#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/graph.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

uint16_t esp_decrypt_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

}  // namespace meshplane::dataplane
