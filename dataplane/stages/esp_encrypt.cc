#include "dataplane/stages/esp_encrypt.h"

#include <rte_ether.h>
#include <rte_ip.h>

#include "dataplane/ipsec/esp.h"
#include "dataplane/net/tcp_mss.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);

bool seal(WorkerCtx& w, const Snapshot& s, rte_mbuf* m) {
  const PeerView& peer = s.peers[m->hash.usr];
  if (peer.outbound_sa == kNoOutboundSa) {
    drop(w, m, DropReason::kEspNoOutboundSa);
    return false;
  }
  const OutboundSa& sa = s.outbound_sas[peer.outbound_sa];
  SaState& state = w.ipsec.states[sa.slot];
  SaCounters& c = w.ipsec.sas[sa.slot];
  // One atomic add per packet: workers sharing the SA never share a number.
  // Past the limit (what is reserved on disk, and never beyond the counter's
  // end without ESN or the hard lifetime: ctrl/runtime/sa_table.cc) the SA
  // stops instead of repeating a nonce.
  const uint64_t seq = state.last_seq.fetch_add(1, std::memory_order_relaxed) + 1;
  if (seq > state.seq_limit.load(std::memory_order_acquire)) {
    c.exhausted.add();
    drop(w, m, DropReason::kEspSequenceExhausted);
    return false;
  }
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
  if (peer.tcp_mss) clamp_tcp_mss(ip, m->data_len - kEthLen, peer.tcp_mss);
  const uint32_t inner_len = m->data_len - kEthLen;
  const EspSeal p{&sa.key, sa.spi, seq, sa.esn, sa.local, sa.remote, sa.encapsulation == Encapsulation::kUdp,
                  w.ip_id++, sa.remote_port};
  if (const DropReason r = esp_seal(*w.ipsec.gcm, p, m); r != DropReason::kCount) {
    drop(w, m, r);
    return false;
  }
  m->hash.usr = peer.next_hop;  // for route-encrypted: no second route lookup
  c.packets.add();
  c.bytes.add(inner_len);
  return true;
}

}  // namespace

uint16_t esp_encrypt_process(WorkerCtx& w, const Snapshot& s, uint16_t, Burst& in) {
  uint16_t kept = 0;
  for (uint16_t i = 0; i < in.n; ++i)
    if (seal(w, s, in.pkts[i])) in.pkts[kept++] = in.pkts[i];
  return kept;
}

}  // namespace meshplane::dataplane
