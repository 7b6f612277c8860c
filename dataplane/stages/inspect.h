// Payload matching: the inspect stage feeds the in-order bytes of each
// inspected TCP connection (dataplane/inspect/segment_orderer.h) through a
// Hyperscan stream per direction, against the pattern set the connection was
// admitted with (a service's, or an authorization's), up to the set's
// inspect_bytes. Packets of such connections come here from lb (after NAT)
// and routed-authz and go on to route. A block pattern resets both ends and
// drops the packet that completed the match, and every later packet of the
// connection; an alert sends an event; a tag is counted. When inspection
// cannot go on (a hole the orderer cannot bridge, no state left), the set's
// on_failure decides: let the connection go uninspected, or reset it.
// Inspection that ends (both directions done) leaves the flow with one bit
// test per packet.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/tables/flow_table.h"
#include "dataplane/tables/snapshot.h"
#include "dataplane/worker/graph.h"
#include "dataplane/worker/packet_meta.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

enum class InspectEvent : uint8_t {
  kAlert,         // an alert pattern matched
  kBlock,         // a block pattern matched: the connection was reset
  kFailedClosed,  // inspection could not go on and the set fails closed: reset
};

// What a worker tells the control thread about a block or alert.
struct InspectEventRecord {
  FlowKey key[2];     // the flow's keys (original; reply, or the reversed original for routed flows)
  uint32_t pattern;   // its counter slot; kNoPattern for kFailedClosed
  uint32_t service;   // the flow's service slot (not routed flows)
  uint32_t set;       // slot
  InspectEvent kind;
  uint8_t direction;  // of the bytes that matched: 0 client to server
  uint8_t routed;
  uint8_t gap;        // kFailedClosed: 1 a hole in the stream, 0 no state left
  static constexpr uint32_t kNoPattern = ~uint32_t{0};
};
static_assert(sizeof(InspectEventRecord) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

// Before a flow is made for a new connection to be inspected with the set
// in slot `set_slot1 - 1` (0: none): false when no inspection state is left
// and the set fails closed, so the caller refuses the connection (counted here).
bool inspect_admits(WorkerCtx& w, const Snapshot& s, uint32_t set_slot1);
// Starts inspecting new flow `f` with that set; without state left (and a
// set that fails open) the connection goes uninspected, counted.
void inspect_begin(WorkerCtx& w, const Snapshot& s, uint32_t f, uint32_t set_slot1);

// Flow `f` (inspected) ends: its inspection state goes back to the pool.
void inspect_flow_ended(WorkerCtx& w, uint32_t f);

// Sends `m`, a packet of inspected flow `f` in `direction`, to the inspect stage.
inline void to_inspect(WorkerCtx& w, rte_mbuf* m, uint32_t f, uint8_t direction) {
  PacketMeta& pm = meta(m);
  pm.flow = f;
  pm.direction = direction;
  w.graph.to(Stage::kInspect, m);
}

uint16_t inspect_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

}  // namespace meshplane::dataplane
