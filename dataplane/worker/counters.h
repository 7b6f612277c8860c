// Per-worker counters: written only by their worker, read at any time by the
// control thread. A relaxed load+store pair compiles to a plain add (no lock
// prefix) and makes the concurrent read well-defined.
#pragma once

#include <rte_common.h>

#include <atomic>
#include <cstdint>

#include "dataplane/worker/counter_list.h"
#include "dataplane/worker/drop_reason.h"
#include "dataplane/worker/capacity.h"

namespace meshplane::dataplane {

class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  void set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct PortCounters {
  MESHPLANE_PORT_COUNTERS(MESHPLANE_COUNTER_MEMBER)
};

struct alignas(RTE_CACHE_LINE_SIZE) WorkerCounters {
  Counter drops[kDropReasonCount];
  PortCounters ports[kMaxPorts];
  MESHPLANE_WORKER_COUNTERS(MESHPLANE_COUNTER_MEMBER)

  void drop(DropReason r) { drops[static_cast<size_t>(r)].add(); }
  uint64_t dropped(DropReason r) const { return drops[static_cast<size_t>(r)].get(); }
};

MESHPLANE_COUNTER_TABLE(kPortCounters, PortCounters, MESHPLANE_PORT_COUNTERS)
MESHPLANE_COUNTER_TABLE(kWorkerCounters, WorkerCounters, MESHPLANE_WORKER_COUNTERS)

}  // namespace meshplane::dataplane
