// Everything one worker lcore owns. Only that worker writes it (the control
// thread reads `counters`).
#pragma once

#include <rte_common.h>
#include <rte_mbuf.h>

#include <atomic>
#include <cstdint>

#include "dataplane/worker/counters.h"
#include "dataplane/worker/graph.h"
#include "dataplane/worker/capacity.h"
#include "dataplane/worker/token_bucket.h"
#include "dataplane/worker/trace.h"

struct rte_ring;

namespace meshplane::dataplane {

class FlowTable;
class InspectState;
struct FlowLog;
class RateLimitState;
class BreakerState;
class GcmEngine;
struct SaCounters;
struct SaState;
class NeighbourTable;
class PortGate;
class SnapshotSlot;
struct EndpointCounters;
struct ServiceCounters;

// The load balancer's per-worker state (dataplane/stages/lb.cc).
struct LbWorker {
  FlowTable* flows = nullptr;  // null: this worker balances nothing
  ServiceCounters* services = nullptr;    // by service slot
  EndpointCounters* endpoints = nullptr;  // by endpoint slot
  // NAT source ports are split between workers, so the port of a reply names
  // the worker holding its flow; a reply that arrives elsewhere is handed to
  // that worker's ring (multi-producer, single consumer).
  rte_ring* const* handoff = nullptr;  // one ring per worker, by worker id
  uint16_t workers = 1;
  uint16_t nat_port_base = 1024;  // worker w owns [base + w * span, base + (w + 1) * span)
  uint16_t nat_port_span = 0;
  uint16_t nat_port_cursor = 0;  // next port (offset into the share) a new NAT flow tries first
  uint64_t now = 0;              // milliseconds (TSC based), refreshed every loop
  RateLimitState* limits = nullptr;  // shared by every worker; null: limits are not enforced
  BreakerState* breakers = nullptr;  // shared by every worker; null: circuit breakers are not enforced
  // Authorization changes: flows are checked against the new epoch in the background (lb_sweep_authorization).
  uint32_t authz_cursor = 0;  // next flow record to check
  uint16_t authz_swept = 0x100;  // the epoch every flow has been checked against (0x100: none yet)
};

// Encryption's per-worker state (dataplane/stages/esp_*.cc).
struct IpsecWorker {
  GcmEngine* gcm = nullptr;   // this worker's ipsec-mb manager; null: no SA is ever used here
  SaState* states = nullptr;  // by SA slot, shared by every worker
  SaCounters* sas = nullptr;  // this worker's, by SA slot
};

// Payload inspection's per-worker state (dataplane/stages/inspect.cc).
struct InspectWorker {
  InspectState* state = nullptr;  // null: this worker inspects nothing
  rte_ring* events = nullptr;     // worker -> control: InspectEventRecord (single producer, single consumer)
  TokenBucket bucket;             // events per second
};

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
  const PortGate* gate = nullptr;  // null: every port is open
  uint32_t open_ports = ~uint32_t{0};  // the gate's bits, read once per loop
  const std::atomic<bool>* stop = nullptr;
  WorkerCounters* counters = nullptr;
  LbWorker lb;
  IpsecWorker ipsec;
  InspectWorker inspect;
  rte_ring* access_log = nullptr;  // worker -> control: AccessLogRecord (single producer, single consumer)
  TokenBucket access_log_bucket;
  uint64_t access_log_rate = 0;  // rate the bucket was configured with
  TokenBucket icmp_errors;
  TokenBucket host_bucket;        // towards the exception path
  TokenBucket ike_bucket;         // towards the control thread's IKE daemon
  uint16_t ip_id = 0;             // identification for packets this worker originates
  uint16_t drop_count = 0;
  rte_mbuf* dropped[kRxBurst * 2];
  FlowLog* flow_log = nullptr;  // null: flows are not logged
  TraceControl* trace_control = nullptr;  // shared; null: packets are never traced
  rte_ring* trace_ring = nullptr;         // worker -> control: TraceRecord (single producer, single consumer)
  TraceMarks traced;                      // marked packets of the graph run under way
  TxQueue tx[kMaxPorts];
  Graph graph;  // the stages this worker runs, and their frames
};

}  // namespace meshplane::dataplane
