#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {

void tx_flush(WorkerCtx& w, uint16_t port) {
  TxQueue& q = w.tx[port];
  if (q.count == 0) return;
  if (!(w.open_ports >> port & 1)) {  // detached or link down: the port must not be touched
    for (uint16_t i = 0; i < q.count; ++i) drop(w, q.pkts[i], DropReason::kPortClosed);
    q.count = 0;
    return;
  }
  const uint16_t sent = rte_eth_tx_burst(w.dpdk_port[port], w.worker_id, q.pkts, q.count);
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < sent; ++i) bytes += q.pkts[i]->pkt_len;
  PortCounters& c = w.counters->ports[port];
  c.tx_packets.add(sent);
  c.tx_bytes.add(bytes);
  for (uint16_t i = sent; i < q.count; ++i) drop(w, q.pkts[i], DropReason::kTxQueueFull);
  q.count = 0;
}

void tx_flush_all(WorkerCtx& w) {
  for (uint16_t p = 0; p < w.port_count; ++p) tx_flush(w, p);
  free_dropped(w);
}

}  // namespace meshplane::dataplane
