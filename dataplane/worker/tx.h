// Transmit buffering and the one place packets are dropped.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {

void tx_flush(WorkerCtx& w, uint16_t port);
void tx_flush_all(WorkerCtx& w);

inline void tx_enqueue(WorkerCtx& w, uint16_t port, rte_mbuf* m) {
  TxQueue& q = w.tx[port];
  q.pkts[q.count++] = m;
  if (q.count == kTxBurst) tx_flush(w, port);
}

inline void free_dropped(WorkerCtx& w) {
  if (w.drop_count) {
    rte_pktmbuf_free_bulk(w.dropped, w.drop_count);
    w.drop_count = 0;
  }
}

// Frees a packet whose drop reason was already counted (freed in bulk later).
inline void discard(WorkerCtx& w, rte_mbuf* m) {
  w.dropped[w.drop_count++] = m;
  if (w.drop_count == RTE_DIM(w.dropped)) free_dropped(w);
}

// Every dropped packet passes here exactly once: one reason, one counter.
inline void drop(WorkerCtx& w, rte_mbuf* m, DropReason reason) {
  w.counters->drop(reason);
  if (w.traced.n) [[unlikely]] trace_left(w, m, TraceEvent::kDropped, static_cast<uint16_t>(reason));
  discard(w, m);
}

}  // namespace meshplane::dataplane
