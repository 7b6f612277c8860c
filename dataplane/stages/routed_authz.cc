#include "dataplane/stages/routed_authz.h"

#include <netinet/in.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include "dataplane/net/tcp_flags.h"
#include "dataplane/stages/authorize.h"
#include "dataplane/stages/inspect.h"
#include "dataplane/stages/flow_accounting.h"
#include "dataplane/stages/l4_header.h"
#include "dataplane/stages/nat_handoff.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);

struct Candidate {
  rte_mbuf* m;
  FlowKey key;
  uint8_t tcp_flags;
  uint32_t policy;  // of the destination; 0: only the source is on a protected side
};

FlowKey reversed(const FlowKey& k) { return FlowKey{k.dst_addr, k.src_addr, k.dst_port, k.src_port, k.proto}; }

// A packet that has no connection to keep: decided alone. True: allowed.
bool packet_allowed(WorkerCtx& w, const Snapshot& s, uint32_t policy, const rte_ipv4_hdr* ip) {
  return !policy || authorize_routed(w, s, policy, FlowKey{ip->src_addr, ip->dst_addr, 0, 0, ip->next_proto_id});
}

// A connection without a flow: a packet to the destination is decided, and
// tracked if allowed; one from it is not asked, and tracked when it opens a
// connection, so that the replies it gets are known. False: dropped, or
// sent to the inspect stage (its authorization names a pattern set).
bool open_connection(WorkerCtx& w, const Snapshot& s, const Candidate& c) {
  uint32_t inspect = 0;
  if (c.policy && !authorize_routed(w, s, c.policy, c.key, &inspect)) {
    drop(w, c.m, DropReason::kAuthzDenied);
    return false;
  }
  if (c.key.proto != IPPROTO_TCP) inspect = 0;  // payload inspection is TCP's
  if (inspect && !inspect_admits(w, s, inspect)) [[unlikely]] {
    drop(w, c.m, DropReason::kInspectFailed);
    return false;
  }
  // From the destination's side, only a connection's start is worth tracking.
  if (!c.policy && c.key.proto == IPPROTO_TCP && !starts_connection(c.tcp_flags)) return true;
  // A source that is the gateway's own (or a VIP) arrived spoofed: never
  // tracked, so that no reply to the gateway can meet a routed flow.
  if (s.local(rte_be_to_cpu_32(c.key.src_addr)) ||
      s.lb.by_vip.find(LbView::vip_key(c.key.src_addr)) != StaticMap::kMissing)
    return true;
  // A TCP segment that is not a SYN is a connection picked up mid-stream
  // (the gateway restarted, or its flow expired): it is decided all the same.
  const FlowState state = c.key.proto != IPPROTO_TCP       ? FlowState::kUdp
                          : starts_connection(c.tcp_flags) ? FlowState::kSynSent
                                                           : FlowState::kEstablished;
  const uint32_t f = w.lb.flows->insert(c.key, reversed(c.key), state, w.lb.now);
  if (f == FlowTable::kNone) {
    w.counters->routed_untracked.add();  // allowed; its next packet is decided again
    return true;
  }
  Flow& flow = w.lb.flows->flow(f);
  flow.endpoint = kRoutedFlow;
  flow.service = 0;
  flow.authz_epoch = s.authz.epoch;
  w.counters->routed_flows.add();
  flow_started(w, f, c.m->pkt_len);
  if (inspect) [[unlikely]] {
    inspect_begin(w, s, f, inspect);
    if (flow.inspected) {
      to_inspect(w, c.m, f, 0);
      return false;
    }
  }
  return true;
}

// A packet of a tracked connection. False: dropped (its connection was cut)
// or the flow was forgotten so that the packet opens a new one (`reopen`).
bool established(WorkerCtx& w, const Snapshot& s, const Candidate& c, FlowTable::Hit hit, bool& reopen) {
  Flow& f = w.lb.flows->flow(hit.flow);
  if (f.authz_epoch != s.authz.epoch && !reauthorize(w, s, f)) [[unlikely]] {
    forget_flow(w, hit.flow, FlowEnd::kCut);
    drop(w, c.m, DropReason::kAuthzDenied);
    return false;
  }
  // A SYN on a 5-tuple whose connection was closing: the client reused its port; decide it afresh.
  if (hit.direction == 0 && starts_connection(c.tcp_flags) && !is_open(f.state)) [[unlikely]] {
    forget_flow(w, hit.flow, FlowEnd::kReplaced);
    reopen = true;
    return false;
  }
  touch_flow(w, hit.flow, hit.direction, c.tcp_flags, c.m->pkt_len);
  return true;
}

}  // namespace

uint32_t routed_owner(const FlowKey& k, uint16_t workers) {
  // XOR makes it symmetric; the multiplies spread it (murmur3's finaliser).
  uint32_t h = (k.src_addr ^ k.dst_addr) ^ ((uint32_t{k.src_port} ^ k.dst_port) << 8 | k.proto);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return static_cast<uint32_t>((uint64_t{h} * workers) >> 32);
}

uint16_t routed_authz_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  const AuthzView& authz = s.authz;
  if (authz.destinations.empty() || !w.lb.flows) return in.n;
  rte_mbuf** const pkts = in.pkts;
  Candidate cand[kRxBurst];
  const FlowKey* keys[kRxBurst];
  uint16_t kept = 0, count = 0;
  for (uint16_t i = 0; i < in.n; ++i) {
    rte_mbuf* m = pkts[i];
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
    const uint32_t dst = rte_be_to_cpu_32(ip->dst_addr), src = rte_be_to_cpu_32(ip->src_addr);
    const uint32_t policy = authz.destination_policy(dst);
    // Not towards or from a protected destination, or to the gateway itself (the local stage's; never
    // handed off, or a NAT reply without a flow could go back and forth between workers).
    if ((!policy && !authz.destination_policy(src)) ||
        ((!policy || authz.destinations_hold_gateway) && (s.local(dst) || s.directed_broadcast(dst)))) {
      pkts[kept++] = m;
      continue;
    }
    const uint8_t proto = ip->next_proto_id;
    if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))) {
      if (packet_allowed(w, s, policy, ip))
        pkts[kept++] = m;
      else
        drop(w, m, DropReason::kAuthzDenied);
      continue;
    }
    const uint8_t* l4 = whole_l4_header(m, ip);
    if (!l4) {
      drop(w, m, DropReason::kShortFrame);
      continue;
    }
    Candidate& c = cand[count];
    c.key = flow_key_of(ip, l4);
    c.tcp_flags = tcp_flags_of(ip, l4);
    if (w.lb.workers > 1) {
      if (const uint32_t owner = routed_owner(c.key, w.lb.workers); owner != w.worker_id) {
        hand_off(w, in_port, m, owner);
        continue;
      }
    }
    c.m = m;
    c.policy = policy;
    keys[count] = &c.key;
    ++count;
  }
  if (count == 0) return kept;

  FlowTable& flows = *w.lb.flows;
  FlowTable::Hit hits[kRxBurst];
  uint32_t hashes[kRxBurst];
  flows.lookup_burst(keys, count, hits, hashes);
  const uint32_t size_before = flows.size();
  bool changed = false;  // a flow of this burst's lookups was forgotten: look the rest up again
  for (uint16_t i = 0; i < count; ++i) {
    const Candidate& c = cand[i];
    FlowTable::Hit hit = hits[i];
    // A miss may be a flow an earlier packet of this burst created.
    if (changed || (hit.flow == FlowTable::kNone && flows.size() > size_before)) hit = flows.lookup(c.key, hashes[i]);
    bool reopen = false;
    if (hit.flow != FlowTable::kNone) {
      const bool pass = established(w, s, c, hit, reopen);
      changed |= !pass;
      if (pass && flows.flow(hit.flow).inspected) [[unlikely]]
        to_inspect(w, c.m, hit.flow, hit.direction);
      else if (pass)
        pkts[kept++] = c.m;
      if (!reopen) continue;
    }
    if (open_connection(w, s, c)) pkts[kept++] = c.m;
  }
  return kept;
}

}  // namespace meshplane::dataplane
