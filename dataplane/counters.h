// Per-worker counters: written only by their worker, read at any time by the
// control thread. A relaxed load+store pair compiles to a plain add (no lock
// prefix) and makes the concurrent read well-defined.
#pragma once

#include <rte_common.h>

#include <atomic>
#include <cstdint>

#include "dataplane/drop_reason.h"
#include "dataplane/capacity.h"

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
  Counter rx_packets;
  Counter rx_bytes;
  Counter tx_packets;
  Counter tx_bytes;
};

struct alignas(RTE_CACHE_LINE_SIZE) WorkerCounters {
  Counter drops[kDropReasonCount];
  PortCounters ports[kMaxPorts];
  Counter forwarded;
  Counter punted;
  Counter injected;            // packets the control thread sent through this worker
  Counter icmp_echo_replies;
  Counter icmp_errors_sent;
  Counter icmp_errors_suppressed;  // rate limit or RFC 1812 4.3.2.7 rules
  Counter icmp_errors_relayed;     // ICMP errors about NAT flows translated back to their clients
  Counter handed_off;          // NAT replies passed to the worker that owns their flow
  Counter flows;               // flows in this worker's table (a gauge)
  Counter busy_cycles;         // TSC cycles spent in iterations that had packets
  Counter busy_polls;
  Counter idle_polls;

  void drop(DropReason r) { drops[static_cast<size_t>(r)].add(); }
  uint64_t dropped(DropReason r) const { return drops[static_cast<size_t>(r)].get(); }
};

}  // namespace meshplane::dataplane
