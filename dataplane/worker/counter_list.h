// Every counter the data plane keeps, listed once (like the drop reasons in
// drop_reason.h). Each list generates the counter struct the workers write,
// the descriptors the control side walks to sum, reset and print them (stats
// file, meshctl, the gRPC stats message) and, later, to export them. A new
// counter is one line here.
//
// X(member, help, kind): kind is kCounter (only grows) or kGauge (a level).
#pragma once

#include <cstddef>

namespace meshplane::dataplane {

enum class CounterKind { kCounter, kGauge };

// Per worker; the gateway's totals are their sums.
#define MESHPLANE_WORKER_COUNTERS(X)                                                              \
  X(forwarded, "packets routed and queued for transmit", kCounter)                                \
  X(punted, "packets handed to the control thread (ARP, next hop to resolve)", kCounter)          \
  X(injected, "packets the control thread sent through this worker", kCounter)                    \
  X(icmp_echo_replies, "echo requests to the gateway answered", kCounter)                         \
  X(icmp_errors_sent, "ICMP errors the gateway originated", kCounter)                             \
  X(icmp_errors_suppressed, "ICMP errors not sent: rate limit or RFC 1812 4.3.2.7", kCounter)      \
  X(icmp_errors_relayed, "ICMP errors about NAT flows translated back to their clients", kCounter) \
  X(handed_off, "packets passed to the worker that owns their flow (NAT replies, routed connections)", kCounter) \
  X(access_logged, "records sent to the control thread: access rules with log, authorization audit rules", kCounter) \
  X(access_log_suppressed, "such records not sent: rate limit or queue full", kCounter) \
  X(flows, "flows in this worker's table", kGauge)                                                \
  X(nat_flows, "flows holding one of this worker's NAT ports (full-NAT connections)", kGauge)      \
  X(routed_flows, "routed connections tracked: allowed towards a destination with an authorization, or opened from one", kCounter) \
  X(routed_untracked, "routed connections allowed but not tracked (flow table full): decided per packet", kCounter) \
  X(routed_authz_audited, "routed connections an audit rule of a destination's authorization matched", kCounter) \
  X(routed_authz_cut, "open routed connections ended because a changed authorization denies them", kCounter) \
  X(flow_logged, "flow-log records sent to the control thread (flow starts and ends)", kCounter)    \
  X(flow_log_lost, "flow-log records not sent: over records_per_second, or the ring was full", kCounter) \
  X(exception_to_host, "packets for the gateway's addresses written to the host kernel (exception path)", kCounter) \
  X(exception_from_host, "frames the host kernel sent out through the exception path", kCounter) \
  X(inspect_events, "pattern block and alert events sent to the control thread", kCounter)          \
  X(inspect_events_lost, "pattern events not sent: over events_per_second, or the ring was full", kCounter) \
  X(trace_records_lost, "packet trace records not sent: the trace ring was full", kCounter)         \
  X(busy_cycles, "TSC cycles spent in loop iterations that had packets", kCounter)                \
  X(busy_polls, "loop iterations that had packets", kCounter)                                     \
  X(idle_polls, "loop iterations without packets", kCounter)                                     \
  X(authz_swept, "authorization epoch whose change this worker's flows have all been checked against", kGauge)

// Per worker and port.
#define MESHPLANE_PORT_COUNTERS(X)                                 \
  X(rx_packets, "packets received", kCounter)                      \
  X(rx_bytes, "bytes received", kCounter)                          \
  X(tx_packets, "packets the port took for transmit", kCounter)    \
  X(tx_bytes, "bytes the port took for transmit", kCounter)

// Per worker and service slot (their drops by reason come with them).
#define MESHPLANE_SERVICE_COUNTERS(X)                                                                    \
  X(new_flows, "connections (and UDP flows) scheduled to an endpoint", kCounter)                          \
  X(stateless_flows, "balanced without a flow entry (table full; direct return only)", kCounter)           \
  X(rescheduled, "new connections on a tracked 5-tuple whose flow had ended or lost its endpoint", kCounter) \
  X(packets, "packets, both directions", kCounter)                                                         \
  X(bytes, "bytes, both directions", kCounter)                                                             \
  X(authz_audited, "connections an audit rule of the service's authorization matched", kCounter)         \
  X(authz_cut, "open connections ended because a changed authorization denies them", kCounter)          \
  X(rate_limit_shared_sources, "new connections whose source shared a bucket with another active source (table full)", kCounter) \
  X(breaker_overflowed, "new connections sent to another endpoint because Maglev's pick was at its circuit breaker limits", kCounter)

// Per worker and endpoint slot.
#define MESHPLANE_ENDPOINT_COUNTERS(X)                                                      \
  X(new_flows, "connections (and UDP flows) scheduled to this endpoint", kCounter)          \
  X(active_flows, "open connections and UDP flows (not those closing)", kGauge)           \
  X(packets, "packets, both directions", kCounter)                                          \
  X(bytes, "bytes, both directions", kCounter)                                              \
  X(connect_failures, "TCP connections the endpoint refused (RST to the SYN) or never answered", kCounter) \
  X(connect_answers, "TCP connections the endpoint answered (SYN-ACK)", kCounter) \
  X(breaker_full, "new connections this endpoint's circuit breaker limits turned away (to another endpoint, or refused)", kCounter)

// Per worker and SA slot (dataplane/ipsec/sa.h).
#define MESHPLANE_SA_COUNTERS(X)                                                                  \
  X(packets, "packets encrypted (outbound) or decrypted and accepted (inbound)", kCounter)        \
  X(bytes, "bytes of those packets, inner IPv4 packet lengths", kCounter)                         \
  X(auth_failed, "inbound packets whose ICV did not verify (tampered, or the wrong key)", kCounter) \
  X(replayed, "inbound packets whose sequence number was already received", kCounter)             \
  X(outside_window, "inbound packets left of the replay window", kCounter)                        \
  X(exhausted, "outbound packets dropped: no sequence number left before a rekey", kCounter)

// Per pattern set (by its slot), in each worker that inspects.
#define MESHPLANE_PATTERN_SET_COUNTERS(X)                                                                  \
  X(connections, "connections whose payload was inspected with the set", kCounter)                      \
  X(bytes, "payload bytes scanned", kCounter)                                                            \
  X(completed, "directions inspected up to inspect_bytes (or to their end)", kCounter)                  \
  X(gaps, "directions whose inspection stopped at a hole in the byte stream", kCounter)                  \
  X(no_state, "connections not inspected: the worker had no inspection state left", kCounter)           \
  X(failed_closed, "connections reset because inspection could not go on (on_failure: block)", kCounter) \
  X(blocked, "connections reset by a block pattern", kCounter)                                           \
  X(switched, "connections moved to a changed version of the set mid-stream", kCounter)                  \
  X(active, "connections being inspected now", kGauge)

// What the control side knows of one counter of struct T.
template <typename T, typename C>
struct CounterInfo {
  const char* name;
  const char* help;
  CounterKind kind;
  C T::*member;
};

// The members of a counter struct, from its list.
#define MESHPLANE_COUNTER_MEMBER(id, help, kind) Counter id;

// `name`: the descriptors of struct `Owner`'s counters, from its list.
#define MESHPLANE_COUNTER_ENTRY(id, help, kind) {#id, help, CounterKind::kind, &CounterOwner::id},
#define MESHPLANE_COUNTER_TABLE(name, Owner, LIST)                                               \
  namespace name##_table {                                                                       \
  using CounterOwner = Owner;                                                                    \
  inline constexpr CounterInfo<Owner, Counter> entries[] = {LIST(MESHPLANE_COUNTER_ENTRY)};      \
  }                                                                                              \
  inline constexpr const auto& name = name##_table::entries;

}  // namespace meshplane::dataplane
