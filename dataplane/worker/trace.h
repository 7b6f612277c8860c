// Packet trace (`meshctl trace`), as VPP's: the control thread arms a count
// and a filter; a worker marks the next matching packets as it receives
// them and, for each, records every stage it enters (with its headers
// there, so rewrites show) and how it leaves: sent, dropped with a reason,
// handed to another worker, or punted. Records go to the control thread
// through a per-worker ring; a full ring loses records, counted.
//
// Cost when off: one load and branch per received burst (is a trace
// armed?), and one per burst run and per dropped packet (is this burst
// traced?). Marked packets are known by pointer for the length of one
// graph run, so nothing is stored in the mbuf.
#pragma once

#include <rte_mbuf.h>

#include <atomic>
#include <cstdint>

#include "dataplane/worker/drop_reason.h"
#include "dataplane/worker/graph.h"

namespace meshplane::dataplane {

struct WorkerCtx;

// Which packets to mark; a zero field matches anything.
struct TraceFilter {
  uint32_t source = 0, source_mask = 0;            // host order
  uint32_t destination = 0, destination_mask = 0;  // host order
  uint8_t protocol = 0;
  uint16_t port = 0;     // either L4 port (host order)
  uint16_t ingress = 0;  // 1 + the port it must arrive on
};

// Shared by the control thread and every worker.
struct TraceControl {
  std::atomic<int32_t> remaining{0};  // packets still to mark (all workers together); 0: off
  std::atomic<uint32_t> next_id{1};
  TraceFilter filter;  // written by the control thread only while remaining is 0, before it is set (release)
};

enum class TraceEvent : uint8_t {
  kReceived,   // port: the ingress port
  kStage,      // entered `stage`
  kSent,       // queued for transmit on `port`
  kDropped,    // `detail`: the DropReason
  kHandedOff,  // `detail`: the worker it went to
  kPunted,     // to the control thread (next hop to resolve, ARP)
};

// One event of one traced packet, with its IPv4 headers at that point.
struct TraceRecord {
  uint32_t packet;  // trace id, unique while the daemon runs
  uint8_t worker;
  TraceEvent event;
  Stage stage;
  uint8_t protocol;
  uint16_t port;
  uint16_t detail;
  uint32_t source, destination;  // network order
  uint16_t source_port, destination_port;  // network order; ICMP: type, code
  uint32_t spi;      // ESP (or ESP in UDP 4500): the SPI, network order; 0 otherwise
  uint16_t length;   // IPv4 total length
  uint8_t ttl;
  uint8_t pad;
};
static_assert(sizeof(TraceRecord) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

// The worker's marked packets in the graph run under way.
struct TraceMarks {
  uint16_t n = 0;
  rte_mbuf* pkts[kRxBurst];
  uint32_t ids[kRxBurst];
};

// At rx, when a trace is armed: marks the burst's packets the filter matches.
void trace_mark(WorkerCtx& w, uint16_t in_port, rte_mbuf* const* pkts, uint16_t n);
// During a traced run: the marked packets of `in` enter `st`.
void trace_stage(WorkerCtx& w, Stage st, const Burst& in);
// A marked packet left the graph (kSent, kDropped, kHandedOff, kPunted); unmarked ones are ignored.
void trace_left(WorkerCtx& w, rte_mbuf* m, TraceEvent how, uint16_t detail);

}  // namespace meshplane::dataplane
