// Everything one worker lcore owns. Only that worker writes it (the control
// thread reads `counters`).
#pragma once

#include <rte_common.h>
#include <rte_mbuf.h>

#include <atomic>
#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/capacity.h"
#include "dataplane/token_bucket.h"

struct rte_ring;

namespace meshplane::dataplane {

class NeighbourTable;
class SnapshotSlot;

struct TxQueue {
  uint16_t count = 0;
  rte_mbuf* pkts[kTxBurst];
};

struct alignas(RTE_CACHE_LINE_SIZE) WorkerCtx {
  uint16_t worker_id = 0;  // also this worker's queue index on every port
  uint16_t port_count = 0;
  uint16_t dpdk_port[kMaxPorts] = {};
  rte_ring* punt_ring = nullptr;    // worker -> control (single producer, single consumer)
  rte_ring* inject_ring = nullptr;  // control -> worker: packets to transmit
  const NeighbourTable* neighbours = nullptr;
  SnapshotSlot* snapshots = nullptr;
  const std::atomic<bool>* stop = nullptr;
  WorkerCounters* counters = nullptr;
  TokenBucket icmp_errors;
  uint64_t icmp_bucket_rate = 0;  // rate the bucket was configured with, to follow snapshot changes
  uint16_t ip_id = 0;             // identification for packets this worker originates
  uint16_t drop_count = 0;
  rte_mbuf* dropped[kRxBurst * 2];
  TxQueue tx[kMaxPorts];
};

}  // namespace meshplane::dataplane
