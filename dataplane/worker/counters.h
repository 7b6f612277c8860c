// Per-worker counters: written only by their worker, read at any time by the
// control thread. A relaxed load+store pair compiles to a plain add (no lock
// prefix) and makes the concurrent read well-defined.
#pragma once

#include <rte_common.h>

#include <atomic>
#include <bit>
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

// Receive bursts by size, a histogram of packets per poll: bucket b holds
// bursts of at most 2^b packets (1, 2, 4, ..., kRxBurst).
inline constexpr size_t kRxBurstBuckets = std::bit_width(unsigned{kRxBurst});
static_assert(std::has_single_bit(unsigned{kRxBurst}), "buckets end at kRxBurst");
inline size_t rx_burst_bucket(uint16_t n) { return std::bit_width(static_cast<unsigned>(n - 1)); }  // n >= 1

struct alignas(RTE_CACHE_LINE_SIZE) WorkerCounters {
  Counter drops[kDropReasonCount];
  PortCounters ports[kMaxPorts];
  Counter rx_bursts[kRxBurstBuckets];  // polls that received packets, by rx_burst_bucket()
  MESHPLANE_WORKER_COUNTERS(MESHPLANE_COUNTER_MEMBER)

  void drop(DropReason r) { drops[static_cast<size_t>(r)].add(); }
  uint64_t dropped(DropReason r) const { return drops[static_cast<size_t>(r)].get(); }
};

MESHPLANE_COUNTER_TABLE(kPortCounters, PortCounters, MESHPLANE_PORT_COUNTERS)
MESHPLANE_COUNTER_TABLE(kWorkerCounters, WorkerCounters, MESHPLANE_WORKER_COUNTERS)

}  // namespace meshplane::dataplane
