#include "dataplane/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "dataplane/packet_meta.h"
#include "dataplane/pipeline.h"
#include "dataplane/snapshot_slot.h"
#include "dataplane/tx.h"

namespace meshplane::dataplane {
namespace {

// Packets the control thread wants on the wire (ARP, packets held while their
// next hop was resolved): this worker owns the transmit queue, so it sends them.
uint16_t transmit_injected(WorkerCtx& w) {
  rte_mbuf* pkts[kRxBurst];
  const unsigned n = rte_ring_sc_dequeue_burst(w.inject_ring, reinterpret_cast<void**>(pkts), kRxBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) tx_enqueue(w, meta(pkts[i]).port, pkts[i]);
  w.counters->injected.add(n);
  return static_cast<uint16_t>(n);
}

}  // namespace

int worker_main(void* arg) {
  WorkerCtx& w = *static_cast<WorkerCtx*>(arg);
  w.snapshots->worker_online(w.worker_id);
  rte_mbuf* pkts[kRxBurst];
  while (!w.stop->load(std::memory_order_relaxed)) {
    const uint64_t start = rte_rdtsc();
    const Snapshot& s = *w.snapshots->current();
    uint32_t work = 0;
    for (uint16_t p = 0; p < w.port_count; ++p) {
      const uint16_t n = rte_eth_rx_burst(w.dpdk_port[p], w.worker_id, pkts, kRxBurst);
      if (n == 0) continue;
      pipeline_process(w, s, p, pkts, n);
      work += n;
    }
    work += transmit_injected(w);
    tx_flush_all(w);
    w.snapshots->quiescent(w.worker_id);
    if (work) {
      w.counters->busy_cycles.add(rte_rdtsc() - start);
      w.counters->busy_polls.add();
    } else {
      w.counters->idle_polls.add();
    }
  }
  tx_flush_all(w);
  w.snapshots->worker_offline(w.worker_id);
  return 0;
}

}  // namespace meshplane::dataplane
