#include "dataplane/stages/inspect.h"

#include <netinet/in.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ring_elem.h>
#include <rte_tcp.h>

#include <algorithm>

#include "dataplane/inspect/inspect_state.h"
#include "dataplane/net/tcp_flags.h"
#include "dataplane/net/tcp_reset.h"
#include "dataplane/stages/flow_accounting.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);

void send_event(WorkerCtx& w, const Snapshot& s, uint32_t f, InspectEvent kind, uint32_t pattern, uint32_t set,
                uint8_t direction, bool gap) {
  InspectWorker& iw = w.inspect;
  const Flow& flow = w.lb.flows->flow(f);
  InspectEventRecord r{{flow.key[0], flow.key[1]}, pattern, flow.service, set, kind, direction,
                       static_cast<uint8_t>(flow.routed()), static_cast<uint8_t>(gap)};
  if (iw.events && iw.bucket.take_at(s.inspect.events_per_second, s.inspect.events_per_second, rte_rdtsc(), rte_get_tsc_hz()) && rte_ring_sp_enqueue_elem(iw.events, &r, sizeof r) == 0)
    w.counters->inspect_events.add();
  else
    w.counters->inspect_events_lost.add();
}

// One packet's scan of one direction: what the match callback needs.
struct Scan {
  WorkerCtx& w;
  const Snapshot& s;
  const PatternSetView& set;
  InspectFlow& r;
  uint32_t f;
  uint8_t d;
  bool blocked = false;
  uint32_t pattern = InspectEventRecord::kNoPattern;
};

int on_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
  Scan& c = *static_cast<Scan*>(ctx);
  if (id >= c.set.pattern_count) return 0;
  const PatternView& p = c.s.inspect.patterns[c.set.first_pattern + id];
  if (p.start_anchored && (c.r.midstream >> c.d & 1)) return 0;  // the stream's start is unknown
  c.w.inspect.state->matches[p.counter].add();
  switch (p.action) {
    case PatternAction::kTag: return 0;
    case PatternAction::kAlert:
      send_event(c.w, c.s, c.f, InspectEvent::kAlert, p.counter, c.r.set, c.d, false);
      return 0;
    case PatternAction::kBlock: break;
  }
  c.blocked = true;
  c.pattern = p.counter;
  return 1;  // stops the scan: nothing after a block matters
}

// SegmentOrderer's sink: in-order bytes into the direction's stream.
void feed(void* ctx, SegmentOrderer::Piece piece) {
  Scan& c = *static_cast<Scan*>(ctx);
  if (c.blocked) return;
  c.w.inspect.state->sets[c.r.set].bytes.add(piece.length);
  hs_scan_stream(c.r.stream[c.d], reinterpret_cast<const char*>(piece.data), piece.length, 0,
                 c.s.inspect.scratch[c.w.worker_id], on_match, &c);
}

// Direction d is done: end-of-data matches (a pattern anchored with $) are reported.
void finish(Scan& c) {
  InspectState::close(c.r, c.d, c.s.inspect.scratch[c.w.worker_id], on_match, &c);
  c.r.active &= static_cast<uint8_t>(~(1u << c.d));
}

// Direction d stops mid-stream (a gap): no end-of-data matching, the stream did not end.
void stop(InspectFlow& r, uint8_t d) {
  InspectState::close(r, d);
  r.active &= static_cast<uint8_t>(~(1u << d));
}

// Inspection of flow f is over: the flow goes on with one bit test per packet.
void end_inspection(WorkerCtx& w, uint32_t f, uint32_t record) {
  InspectState& st = *w.inspect.state;
  st.sets[st.record(record).set].active.sub();
  st.give_back(record);
  st.set_of_flow(f, InspectState::kNone);
  w.lb.flows->flow(f).inspected = 0;
}

// The set changed under a connection: its streams reopen on the new
// database at the next byte; what was scanned is not scanned again, so the
// connection is mid-stream for the new set (anchored patterns do not apply).
void switch_set(WorkerCtx& w, const PatternSetView& set, InspectFlow& r) {
  for (uint8_t d = 0; d < 2; ++d) {
    InspectState::close(r, d);
    if (r.started >> d & 1) r.midstream |= static_cast<uint8_t>(1u << d);
  }
  r.active &= static_cast<uint8_t>((set.client ? 1 : 0) | (set.server ? 2 : 0));
  r.db_id = set.id;
  w.inspect.state->sets[r.set].switched.add();
}

struct Segment {
  rte_ipv4_hdr* ip;
  rte_tcp_hdr* tcp;
  uint32_t payload_offset;  // from the start of the frame
  uint32_t payload_length;
};

// The TCP segment in m; false if its header lengths are inconsistent.
bool segment_of(rte_mbuf* m, Segment& seg) {
  seg.ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
  const uint32_t ihl = (seg.ip->version_ihl & 0xf) * 4u;
  seg.tcp = reinterpret_cast<rte_tcp_hdr*>(reinterpret_cast<uint8_t*>(seg.ip) + ihl);
  const uint32_t doff = (seg.tcp->data_off >> 4) * 4u;
  const uint32_t total = rte_be_to_cpu_16(seg.ip->total_length);
  if (doff < sizeof(rte_tcp_hdr) || ihl + doff > total || kEthLen + total > m->pkt_len) return false;
  seg.payload_offset = kEthLen + ihl + doff;
  seg.payload_length = total - ihl - doff;
  return true;
}

// Adds the segment's payload, buffer by buffer, to direction d's orderer.
SegmentOrderer::State add_payload(Scan& c, rte_mbuf* m, const Segment& seg) {
  SegmentOrderer& order = c.r.order[c.d];
  const uint32_t seq = rte_be_to_cpu_32(seg.tcp->sent_seq);
  uint32_t skip = seg.payload_offset, left = seg.payload_length, at = 0;
  SegmentOrderer::State state = order.state();
  for (const rte_mbuf* b = m; b && left; b = b->next) {
    if (skip >= b->data_len) {
      skip -= b->data_len;
      continue;
    }
    const uint32_t n = std::min<uint32_t>(b->data_len - skip, left);
    state = order.add(seq + at, rte_pktmbuf_mtod_offset(b, const uint8_t*, skip), n, feed, &c);
    skip = 0;
    at += n;
    left -= n;
  }
  return state;
}

// Resets both ends and drops m: the sender hears a RST from its peer's
// address at the sequence number it acknowledged; the receiver gets, in
// place of m, a RST at m's sequence number (everything before it arrived).
void reset_connection(WorkerCtx& w, uint16_t in_port, rte_mbuf* m, const Segment& seg, uint32_t f, uint8_t d,
                      DropReason reason) {
  const FlowKey& k = w.lb.flows->flow(f).key[d];
  const bool acked = seg.tcp->tcp_flags & kTcpAck;
  const uint32_t ack = seg.tcp->recv_ack, seq = seg.tcp->sent_seq;
  const uint32_t src = seg.ip->src_addr, dst = seg.ip->dst_addr;
  const uint16_t sport = seg.tcp->src_port, dport = seg.tcp->dst_port;
  touch_flow(w, f, d, kTcpRst, 0);  // the flow waits out its reset timeout, then goes
  if (acked && w.graph.input(Stage::kRouteOriginated).n < kRxBurst) {
    if (rte_mbuf* back = rte_pktmbuf_alloc(m->pool)) {
      if (write_tcp_reset(back, k.dst_addr, k.src_addr, k.dst_port, k.src_port, ack, w.ip_id++)) {
        back->port = in_port;
        w.graph.to(Stage::kRouteOriginated, back);
      } else {
        rte_pktmbuf_free(back);
      }
    }
  }
  w.counters->drop(reason);
  if (write_tcp_reset(m, src, dst, sport, dport, seq, w.ip_id++))
    w.graph.to(Stage::kRouteOriginated, m);
  else
    discard(w, m);
}

// Ends the inspection of f for good: its later packets are dropped.
void block(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m, const Segment& seg, uint32_t record,
           const Scan& c, InspectEvent kind, bool gap) {
  InspectState& st = *w.inspect.state;
  const uint32_t set = c.r.set;
  PatternSetCounters& counters = st.sets[set];
  (kind == InspectEvent::kBlock ? counters.blocked : counters.failed_closed).add();
  send_event(w, s, c.f, kind, c.pattern, set, c.d, gap);
  counters.active.sub();
  st.give_back(record);
  st.set_of_flow(c.f, InspectState::kBlocked);
  reset_connection(w, in_port, m, seg, c.f, c.d,
                   kind == InspectEvent::kBlock ? DropReason::kPatternBlocked : DropReason::kInspectFailed);
}

// One packet of inspected flow f. True: it goes on to route.
bool inspect_packet(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m, uint32_t f, uint8_t d,
                    uint32_t record) {
  InspectState& st = *w.inspect.state;
  InspectFlow& r = st.record(record);
  const PatternSetView* set = s.inspect.set(r.set);
  if (!set) {  // the set left the policy
    end_inspection(w, f, record);
    return true;
  }
  if (set->id != r.db_id) [[unlikely]]
    switch_set(w, *set, r);
  Segment seg;
  if (!segment_of(m, seg)) {
    drop(w, m, DropReason::kShortFrame);
    return false;
  }
  const uint8_t flags = seg.tcp->tcp_flags;
  const uint8_t bit = static_cast<uint8_t>(1u << d);
  Scan c{w, s, *set, r, f, d};
  if ((flags & kTcpSyn) && !(r.started & bit)) {
    r.order[d].reset(rte_be_to_cpu_32(seg.tcp->sent_seq) + 1, set->depth);
    r.started |= bit;
  }
  if (seg.payload_length && (r.active & bit)) {
    if (!(r.started & bit)) {  // picked up after its start (a restart, a set that changed)
      r.order[d].reset(rte_be_to_cpu_32(seg.tcp->sent_seq), set->depth);
      r.started |= bit;
      r.midstream |= bit;
    }
    if (!r.stream[d]) InspectState::open(r, d, set->db);  // the compiler keeps stream state within the record
    const bool ahead = static_cast<int32_t>(rte_be_to_cpu_32(seg.tcp->sent_seq) - r.order[d].next()) > 0;
    const SegmentOrderer::State state =
        ahead && !set->hold_out_of_order ? SegmentOrderer::State::kGap : add_payload(c, m, seg);
    if (c.blocked) {
      block(w, s, in_port, m, seg, record, c, InspectEvent::kBlock, false);
      return false;
    }
    if (state == SegmentOrderer::State::kGap) {
      st.sets[r.set].gaps.add();
      if (set->fail_closed) {
        block(w, s, in_port, m, seg, record, c, InspectEvent::kFailedClosed, true);
        return false;
      }
      stop(r, d);
    } else if (state == SegmentOrderer::State::kDone) {
      st.sets[r.set].completed.add();
      finish(c);
    }
  }
  if ((flags & (kTcpFin | kTcpRst)) && (r.active & bit)) {  // the direction ends: end-of-data matches
    st.sets[r.set].completed.add();
    finish(c);
  }
  if (c.blocked) {
    block(w, s, in_port, m, seg, record, c, InspectEvent::kBlock, false);
    return false;
  }
  if (!r.active) end_inspection(w, f, record);
  return true;
}

}  // namespace

bool inspect_admits(WorkerCtx& w, const Snapshot& s, uint32_t set_slot1) {
  InspectState* st = w.inspect.state;
  if (!set_slot1 || !st || st->in_use() < st->capacity()) return true;
  const PatternSetView* set = s.inspect.set(set_slot1 - 1);
  if (!set || !set->fail_closed) return true;
  st->sets[set_slot1 - 1].no_state.add();
  st->sets[set_slot1 - 1].failed_closed.add();
  return false;
}

void inspect_begin(WorkerCtx& w, const Snapshot& s, uint32_t f, uint32_t set_slot1) {
  InspectState* st = w.inspect.state;
  if (!set_slot1 || !st) return;
  const PatternSetView* set = s.inspect.set(set_slot1 - 1);
  if (!set) return;
  PatternSetCounters& counters = st->sets[set_slot1 - 1];
  const uint32_t record = st->take(f);
  if (record == InspectState::kNone) {
    counters.no_state.add();  // fails open (inspect_admits refused the connection otherwise)
    return;
  }
  InspectFlow& r = st->record(record);
  r.set = set_slot1 - 1;
  r.db_id = set->id;
  r.active = static_cast<uint8_t>((set->client ? 1 : 0) | (set->server ? 2 : 0));
  st->set_of_flow(f, record);
  w.lb.flows->flow(f).inspected = 1;
  counters.connections.add();
  counters.active.add();
}

void inspect_flow_ended(WorkerCtx& w, uint32_t f) {
  InspectState* st = w.inspect.state;
  if (!st) return;
  const uint32_t record = st->of_flow(f);
  if (record != InspectState::kNone && record != InspectState::kBlocked) {
    st->sets[st->record(record).set].active.sub();
    st->give_back(record);
  }
  st->set_of_flow(f, InspectState::kNone);
}

uint16_t inspect_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  InspectState* st = w.inspect.state;
  uint16_t kept = 0;
  for (uint16_t i = 0; i < in.n; ++i) {
    rte_mbuf* m = in.pkts[i];
    const PacketMeta& pm = meta(m);
    const uint32_t record = st ? st->of_flow(pm.flow) : InspectState::kNone;
    if (record == InspectState::kBlocked) {
      drop(w, m, DropReason::kPatternBlocked);
    } else if (record == InspectState::kNone || inspect_packet(w, s, in_port, m, pm.flow, pm.direction, record)) {
      in.pkts[kept++] = m;
    }
  }
  return kept;
}

}  // namespace meshplane::dataplane
