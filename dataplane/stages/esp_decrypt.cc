#include "dataplane/stages/esp_decrypt.h"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <rte_cycles.h>

#include <algorithm>
#include <cstring>

#include "dataplane/ipsec/esp.h"
#include "dataplane/stages/parse.h"
#include "dataplane/worker/packet_meta.h"
#include "dataplane/worker/tx.h"

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);

enum class Kind { kOther, kEsp, kIke, kKeepalive, kMalformed };

// What a packet to the gateway is, and where its ESP header would start.
Kind classify(const rte_mbuf* m, const rte_ipv4_hdr* ip, uint32_t& esp_offset) {
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
    return Kind::kOther;  // fragments are not reassembled: local delivery drops them
  if (ip->next_proto_id == kIpProtoEsp) {
    esp_offset = kEthLen + ihl;
    return Kind::kEsp;
  }
  if (ip->next_proto_id != IPPROTO_UDP) return Kind::kOther;
  const uint32_t udp_at = kEthLen + ihl;
  if (m->data_len < udp_at + sizeof(rte_udp_hdr)) return Kind::kOther;  // local delivery judges it
  const auto* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, udp_at);
  if (udp->dst_port == RTE_BE16(kIkePort)) return Kind::kIke;
  if (udp->dst_port != RTE_BE16(kIkeNattPort)) return Kind::kOther;
  // RFC 3948 section 2.2: a lone 0xFF is a keepalive; a zero "non-ESP marker" is IKE; else ESP.
  const uint32_t payload = m->data_len - udp_at - sizeof(rte_udp_hdr);
  const auto* p = reinterpret_cast<const uint8_t*>(udp + 1);
  if (payload == 1 && p[0] == 0xff) return Kind::kKeepalive;
  if (payload >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0) return Kind::kIke;
  if (payload < kEspHeaderLen) return Kind::kMalformed;
  esp_offset = udp_at + sizeof(rte_udp_hdr);
  return Kind::kEsp;
}

// True when the packet, decrypted, goes on; false when it was dropped.
bool open_esp(WorkerCtx& w, const Snapshot& s, rte_mbuf* m, uint32_t esp_offset) {
  if (m->data_len < esp_offset + kEspHeaderLen) {
    drop(w, m, DropReason::kEspMalformed);
    return false;
  }
  EspFrame f;
  f.esp_offset = esp_offset;
  const auto* esp = rte_pktmbuf_mtod_offset(m, const uint8_t*, esp_offset);
  std::memcpy(&f.spi, esp, 4);
  rte_be32_t low;
  std::memcpy(&low, esp + 4, 4);
  const uint32_t index = s.inbound_by_spi.find(f.spi);
  if (index == StaticMap::kMissing) {
    drop(w, m, DropReason::kEspNoSa);
    return false;
  }
  const InboundSa& sa = s.inbound_sas[index];
  SaState& state = w.ipsec.states[sa.slot];
  if (state.expired.load(std::memory_order_relaxed)) {
    drop(w, m, DropReason::kEspSaExpired);
    return false;
  }
  ReplayWindow& window = state.window;
  SaCounters& c = w.ipsec.sas[sa.slot];
  const uint64_t seq = window.infer(rte_be_to_cpu_32(low), sa.esn);
  switch (window.check(seq)) {
    case ReplayWindow::Verdict::kReplayed:
      c.replayed.add();
      drop(w, m, DropReason::kEspReplayed);
      return false;
    case ReplayWindow::Verdict::kTooOld:
      c.outside_window.add();
      drop(w, m, DropReason::kEspOutsideWindow);
      return false;
    case ReplayWindow::Verdict::kNew:
      break;
  }
  if (const DropReason r = esp_open(*w.ipsec.gcm, sa.key, f, seq, sa.esn, m); r != DropReason::kCount) {
    if (r == DropReason::kEspAuthFailed) c.auth_failed.add();
    drop(w, m, r);
    return false;
  }
  // Only an authenticated packet moves the window (RFC 4303 section 3.4.3).
  window.accept(seq);
  if (ipv4_problem(m) != DropReason::kCount) {
    drop(w, m, DropReason::kEspNotIpv4);
    return false;
  }
  // The inner source must lie behind this SA's peer: its route back is the peer's tunnel.
  const auto* inner = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
  if (s.tunnel_of(rte_be_to_cpu_32(inner->src_addr)) != sa.peer + 1) {
    drop(w, m, DropReason::kEspSelectorMismatch);
    return false;
  }
  c.packets.add();
  c.bytes.add(m->data_len - kEthLen);
  return true;
}

// IKE goes to the control thread, within a per-worker rate so that a flood
// (spoofed IKE_SA_INIT) costs the workers a token check and leaves the punt
// ring to ARP and resolution.
void punt_ike(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf* m) {
  if (!s.ike_packets_per_second) {
    drop(w, m, DropReason::kIkeNotServed);
    return;
  }
  if (!w.ike_bucket.take_at(s.ike_packets_per_second, s.ike_packets_per_second / 10, rte_rdtsc(), rte_get_tsc_hz())) {
    drop(w, m, DropReason::kIkeLimited);
    return;
  }
  punt_received(w, m, PuntReason::kIke, in_port);
}

}  // namespace

uint16_t esp_decrypt_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  if (s.peers.empty()) return in.n;  // no tunnels: everything passes (ESP is judged as local traffic)
  uint16_t kept = 0;
  for (uint16_t i = 0; i < in.n; ++i) {
    rte_mbuf* m = in.pkts[i];
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
    uint32_t esp_offset = 0;
    Kind kind = classify(m, ip, esp_offset);
    if (kind != Kind::kOther && !s.local(rte_be_to_cpu_32(ip->dst_addr))) kind = Kind::kOther;  // transit ESP
    switch (kind) {
      case Kind::kOther:
        // A source behind a peer arrives encrypted or not at all (RFC 4301 section 5.2): so that,
        // after this stage, "from behind a peer" means "over its SAs", which authorization trusts.
        if (s.tunnel_of(rte_be_to_cpu_32(ip->src_addr)))
          drop(w, m, DropReason::kEspCleartextFromPeer);
        else
          in.pkts[kept++] = m;
        break;
      case Kind::kEsp:
        if (open_esp(w, s, m, esp_offset)) in.pkts[kept++] = m;
        break;
      case Kind::kIke:
        punt_ike(w, s, in_port, m);
        break;
      case Kind::kKeepalive:
        drop(w, m, DropReason::kNatKeepalive);
        break;
      case Kind::kMalformed:
        drop(w, m, DropReason::kEspMalformed);
        break;
    }
  }
  return kept;
}

}  // namespace meshplane::dataplane
