// Expectations on what a worker queued for transmission.
#pragma once

#include <gtest/gtest.h>

#include "dataplane/worker/worker_ctx.h"

namespace meshplane::testing {

// The one packet queued on `port` of a two-port worker, expecting none on the other; null if none.
inline rte_mbuf* only_tx(const dataplane::WorkerCtx& w, uint16_t port) {
  EXPECT_EQ(w.tx[port].count, 1) << "port " << port;
  EXPECT_EQ(w.tx[1 - port].count, 0);
  return w.tx[port].count ? w.tx[port].pkts[0] : nullptr;
}

}  // namespace meshplane::testing
