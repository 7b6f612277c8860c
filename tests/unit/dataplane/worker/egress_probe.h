// A stage placed before tx in a worker's graph (the slot encryption will
// take): it records every packet that passes, then hands it to the egress
// stage. Tests use it to prove that no path reaches a port around it.
#pragma once

#include <gtest/gtest.h>

#include <set>

#include "dataplane/worker/graph.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::testing {

class EgressProbe {
 public:
  static void install(dataplane::WorkerCtx& w) {
    seen().clear();
    w.graph.place(dataplane::Stage::kEgress, stage);
  }

  // Every packet queued on any port passed the probe; `at_least` were queued.
  static ::testing::AssertionResult every_tx_passed(const dataplane::WorkerCtx& w, uint16_t at_least) {
    uint16_t queued = 0;
    for (uint16_t p = 0; p < w.port_count; ++p) {
      for (uint16_t i = 0; i < w.tx[p].count; ++i, ++queued)
        if (!seen().count(w.tx[p].pkts[i]))
          return ::testing::AssertionFailure() << "a packet on port " << p << " did not pass the stage before tx";
    }
    if (queued < at_least) return ::testing::AssertionFailure() << queued << " packets queued, expected " << at_least;
    return ::testing::AssertionSuccess();
  }

 private:
  static std::set<const rte_mbuf*>& seen() {
    static std::set<const rte_mbuf*> packets;
    return packets;
  }
  static uint16_t stage(dataplane::WorkerCtx& w, const dataplane::Snapshot& s, uint16_t in_port,
                        dataplane::Burst& in) {
    for (uint16_t i = 0; i < in.n; ++i) seen().insert(in.pkts[i]);
    return dataplane::egress_process(w, s, in_port, in);
  }
};

}  // namespace meshplane::testing
