#include "dataplane/stages/lb.h"

#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/stages/authorize.h"
#include "dataplane/stages/circuit_breakers.h"
#include "dataplane/stages/flow_accounting.h"
#include "dataplane/stages/l4_header.h"
#include "dataplane/stages/icmp_error.h"
#include "dataplane/stages/inspect.h"
#include "dataplane/net/icmp_types.h"
#include "dataplane/net/ipip.h"
#include "dataplane/net/l4_rewrite.h"
#include "dataplane/worker/lb_counters.h"
#include "dataplane/stages/lb_icmp.h"
#include "dataplane/stages/access.h"
#include "dataplane/stages/rate_limits.h"
#include "dataplane/stages/nat.h"
#include "dataplane/stages/nat_handoff.h"
#include "dataplane/worker/packet_meta.h"
#include "dataplane/net/tcp_flags.h"
#include "dataplane/net/tcp_reset.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);

struct Candidate {
  rte_mbuf* m;
  rte_ipv4_hdr* ip;
  void* l4;
  FlowKey key;
  uint8_t tcp_flags;
  uint32_t vip_service;  // index into LbView::services; StaticMap::kMissing: to one of our
                         // addresses instead, possibly a NAT reply
  // Planned for a packet to a VIP without a flow (plan_new_flows):
  uint32_t listener;         // index into LbView::listeners; StaticMap::kMissing: unknown port
  uint32_t hash;             // FlowTable::hash(key), from lookup_burst
  const LbEndpoint* endpoint;  // Maglev's pick; null when the subset has no endpoint
  uint16_t nat_offset;       // full NAT: the port (offset into this worker's share) to try first
};


// Turns TCP segment `m` into a RST back to its sender, counted as dropped for
// `why`; false (m untouched) when it cannot.
bool answer_with_reset(WorkerCtx& w, rte_mbuf* m, DropReason why) {
  if (m->nb_segs != 1 || !make_tcp_reset(m, w.ip_id++)) return false;
  w.counters->drop(why);
  w.graph.to(Stage::kRouteOriginated, m);
  return true;
}

// A TCP segment from the endpoint of NAT flow `f`, whose endpoint is gone
// (or out, with on_unhealthy: reset), becomes a RST to the client from the
// VIP at the segment's number (NAT leaves sequence numbers alone), so the
// client learns at once instead of waiting on a connection nobody serves.
// (A client's own segment is answered with answer_with_reset.)
bool reset_client(WorkerCtx& w, const Candidate& c, const Flow& f) {
  if (f.keys != 2) return false;
  const FlowKey& client = f.key[0];
  const uint32_t seq = static_cast<const rte_tcp_hdr*>(c.l4)->sent_seq;
  if (!write_tcp_reset(c.m, client.dst_addr, client.src_addr, client.dst_port, client.src_port, seq, w.ip_id++))
    return false;
  w.counters->drop(DropReason::kEndpointGone);
  w.graph.to(Stage::kRouteOriginated, c.m);
  return true;
}

void count_drop(WorkerCtx& w, const LbService* svc, rte_mbuf* m, DropReason r) {
  if (svc) w.lb.services[svc->slot].drop(r);
  drop(w, m, r);
}

// A packet over one of its service's rate limits: dropped, or rejected.
void over_limit(WorkerCtx& w, const Snapshot& s, uint16_t in_port, const RateLimitView& limit, uint32_t slot,
                rte_mbuf* m) {
  w.lb.services[slot].drop(DropReason::kRateLimited);
  if (limit.reject)
    reject_packet(w, s, in_port, m, DropReason::kRateLimited);
  else
    drop(w, m, DropReason::kRateLimited);
}

// Direct return: decrement the inner TTL as the router we are, then wrap.
void encapsulate(WorkerCtx& w, const Snapshot& s, uint16_t in_port, const Candidate& c, uint32_t outer_src,
                 uint32_t endpoint, uint16_t mtu) {
  rte_ipv4_hdr* ip = c.ip;
  if (ip->time_to_live <= 1) {
    drop_with_icmp_error(w, s, in_port, c.m, DropReason::kTtlExpired, kIcmpTimeExceeded, 0);
    return;
  }
  if (rte_be_to_cpu_16(ip->total_length) + sizeof(rte_ipv4_hdr) > mtu) {
    if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG))
      drop_with_icmp_error(w, s, in_port, c.m, DropReason::kFragmentationNeeded, kIcmpDestUnreachable,
                           kIcmpFragmentationNeeded, static_cast<uint16_t>(mtu - sizeof(rte_ipv4_hdr)));
    else
      drop(w, c.m, DropReason::kFragmentationNeeded);
    return;
  }
  decrement_ttl(ip);
  if (!ipip_encapsulate(c.m, outer_src, endpoint, w.ip_id++)) {
    drop(w, c.m, DropReason::kShortFrame);  // no headroom: cannot happen with our pools
    return;
  }
  w.graph.to(Stage::kRouteOriginated, c.m);
}

// NAT: both directions rewritten from the flow's two keys, then routed.
void translate(WorkerCtx& w, const Snapshot& s, uint16_t in_port, const Candidate& c, const Flow& f,
               uint8_t direction) {
  if (c.ip->time_to_live <= 1) {  // before the rewrite, so the error quotes what the sender sent
    drop_with_icmp_error(w, s, in_port, c.m, DropReason::kTtlExpired, kIcmpTimeExceeded, 0);
    return;
  }
  const FlowKey& original = f.key[0];
  const FlowKey& reply = f.key[1];
  // Likewise the MTU of the way out: routing would check it after the
  // rewrite and address "fragmentation needed" to our own NAT address, and the
  // sender would never learn its path MTU.
  const uint16_t len = rte_be_to_cpu_16(c.ip->total_length);
  if (len > s.min_mtu) {
    const uint32_t to = direction == 0 ? reply.src_addr : original.src_addr;
    const int32_t nh = s.route(rte_be_to_cpu_32(to));
    const uint16_t mtu = nh < 0 ? len : s.ports[s.next_hops[nh].port].mtu;
    if (len > mtu) {
      if (c.ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG))
        drop_with_icmp_error(w, s, in_port, c.m, DropReason::kFragmentationNeeded, kIcmpDestUnreachable,
                             kIcmpFragmentationNeeded, mtu);
      else
        drop(w, c.m, DropReason::kFragmentationNeeded);
      return;
    }
  }
  if (direction == 0)
    rewrite_tuple(c.ip, c.l4, c.key.proto, reply.dst_addr, reply.dst_port, reply.src_addr, reply.src_port);
  else
    rewrite_tuple(c.ip, c.l4, c.key.proto, original.dst_addr, original.dst_port, original.src_addr,
                  original.src_port);
  if (f.inspected) [[unlikely]]
    to_inspect(w, c.m, static_cast<uint32_t>(&f - &w.lb.flows->flow(0)), direction);
  else
    w.graph.to(Stage::kRoute, c.m);
}

void count_packet(WorkerCtx& w, uint32_t service_slot, uint32_t endpoint_slot, const rte_mbuf* m) {
  EndpointCounters& e = w.lb.endpoints[endpoint_slot];
  e.packets.add();
  e.bytes.add(m->pkt_len);
  ServiceCounters& sc = w.lb.services[service_slot];
  sc.packets.add();
  sc.bytes.add(m->pkt_len);
}

// A packet that opens a connection (a SYN, or any UDP datagram) to a VIP on
// a tracked 5-tuple whose flow cannot carry it is scheduled afresh on the
// running policy, as IPVS does with conn_reuse_mode and expire_nodest_conn:
// a SYN after the old connection began to close (FIN or RST seen: the client
// reused its port), or a SYN or datagram whose endpoint is gone. The flow's
// record is already loaded here, so the common case pays one flag test.
bool reopens(const Candidate& c, FlowTable::Hit hit, const Flow& f, bool endpoint_live) {
  if (hit.direction != 0 || c.vip_service == StaticMap::kMissing) return false;
  if (c.key.proto == IPPROTO_UDP) return !endpoint_live;
  return starts_connection(c.tcp_flags) && (!is_open(f.state) || !endpoint_live);
}

// A packet of a flow whose endpoint is gone (its drain over) or out (with
// on_unhealthy: reset): the client is told with a RST, the flow forgotten.
[[gnu::cold, gnu::noinline]] void endpoint_gone(WorkerCtx& w, const Candidate& c, FlowTable::Hit hit) {
  const Flow& f = w.lb.flows->flow(hit.flow);
  w.lb.services[f.service].drop(DropReason::kEndpointGone);
  const bool tcp = c.key.proto == IPPROTO_TCP && !(c.tcp_flags & kTcpRst);
  if (tcp && hit.direction == 1 && reset_client(w, c, f)) {
    // Kept a moment (reset state) so that the client's answer, should it
    // not take this RST (RFC 5961's challenge ACK), is answered exactly.
    touch_flow(w, hit.flow, 1, kTcpRst, 0);
    return;
  }
  if (!tcp || hit.direction == 1 || !answer_with_reset(w, c.m, DropReason::kEndpointGone))
    drop(w, c.m, DropReason::kEndpointGone);
  forget_flow(w, hit.flow, FlowEnd::kEndpointGone);
}

// false: the flow was forgotten so that the packet opens a new one (reopens()).
[[gnu::always_inline]] inline bool established(WorkerCtx& w, const Snapshot& s, uint16_t in_port, const Candidate& c,
                                                FlowTable::Hit hit) {
  Flow& f = w.lb.flows->flow(hit.flow);
  if (f.routed()) [[unlikely]] {  // the address became a VIP or the gateway's after the flow was made
    forget_flow(w, hit.flow, FlowEnd::kReplaced);
    return false;
  }
  if (f.authz_epoch != s.authz.epoch && !reauthorize(w, s, f)) [[unlikely]] {
    w.lb.services[f.service].drop(DropReason::kAuthzDenied);
    forget_flow(w, hit.flow, FlowEnd::kCut);
    drop(w, c.m, DropReason::kAuthzDenied);
    return true;
  }
  const bool live = s.lb.live(f.endpoint);
  if ((c.tcp_flags & kTcpSyn || !live) && reopens(c, hit, f, live)) {
    w.lb.services[f.service].rescheduled.add();
    forget_flow(w, hit.flow, FlowEnd::kReplaced);  // both keys: its NAT tuple cannot catch the new connection's replies
    return false;
  }
  if (hit.direction == 0) {
    if (const RateLimitView* limit = s.rate_limit(f.service); limit && !admit_packet(w, *limit, f.service)) {
      over_limit(w, s, in_port, *limit, f.service, c.m);
      return true;
    }
  }
  if (!live) [[unlikely]] {
    endpoint_gone(w, c, hit);
    return true;
  }
  count_packet(w, f.service, f.endpoint, c.m);
  if (f.keys == 1) {
    // One-way (direct return) flow: the client's ACK is the evidence that the endpoint answered.
    const bool answered = (c.tcp_flags & (kTcpAck | kTcpSyn)) == kTcpAck;
    touch_flow(w, hit.flow, answered ? 1 : 0, c.tcp_flags, c.m->pkt_len);
    const TunnelPath tunnel = f.tunnel();
    encapsulate(w, s, in_port, c, tunnel.outer_source, tunnel.endpoint, tunnel.egress_mtu);
    return true;
  }
  if (hit.direction == 1 && f.state == FlowState::kSynSent) [[unlikely]]  // the endpoint's answer to a SYN
    count_connect(w.lb.endpoints[f.endpoint], c.tcp_flags);
  touch_flow(w, hit.flow, hit.direction, c.tcp_flags, c.m->pkt_len);
  translate(w, s, in_port, c, f, hit.direction);
  return true;
}

void unknown_port(WorkerCtx& w, const Snapshot& s, uint16_t in_port, const Candidate& c) {
  const LbService& svc = s.lb.services[c.vip_service];
  w.lb.services[svc.slot].drop(DropReason::kVipUnknownPort);
  if (svc.reject_unknown_port) {
    if (c.key.proto == IPPROTO_UDP) {
      drop_with_icmp_error(w, s, in_port, c.m, DropReason::kVipUnknownPort, kIcmpDestUnreachable,
                           kIcmpPortUnreachable);
      return;
    }
    if (answer_with_reset(w, c.m, DropReason::kVipUnknownPort)) return;
  }
  drop(w, c.m, DropReason::kVipUnknownPort);
}

// Picks a subset by weight, then an endpoint by Maglev, both from the flow's hash.
const LbEndpoint* choose(const LbView& lb, const LbService& svc, uint32_t h) {
  const LbSubset* subset = &lb.subset(svc, 0);
  if (svc.subset_count > 1) {
    if (svc.subset_weight_total == 0) return nullptr;
    // An odd multiply decorrelates the subset pick from the Maglev slot (both use high bits).
    uint32_t pick = static_cast<uint32_t>((uint64_t{h * 0x9E3779B1u} * svc.subset_weight_total) >> 32);
    for (const LbSubset* end = subset + svc.subset_count; subset + 1 < end && pick >= subset->weight; ++subset)
      pick -= subset->weight;
  }
  if (subset->size == 0) return nullptr;
  return &lb.endpoint(svc, subset->lookup(h));
}

void new_flow(WorkerCtx& w, const Snapshot& s, uint16_t in_port, const Candidate& c) {
  if (c.listener == StaticMap::kMissing) {
    unknown_port(w, s, in_port, c);
    return;
  }
  const LbListener& listener = s.lb.listeners[c.listener];
  const LbService& svc = s.lb.services[listener.service];
  const bool tcp = c.key.proto == IPPROTO_TCP;
  const bool syn = starts_connection(c.tcp_flags);
  // Mid-stream TCP without state cannot be NATed: the endpoint would see a
  // new source port and reset it. Direct return can pick it up (Maglev gives
  // the same endpoint while the set is unchanged), as Katran does.
  if (tcp && !syn && !svc.direct_return) {
    count_drop(w, &svc, c.m, DropReason::kNoFlowState);
    return;
  }
  uint32_t inspect = svc.inspect;  // an authorization's rule may name another set
  if (const uint32_t policy = s.authz.policy_of(svc.slot);
      policy && !authorize(w, s, policy, svc.slot, c.key, &inspect)) {
    count_drop(w, &svc, c.m, DropReason::kAuthzDenied);
    return;
  }
  if (inspect && tcp && !inspect_admits(w, s, inspect)) [[unlikely]] {
    count_drop(w, &svc, c.m, DropReason::kInspectFailed);
    return;
  }
  if (const RateLimitView* limit = s.rate_limit(svc.slot);
      limit && !(admit_packet(w, *limit, svc.slot) && admit_connection(w, *limit, svc.slot, c.key.src_addr))) {
    over_limit(w, s, in_port, *limit, svc.slot, c.m);
    return;
  }
  const uint32_t h = c.hash;
  const LbEndpoint* ep = c.endpoint;
  if (!ep) {
    count_drop(w, &svc, c.m, DropReason::kNoEndpoint);
    return;
  }
  const BreakerView* breaker = svc.breaker && w.lb.breakers ? s.breaker(svc.slot) : nullptr;
  if (breaker) [[unlikely]] {
    ep = breaker_admit(w, s.lb, svc, *breaker, ep, h);
    if (!ep) {
      w.lb.services[svc.slot].drop(DropReason::kCircuitOpen);
      reject_packet(w, s, in_port, c.m, DropReason::kCircuitOpen);
      return;
    }
  }
  const FlowState state = !tcp ? FlowState::kUdp : syn ? FlowState::kSynSent : FlowState::kEstablished;
  ServiceCounters& sc = w.lb.services[svc.slot];
  EndpointCounters& ec = w.lb.endpoints[ep->slot];
  auto count_new = [&] {
    sc.new_flows.add();
    ec.new_flows.add();
    count_packet(w, svc.slot, ep->slot, c.m);
  };

  if (svc.direct_return) {
    const uint32_t f = w.lb.flows->insert_one_way(c.key, state, w.lb.now);
    if (f == FlowTable::kNone) {
      sc.stateless_flows.add();  // still balanced, just not remembered
      if (breaker) breaker_count(w, svc.slot, ep->slot, false);
    } else {
      Flow& flow = w.lb.flows->flow(f);
      flow.endpoint = ep->slot;
      flow.service = svc.slot;
      flow.breaker = breaker != nullptr;
      flow.authz_epoch = s.authz.epoch;
      flow.set_tunnel({ep->outer_source, ep->address, ep->egress_mtu});
      ec.active_flows.add();
      flow_started(w, f, c.m->pkt_len);
    }
    count_new();
    encapsulate(w, s, in_port, c, ep->outer_source, ep->address, ep->egress_mtu);
    return;
  }

  DropReason why = DropReason::kCount;
  const NatRequest r{&c.key, h, ep, listener.target_port, c.nat_offset};
  const uint32_t f = nat_insert(w, s.lb, r, state, why);
  if (f == FlowTable::kNone) {
    if (breaker) breaker_count(w, svc.slot, ep->slot, false);
    count_drop(w, &svc, c.m, why);
    return;
  }
  Flow& flow = w.lb.flows->flow(f);
  flow.endpoint = ep->slot;
  flow.service = svc.slot;
  flow.breaker = breaker != nullptr;
  flow.authz_epoch = s.authz.epoch;
  ec.active_flows.add();
  w.counters->nat_flows.add();
  flow_started(w, f, c.m->pkt_len);
  if (inspect && tcp) [[unlikely]] inspect_begin(w, s, f, inspect);
  count_new();
  translate(w, s, in_port, c, flow, 0);
}

// Picks listener and endpoint for `c`, and the first NAT port to try; true
// when `c` may start a NAT flow (then `first_try` is its reply 5-tuple).
bool plan(WorkerCtx& w, const Snapshot& s, Candidate& c, uint32_t hash, FlowKey& first_try) {
  c.listener = s.lb.by_listener.find(LbView::listener_key(c.key.dst_addr, c.key.proto, c.key.dst_port));
  if (c.listener == StaticMap::kMissing) return false;
  const LbListener& listener = s.lb.listeners[c.listener];
  const LbService& svc = s.lb.services[listener.service];
  c.hash = hash;
  c.endpoint = choose(s.lb, svc, c.hash);
  // Only a UDP packet or a TCP SYN can start a NAT flow; later segments of
  // a connection whose SYN is earlier in this burst find its flow then.
  if (!c.endpoint || svc.direct_return || (c.key.proto == IPPROTO_TCP && !starts_connection(c.tcp_flags)))
    return false;
  c.nat_offset = nat_first_offset(w.lb);
  first_try = nat_reply_key(w, s.lb, NatRequest{&c.key, c.hash, c.endpoint, listener.target_port, c.nat_offset}, 0, 0);
  return true;
}

// Plans each packet of the burst that is to a VIP and has no flow. A new NAT
// flow then looks its reply 5-tuple up in the flow table (is this NAT port
// free towards this endpoint?), a DRAM miss at a million flows; loading the
// slot of each one's first try here, for the whole burst, before any flow is
// made, lets those misses overlap. (Also loading the second try's was slower:
// the prefetches queue once the core's outstanding misses are at their limit.)
void plan_new_flows(WorkerCtx& w, const Snapshot& s, Candidate* cand, const FlowTable::Hit* hits,
                    const uint32_t* hashes, uint16_t count) {
  for (uint16_t i = 0; i < count; ++i) {
    if (hits[i].flow != FlowTable::kNone || cand[i].vip_service == StaticMap::kMissing) continue;
    FlowKey first_try;
    if (plan(w, s, cand[i], hashes[i], first_try)) w.lb.flows->prefetch(first_try);
  }
}

// Fills `c` for a TCP/UDP packet that is not a fragment and has its L4
// header in the first segment; false otherwise.
bool l4_candidate(rte_mbuf* m, rte_ipv4_hdr* ip, Candidate& c) {
  const uint8_t proto = ip->next_proto_id;
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return false;
  if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) return false;
  uint8_t* l4 = whole_l4_header(m, ip);
  if (!l4) return false;
  c.m = m;
  c.ip = ip;
  c.l4 = l4;
  c.key = flow_key_of(ip, l4);
  c.tcp_flags = tcp_flags_of(ip, l4);
  return true;
}

}  // namespace

uint16_t lb_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  rte_mbuf** const pkts = in.pkts;
  const uint16_t n = in.n;
  FlowTable* flows = w.lb.flows;
  // Replies can be ours, or (several workers) another worker's to hand over.
  const bool replies_possible = flows && (flows->size() > 0 || w.lb.workers > 1);
  if (!flows || (s.lb.services.empty() && !replies_possible)) return n;
  Candidate cand[kRxBurst];
  const FlowKey* keys[kRxBurst];
  uint16_t kept = 0, count = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
    const uint32_t vip_service = s.lb.by_vip.find(LbView::vip_key(ip->dst_addr));
    const bool to_vip = vip_service != StaticMap::kMissing;
    if (!to_vip && (!replies_possible || !s.local(rte_be_to_cpu_32(ip->dst_addr)))) {
      pkts[kept++] = m;
      continue;
    }
    Candidate& c = cand[count];
    if (l4_candidate(m, ip, c)) {
      c.vip_service = vip_service;
      keys[count] = &c.key;
      ++count;
    } else if (!to_vip) {
      // An ICMP error about a flow we NATed is relayed to its client; other
      // ICMP and fragments to us are the local stage's.
      if (!lb_relay_icmp_error(w, in_port, m)) pkts[kept++] = m;
    } else if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
      count_drop(w, &s.lb.services[vip_service], m, DropReason::kVipFragment);
    } else if (ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP) {
      drop(w, m, DropReason::kShortFrame);  // truncated L4 header
    } else {
      count_drop(w, &s.lb.services[vip_service], m, DropReason::kVipUnknownPort);
    }
  }
  if (count == 0) return kept;

  FlowTable::Hit hits[kRxBurst];
  uint32_t hashes[kRxBurst];
  flows->lookup_burst(keys, count, hits, hashes);
  plan_new_flows(w, s, cand, hits, hashes, count);
  const uint32_t size_before = flows->size();
  bool replaced = false;  // a flow of this burst's lookups was forgotten: look the rest up again
  static constexpr FlowTable::Hit kNoHit{};
  for (uint16_t i = 0; i < count; ++i) {
    Candidate& c = cand[i];
    // A miss may be a flow created by an earlier packet of this burst.
    const bool grew = flows->size() > size_before;
    FlowTable::Hit hit = hits[i];
    if (replaced || (hit.flow == FlowTable::kNone && grew)) hit = flows->lookup(c.key, hashes[i]);
    if (hit.flow != FlowTable::kNone) {
      if (established(w, s, in_port, c, hit)) continue;
      replaced = true;  // the flow was forgotten: this packet opens a new one (a VIP's, so it goes on below)
    }
    if (c.vip_service == StaticMap::kMissing) {
      if (!hand_off_to_port_owner(w, in_port, c.m, c.key.dst_port))
        pkts[kept++] = c.m;  // no flow anywhere: the local stage answers (or drops) it
      continue;
    }
    // The burst planned the packets it found no flow for; this one had a flow then.
    if (hits[i].flow != FlowTable::kNone) plan_new_flows(w, s, &c, &kNoHit, &hashes[i], 1);
    new_flow(w, s, in_port, c);
  }
  return kept;
}

void lb_expire(WorkerCtx& w, uint32_t budget) {
  if (!w.lb.flows) return;
  w.lb.flows->expire(w.lb.now, budget, on_flow_expire, &w);
  w.counters->flows.set(w.lb.flows->size());
}

void lb_sweep_authorization(WorkerCtx& w, const Snapshot& s, uint32_t budget) {
  if (!w.lb.flows || w.lb.authz_swept == s.authz.epoch) return;
  FlowTable& table = *w.lb.flows;
  for (uint32_t n = 0; n < budget && w.lb.authz_cursor < table.capacity(); ++n, ++w.lb.authz_cursor) {
    Flow& f = table.flow(w.lb.authz_cursor);
    if (f.in_use && f.authz_epoch != s.authz.epoch && !reauthorize(w, s, f)) forget_flow(w, w.lb.authz_cursor, FlowEnd::kCut);
  }
  if (w.lb.authz_cursor == table.capacity()) {
    w.lb.authz_cursor = 0;
    w.lb.authz_swept = s.authz.epoch;
    w.counters->authz_swept.set(s.authz.epoch);
  }
}

}  // namespace meshplane::dataplane
