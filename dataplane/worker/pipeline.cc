#include "dataplane/worker/pipeline.h"

#include <rte_ring.h>

#include <cstring>

#include "dataplane/worker/graph.h"
#include "dataplane/worker/packet_meta.h"

namespace meshplane::dataplane {

void pipeline_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf** pkts, uint16_t n) {
  Burst& in = w.graph.input(Stage::kParse);
  std::memcpy(in.pkts + in.n, pkts, n * sizeof(rte_mbuf*));
  in.n = static_cast<uint16_t>(in.n + n);
  w.graph.run(w, s, in_port);
}

uint16_t inject_process(WorkerCtx& w, const Snapshot& s) {
  rte_mbuf* pkts[kRxBurst];
  const unsigned n = rte_ring_sc_dequeue_burst(w.inject_ring, reinterpret_cast<void**>(pkts), kRxBurst, nullptr);
  if (n == 0) return 0;
  for (unsigned i = 0; i < n; ++i) {
    pkts[i]->port = meta(pkts[i]).port;
    w.graph.to(meta(pkts[i]).inject_at == InjectAt::kRoute ? Stage::kRouteOriginated : Stage::kEgress, pkts[i]);
  }
  w.counters->injected.add(n);
  w.graph.run(w, s, 0);  // only route-originated and egress have packets: neither reads the ingress port
  return static_cast<uint16_t>(n);
}

}  // namespace meshplane::dataplane
