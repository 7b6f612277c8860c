// The one list of reasons a packet is dropped. It feeds the per-worker counters,
// the stats output and (later) meshctl and Prometheus: add a reason here and it
// appears everywhere. Names are stable: they are metric label values.
#pragma once

#include <cstddef>
#include <cstdint>

namespace meshplane::dataplane {

#define MESHPLANE_DROP_REASONS(X)                                                               \
  X(kShortFrame, "short_frame", "frame shorter than the headers it carries")                    \
  X(kL2NotForUs, "l2_not_for_us", "destination MAC is neither the port's nor broadcast")        \
  X(kUnsupportedEthertype, "unsupported_ethertype", "not IPv4 or ARP (VLAN tags included)")     \
  X(kIpv6Unsupported, "ipv6_unsupported", "IPv6 is not forwarded yet")                          \
  X(kArpMalformed, "arp_malformed", "ARP packet that is not Ethernet/IPv4 or is truncated")     \
  X(kArpNotForUs, "arp_not_for_us", "ARP request for an address that is not ours")              \
  X(kBadIpv4Version, "bad_ipv4_version", "IP version field is not 4")                           \
  X(kBadIpv4HeaderLength, "bad_ipv4_header_length", "IHL below 5 or beyond the frame")          \
  X(kBadIpv4TotalLength, "bad_ipv4_total_length", "total length below IHL or beyond the frame") \
  X(kBadIpv4Checksum, "bad_ipv4_checksum", "IPv4 header checksum does not verify")              \
  X(kMartianSource, "martian_source", "source is 0/8, loopback, multicast or broadcast")        \
  X(kMartianDestination, "martian_destination", "destination is 0/8 or loopback")               \
  X(kBroadcastOrMulticast, "broadcast_or_multicast", "IPv4 broadcast or multicast")             \
  X(kTtlExpired, "ttl_expired", "TTL would reach zero (ICMP time exceeded sent)")               \
  X(kNoRoute, "no_route", "no route to the destination (ICMP unreachable sent)")                \
  X(kFragmentationNeeded, "fragmentation_needed", "larger than the egress MTU")                 \
  X(kNeighbourUnresolved, "neighbour_unresolved", "next hop's MAC is not resolved (yet)")       \
  X(kNeighbourQueueFull, "neighbour_queue_full", "too many packets waiting for one next hop")   \
  X(kNeighbourTableFull, "neighbour_table_full", "no room for another neighbour entry")         \
  X(kLocalNotServed, "local_not_served", "addressed to the gateway; no local service for it")   \
  X(kBadIcmp, "bad_icmp", "ICMP message to the gateway is truncated or fails its checksum")     \
  X(kPuntRingFull, "punt_ring_full", "control thread's queue from this worker is full")         \
  X(kInjectRingFull, "inject_ring_full", "worker's queue from the control thread is full")      \
  X(kTxQueueFull, "tx_queue_full", "the port's transmit queue did not take the packet")                 \
  X(kPortClosed, "port_closed", "the egress port is detached or its link is down (not polled)")           \
  X(kHandoffRingFull, "handoff_ring_full", "the worker owning a NAT port did not take a reply handed to it")  \
  X(kEspNoSa, "esp_no_sa", "ESP to the gateway with an SPI no inbound SA has")                               \
  X(kEspMalformed, "esp_malformed", "ESP packet too short, misaligned, or with a bad trailer")              \
  X(kEspAuthFailed, "esp_auth_failed", "ESP ICV does not verify (tampered, or the wrong key)")              \
  X(kEspReplayed, "esp_replayed", "ESP sequence number already received")                                   \
  X(kEspOutsideWindow, "esp_outside_window", "ESP sequence number left of the replay window")              \
  X(kEspSelectorMismatch, "esp_selector_mismatch", "decrypted packet's source is outside the peer's prefixes")  \
  X(kEspNotIpv4, "esp_not_ipv4", "decrypted payload is not a valid IPv4 packet")                             \
  X(kEspSequenceExhausted, "esp_sequence_exhausted", "outbound SA used up its sequence numbers or lifetime (rekey)") \
  X(kEspSaExpired, "esp_sa_expired", "inbound SA past its hard lifetime")                                       \
  X(kEspNoRoom, "esp_no_room", "no room in the buffer for the ESP headers and trailer")                      \
  X(kIkeNotServed, "ike_not_served", "IKE (UDP 500, or 4500 with the non-ESP marker) and the policy has no ike")  \
  X(kIkeLimited, "ike_limited", "IKE to the control thread over its per-worker rate (a flood)")           \
  X(kEspNoOutboundSa, "esp_tunnel_down", "routed into a peer's tunnel before IKE keyed it (no outbound SA)")  \
  X(kNatKeepalive, "nat_keepalive", "NAT-T keepalive (RFC 3948): consumed, not an error")                  \
  X(kEspCleartextFromPeer, "esp_cleartext_from_peer", "cleartext from a source behind a peer: it must arrive encrypted") \
  X(kAccessDenied, "access_denied", "an access rule (or the access default) denies it")                     \
  X(kAccessRejected, "access_rejected", "an access rule rejects it (TCP RST or ICMP prohibited sent)")        \
  X(kExceptionLimited, "exception_limited", "for the host's exception path, over its packets_per_second")  \
  X(kExceptionQueueFull, "exception_queue_full", "the host kernel's TAP queue did not take a packet for it")  \
  X(kPatternBlocked, "pattern_blocked", "a block pattern matched the connection's bytes (reset both ways), or a later packet of it") \
  X(kInspectFailed, "inspect_failed", "inspection could not go on (a gap, no state left) and the pattern set fails closed") \
  /* Load-balancer reasons last, in this order: services count them too (lb_counters.h). */                  \
  X(kVipUnknownPort, "vip_unknown_port", "to a VIP on a protocol or port no service listens on")             \
  X(kVipFragment, "vip_fragment", "IPv4 fragment to a VIP (not reassembled, so not balanced)")              \
  X(kNoEndpoint, "no_endpoint", "the service (or the flow's subset) has no endpoint with a weight")         \
  X(kNoFlowState, "no_flow_state", "TCP segment other than SYN for a NAT service and no tracked flow")      \
  X(kFlowTableFull, "flow_table_full", "a new NAT flow and no room to track it")                           \
  X(kNatPortsExhausted, "nat_ports_exhausted", "no free NAT source port towards that endpoint")           \
  X(kEndpointGone, "endpoint_gone", "the flow's endpoint was removed and its drain time is over")            \
  X(kAuthzDenied, "authz_denied", "the service's authorization denies the connection (or cut it after a change)") \
  X(kRateLimited, "rate_limited", "over one of the service's rate limits (connections, packets, or per source)") \
  X(kCircuitOpen, "circuit_open", "a new connection over its service's circuit breaker, or every endpoint tried was at its own (refused: TCP RST or ICMP prohibited)")

enum class DropReason : uint8_t {
#define MESHPLANE_X(id, name, help) id,
  MESHPLANE_DROP_REASONS(MESHPLANE_X)
#undef MESHPLANE_X
      kCount
};

constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);
constexpr size_t kFirstLbDropReason = static_cast<size_t>(DropReason::kVipUnknownPort);
constexpr size_t kLbDropReasonCount = kDropReasonCount - kFirstLbDropReason;

struct DropReasonInfo {
  const char* name;
  const char* help;
};

inline constexpr DropReasonInfo kDropReasons[kDropReasonCount] = {
#define MESHPLANE_X(id, name, help) {name, help},
    MESHPLANE_DROP_REASONS(MESHPLANE_X)
#undef MESHPLANE_X
};

}  // namespace meshplane::dataplane
