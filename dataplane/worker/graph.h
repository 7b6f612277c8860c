// The packet path as a graph of stages, run a burst at a time (VPP's next
// nodes, DPDK l3fwd's burst style). A stage consumes its input burst: the
// packets it keeps, compacted at the front in their order, go on to its
// default next stage; any other packet goes to the input of a later stage it
// names (Graph::to), or leaves through one of the graph's exits: transmit
// (the egress stage), the one drop point (tx.h), a punt to the control
// thread, or a hand-off to another worker. Edges only point forward, so one
// pass in stage order runs everything a burst produces, including the packets
// stages originate (ICMP errors, TCP resets, echo replies, tunnelled packets:
// routed by kRouteOriginated, never TTL-decremented).
//
//   rx -> parse -> decrypt -> access -> lb -> routed-authz -> inspect -> local -> route --------> egress -> tx
//                               |         |         |              ^         |        |  \-> route-originated -^
//                               |         \---------+--------------/         |        |          ^   |
//                               |        (connections with a pattern set)    |        |          |   |
//                               \---------+---------+-------------------------+--------+----------/   |
//                                 (errors, resets, replies)                           \-> encrypt -> route-encrypted
//                                                          (both route stages send tunnel traffic to encrypt)
//
// Packets of connections under payload inspection go from lb (after NAT) or
// routed-authz to inspect, and from there to route (inspect's default next).
//
// Packets the control thread injects (ARP, packets held while their next hop
// was resolved) enter at egress. Kept packets move on by handing the burst
// over, not by copying it, unless the next stage already has packets.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/worker/capacity.h"

namespace meshplane::dataplane {

struct Snapshot;
struct WorkerCtx;

enum class Stage : uint8_t {
  kParse,            // L2 and IPv4 validation (dataplane/stages/parse.cc)
  kDecrypt,          // ESP to the gateway: verified, decrypted, inner packet on (dataplane/stages/esp_decrypt.cc)
  kAccess,           // access rules: allow, deny or reject (dataplane/stages/access.cc)
  kLb,               // load balancing and NAT (dataplane/stages/lb.cc)
  kRoutedAuthz,      // routed connections to destinations with an authorization (dataplane/stages/routed_authz.cc)
  kInspect,          // payload of connections with a pattern set: Hyperscan streams (dataplane/stages/inspect.cc)
  kLocal,            // to the gateway itself (dataplane/stages/local.cc)
  kRoute,            // transit: TTL, route, MTU, neighbour, L2 rewrite (dataplane/stages/forward.cc)
  kRouteOriginated,  // packets the gateway originates: routed without TTL handling or ICMP errors
  kEncrypt,          // routed into a peer's tunnel: ESP encapsulation (dataplane/stages/esp_encrypt.cc)
  kRouteEncrypted,   // the ESP packets to peers: routed as the gateway's own
  kEgress,           // routed, L2 header final, m->port the egress port: the last stop before tx
  kCount,
};
inline constexpr size_t kStageCount = static_cast<size_t>(Stage::kCount);

// A stage's input for one pass. A burst of kRxBurst packets yields at most
// that many packets into any one input (each packet is in one place at a time).
struct Burst {
  uint16_t n = 0;
  rte_mbuf* pkts[kRxBurst];
};

// Consumes every packet of `in`; returns how many it kept, compacted at the
// front of in.pkts, for its default next stage. `in_port`: the port the burst
// came in on.
using StageFn = uint16_t (*)(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

// The stages in order, their default next stages and their inputs. A
// worker's graph is its own.
class Graph {
 public:
  Graph();  // the product's stages in their slots

  Burst& input(Stage st) { return storage_[input_[static_cast<size_t>(st)]]; }
  void to(Stage next, rte_mbuf* m) {
    Burst& b = input(next);
    b.pkts[b.n++] = m;
  }
  // Replaces the function in a slot (a test's probe, a later stage).
  void place(Stage st, StageFn fn) { stage_[static_cast<size_t>(st)] = fn; }

  // Runs every stage that has packets, in order, until all inputs are empty.
  void run(WorkerCtx& w, const Snapshot& s, uint16_t in_port);

 private:
  template <bool kTraced>
  void run_stages(WorkerCtx& w, const Snapshot& s, uint16_t in_port);

  StageFn stage_[kStageCount];
  Stage next_[kStageCount];
  uint8_t input_[kStageCount];  // which of storage_ is each stage's input (indices: a graph may be copied)
  Burst storage_[kStageCount];
};

// The egress stage: queues each packet for transmit on its port (m->port).
uint16_t egress_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in);

}  // namespace meshplane::dataplane
