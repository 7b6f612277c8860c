// Flow logs: sampled records of connections starting and ending, handed to
// the control thread (which writes them as JSON lines) through a bounded
// ring per worker, behind a per-worker token bucket; a full ring or an
// empty bucket loses the record, counted, and never waits. Per-flow packet
// and byte counts live beside the flow table (the flow record is one full
// cache line), by flow index, only for sampled flows, and only when flow
// logs are configured: with them off, a packet pays one pointer test.
#pragma once

#include <rte_cycles.h>
#include <rte_ring_elem.h>

#include <cstdint>
#include <memory>

#include "dataplane/tables/flow_table.h"
#include "dataplane/worker/token_bucket.h"

namespace meshplane::dataplane {

enum class FlowLogEvent : uint8_t { kStart, kEnd };

// Why a flow ended.
enum class FlowEnd : uint8_t {
  kNone,          // (a start record)
  kClosed,        // FIN seen, then its closing time passed
  kReset,         // RST seen
  kIdle,          // nothing for its timeout
  kCut,           // a change of authorization denies it
  kReplaced,      // a new connection on its 5-tuple (port reuse), or its address changed role
  kEndpointGone,  // its endpoint was removed and drained
};

struct FlowLogRecord {
  FlowKey original;  // as the client sent it (network order)
  FlowKey reply;     // a two-way flow's reply key (after NAT: endpoint -> NAT address); one-way: its TunnelPath
  uint64_t start_ms, end_ms;  // worker clock (TSC milliseconds); end_ms 0 for a start record
  uint64_t packets, bytes;    // end records: both directions
  uint32_t service;   // slot; routed flows: 0
  uint32_t endpoint;  // slot, or kRoutedFlow
  FlowLogEvent event;
  FlowEnd reason;
  uint8_t keys;       // 2: two-way, 1: one-way (direct return)
  uint8_t pad[5];
};
static_assert(sizeof(FlowLogRecord) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

// One worker's flow-log state (owned by the daemon).
struct FlowLog {
  struct Counts {
    uint64_t start_ms = 0;  // 0: the flow in this slot is not sampled
    uint64_t packets = 0;
    uint64_t bytes = 0;
  };
  FlowLog(uint32_t flow_capacity, rte_ring* ring_, uint32_t sample_, uint64_t per_second)
      : counts(std::make_unique<Counts[]>(flow_capacity)), ring(ring_), sample(sample_) {
    bucket.configure(per_second, per_second / 10 + 1, rte_get_tsc_hz());
  }
  std::unique_ptr<Counts[]> counts;  // by flow index
  rte_ring* ring;                    // worker -> control (single producer, single consumer)
  uint32_t sample;                   // one flow in `sample`
  uint32_t seen = 0;                 // flows started on this worker, for sampling
  TokenBucket bucket;
};

}  // namespace meshplane::dataplane
