#include "dataplane/worker/trace.h"

#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ring_elem.h>

#include <cstring>

#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {
namespace {

constexpr uint16_t kNatTraversalPort = 4500;

// The IPv4 header of a frame, or null.
const rte_ipv4_hdr* ipv4_of(const rte_mbuf* m) {
  if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr)) return nullptr;
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4)) return nullptr;
  return reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
}

void headers(const rte_mbuf* m, TraceRecord& r) {
  const rte_ipv4_hdr* ip = ipv4_of(m);
  if (!ip) return;
  r.protocol = ip->next_proto_id;
  r.source = ip->src_addr;
  r.destination = ip->dst_addr;
  r.length = rte_be_to_cpu_16(ip->total_length);
  r.ttl = ip->time_to_live;
  if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) return;  // no L4 header here
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  const auto* l4 = reinterpret_cast<const uint8_t*>(ip) + ihl;
  const size_t room = m->data_len - sizeof(rte_ether_hdr) - ihl;
  if (r.protocol == IPPROTO_ESP && room >= 4) {
    std::memcpy(&r.spi, l4, 4);
  } else if ((r.protocol == IPPROTO_TCP || r.protocol == IPPROTO_UDP) && room >= 4) {
    std::memcpy(&r.source_port, l4, 2);
    std::memcpy(&r.destination_port, l4 + 2, 2);
    if (r.protocol == IPPROTO_UDP && r.destination_port == RTE_BE16(kNatTraversalPort) && room >= 12)
      std::memcpy(&r.spi, l4 + 8, 4);
  } else if (r.protocol == IPPROTO_ICMP && room >= 2) {
    r.source_port = rte_cpu_to_be_16(l4[0]);
    r.destination_port = rte_cpu_to_be_16(l4[1]);
  }
}

void record(WorkerCtx& w, uint32_t id, TraceEvent event, Stage stage, uint16_t port, uint16_t detail,
            const rte_mbuf* m) {
  TraceRecord r{};
  r.packet = id;
  r.worker = static_cast<uint8_t>(w.worker_id);
  r.event = event;
  r.stage = stage;
  r.port = port;
  r.detail = detail;
  if (m) headers(m, r);
  if (rte_ring_sp_enqueue_elem(w.trace_ring, &r, sizeof r) != 0) w.counters->trace_records_lost.add();
}

bool matches(const TraceFilter& f, const rte_mbuf* m, uint16_t in_port) {
  if (f.ingress && f.ingress != in_port + 1) return false;
  const rte_ipv4_hdr* ip = ipv4_of(m);
  if (!ip) return !f.source_mask && !f.destination_mask && !f.protocol && !f.port;
  if ((rte_be_to_cpu_32(ip->src_addr) & f.source_mask) != f.source) return false;
  if ((rte_be_to_cpu_32(ip->dst_addr) & f.destination_mask) != f.destination) return false;
  if (f.protocol && ip->next_proto_id != f.protocol) return false;
  if (!f.port) return true;
  TraceRecord r{};
  headers(m, r);
  return rte_be_to_cpu_16(r.source_port) == f.port || rte_be_to_cpu_16(r.destination_port) == f.port;
}

// The index of `m` among the marked packets, or -1.
int marked(const TraceMarks& t, const rte_mbuf* m) {
  for (uint16_t i = 0; i < t.n; ++i)
    if (t.pkts[i] == m) return i;
  return -1;
}

}  // namespace

void trace_mark(WorkerCtx& w, uint16_t in_port, rte_mbuf* const* pkts, uint16_t n) {
  TraceControl& c = *w.trace_control;
  for (uint16_t i = 0; i < n && w.traced.n < kRxBurst; ++i) {
    if (!matches(c.filter, pkts[i], in_port)) continue;
    int32_t left = c.remaining.load(std::memory_order_relaxed);
    do {
      if (left <= 0) return;
    } while (!c.remaining.compare_exchange_weak(left, left - 1, std::memory_order_relaxed));
    const uint32_t id = c.next_id.fetch_add(1, std::memory_order_relaxed);
    w.traced.pkts[w.traced.n] = pkts[i];
    w.traced.ids[w.traced.n++] = id;
    record(w, id, TraceEvent::kReceived, Stage::kParse, in_port, 0, pkts[i]);
  }
}

void trace_stage(WorkerCtx& w, Stage st, const Burst& in) {
  for (uint16_t i = 0; i < in.n; ++i) {
    const int at = marked(w.traced, in.pkts[i]);
    if (at < 0) continue;
    record(w, w.traced.ids[at], TraceEvent::kStage, st, in.pkts[i]->port, 0, in.pkts[i]);
    if (st == Stage::kEgress) trace_left(w, in.pkts[i], TraceEvent::kSent, 0);  // the egress stage queues it for tx
  }
}

void trace_left(WorkerCtx& w, rte_mbuf* m, TraceEvent how, uint16_t detail) {
  const int at = marked(w.traced, m);
  if (at < 0) return;
  record(w, w.traced.ids[at], how, Stage::kCount, how == TraceEvent::kSent ? m->port : 0, detail,
         how == TraceEvent::kDropped ? nullptr : m);
  // Gone from this worker: an mbuf freed and received again is not this packet.
  w.traced.pkts[at] = w.traced.pkts[w.traced.n - 1];
  w.traced.ids[at] = w.traced.ids[w.traced.n - 1];
  --w.traced.n;
}

}  // namespace meshplane::dataplane
