#include "dataplane/worker/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "dataplane/stages/lb.h"
#include "dataplane/worker/packet_meta.h"
#include "dataplane/worker/pipeline.h"
#include "dataplane/worker/port_gate.h"
#include "dataplane/tables/snapshot_slot.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {
namespace {

// NAT replies other workers received for flows this worker owns.
uint16_t process_handed_off(WorkerCtx& w, const Snapshot& s) {
  if (!w.lb.handoff) return 0;
  rte_mbuf* pkts[kRxBurst];
  const unsigned n =
      rte_ring_sc_dequeue_burst(w.lb.handoff[w.worker_id], reinterpret_cast<void**>(pkts), kRxBurst, nullptr);
  // A graph run takes one ingress port: regroup by the port each packet came in on.
  for (uint16_t done = 0, p = 0; done < n && p < w.port_count; ++p) {
    const uint16_t before = done;
    for (unsigned i = 0; i < n; ++i)
      if (meta(pkts[i]).port == p) {
        w.graph.to(Stage::kLb, pkts[i]);
        ++done;
      }
    if (done > before) w.graph.run(w, s, p);
  }
  return static_cast<uint16_t>(n);
}

// Flows examined for expiry per loop: enough to keep up with a million
// flows ending per second at a loop a microsecond, small enough not to show.
constexpr uint32_t kExpireBudget = 64;
// Flow records checked per loop after an authorization change: a million
// flows in 4,096 loops, milliseconds when idle.
constexpr uint32_t kSweepBudget = 256;

}  // namespace

int worker_main(void* arg) {
  WorkerCtx& w = *static_cast<WorkerCtx*>(arg);
  w.snapshots->worker_online(w.worker_id);
  const uint64_t tsc_per_ms = rte_get_tsc_hz() / 1000;
  while (!w.stop->load(std::memory_order_relaxed)) {
    const uint64_t start = rte_rdtsc();
    w.lb.now = start / tsc_per_ms;
    const Snapshot& s = *w.snapshots->current();
    if (w.gate) w.open_ports = w.gate->open_ports();
    uint32_t work = process_handed_off(w, s);
    for (uint16_t p = 0; p < w.port_count; ++p) {
      if (!(w.open_ports >> p & 1)) continue;
      Burst& rx = w.graph.input(Stage::kParse);  // received straight into the first stage's input
      rx.n = rte_eth_rx_burst(w.dpdk_port[p], w.worker_id, rx.pkts, kRxBurst);
      if (rx.n == 0) continue;
      w.counters->rx_bursts[rx_burst_bucket(rx.n)].add();
      work += rx.n;
      if (w.trace_control && w.trace_control->remaining.load(std::memory_order_acquire) > 0) [[unlikely]]
        trace_mark(w, p, rx.pkts, rx.n);
      w.graph.run(w, s, p);
      w.traced.n = 0;  // marks last one run
    }
    work += inject_process(w, s);
    tx_flush_all(w);
    lb_expire(w, kExpireBudget);
    lb_sweep_authorization(w, s, kSweepBudget);
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
