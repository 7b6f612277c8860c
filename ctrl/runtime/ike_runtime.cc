#include "ctrl/runtime/ike_runtime.h"

#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "ctrl/runtime/log.h"
#include "dataplane/worker/packet_meta.h"

namespace meshplane::ctrl {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);
constexpr size_t kMarker = 4;  // RFC 3948's non-ESP marker before IKE on port 4500

ike::Endpoint endpoint(rte_be32_t address, rte_be16_t port) {
  ike::Endpoint e;
  std::memcpy(e.address.data(), &address, 4);
  e.port = rte_be_to_cpu_16(port);
  return e;
}

ike::TrafficSelector selector(const config::Ipv4Prefix& p) {
  ike::TrafficSelector t;
  const uint32_t first = p.length ? p.address & ~((1u << (32 - p.length)) - 1) : 0;
  const uint32_t last = p.length ? first | ((1u << (32 - p.length)) - 1) : ~0u;
  for (int i = 0; i < 4; ++i) {
    t.start[i] = static_cast<uint8_t>(first >> (24 - 8 * i));
    t.end[i] = static_cast<uint8_t>(last >> (24 - 8 * i));
  }
  return t;
}

config::SecurityAssociation sa_of(config::SaDirection direction, const std::vector<uint8_t>& spi,
                                  const ike::ChildSa& c, const config::Secret& key) {
  config::SecurityAssociation sa;
  sa.direction = direction;
  sa.spi = static_cast<uint32_t>(ike::be_value(spi));
  sa.algorithm = c.key_bits == 256 ? config::EspAlgorithm::kAesGcm256 : config::EspAlgorithm::kAesGcm128;
  sa.key = key;
  sa.esn = c.esn;
  return sa;
}

}  // namespace

void IkeRuntime::add_stats(v1::GetStatsResponse& out, Clock::time_point now) const {
  const uint64_t at = ms(now);
  auto& counters = *out.mutable_counters();
  counters["ike_half_open"] = keying_->responder().half_open();
  counters["ike_cookies_sent"] = keying_->responder().cookies_sent();
  auto seconds = [](uint64_t ms) { return static_cast<double>(ms) / 1000.0; };
  auto hex = [](const std::vector<uint8_t>& b) { return fmt::format("0x{:08x}", ike::be_value(b)); };
  for (const auto& p : keying_->status()) {
    auto* s = out.add_ike();
    s->set_peer(p.name);
    s->set_state(p.state);
    s->set_identity(p.identity);
    s->set_last_failure(p.why);
    if (p.state != "established") continue;
    s->set_initiator(p.initiator);
    s->set_spi_i(fmt::format("0x{:016x}", p.spi_i));
    s->set_spi_r(fmt::format("0x{:016x}", p.spi_r));
    s->set_udp(p.natt);
    for (const auto& [in, outbound] : p.children) s->add_child_sas(hex(in) + "/" + hex(outbound));
    s->set_established_seconds(seconds(at - p.established_ms));
    s->set_last_rekey_seconds(seconds(at - p.last_rekey_ms));
    s->set_next_rekey_seconds(seconds(p.next_rekey_ms > at ? p.next_rekey_ms - at : 0));
    s->set_retransmissions(p.retransmissions);
  }
}

IkeRuntime::IkeRuntime(const config::IkeSettings& settings, rte_mempool* pool, Inject inject, PolicyManager& manager)
    : pool_(pool), inject_(std::move(inject)), manager_(manager) {
  std::string error;
  identity_ = ike::load_gateway_identity(settings, error);
  if (!identity_) throw std::runtime_error("ike: " + error);
  ike::KeyingSettings k;
  k.child_rekey_ms = uint64_t{settings.child_rekey_seconds} * 1000;
  k.ike_rekey_ms = uint64_t{settings.ike_rekey_seconds} * 1000;
  k.liveness_ms = uint64_t{settings.liveness_seconds} * 1000;
  k.timing.retransmits = settings.retransmits;
  keying_ = std::make_unique<ike::Keying>(k, identity_->id, &identity_->credentials, &identity_->trust);
  log::info("ike: this gateway is {} ({})", identity_->id, settings.certificate);
}

IkeRuntime::~IkeRuntime() = default;

void IkeRuntime::configure(const config::Policy& policy) {
  std::vector<ike::PeerSetup> peers;
  for (const auto& p : policy.peers) {
    if (!p.ike) continue;
    ike::PeerSetup s;
    s.name = p.name;
    s.local = endpoint(rte_cpu_to_be_32(p.local_address), RTE_BE16(ike::kIkePort));
    s.remote = endpoint(rte_cpu_to_be_32(p.address), RTE_BE16(ike::kIkePort));
    s.initiate = p.ike->initiate;
    s.auth.peer_identity = p.identity;
    for (const auto& prefix : p.prefixes) s.auth.remote_ts.push_back(selector(prefix));
    // Ours: whatever the policy routes into the tunnel; the peer narrows it to what it protects.
    s.auth.local_ts = {selector({0, 0})};
    peers.push_back(std::move(s));
  }
  reconfigure_ = std::move(peers);
}

void IkeRuntime::on_packet(rte_mbuf* m, Clock::time_point now) {
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  const uint32_t udp_at = kEthLen + ihl;
  if (m->nb_segs != 1 || m->data_len < udp_at + sizeof(rte_udp_hdr)) {
    rte_pktmbuf_free(m);  // the workers checked the headers: not seen
    return;
  }
  const auto* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, udp_at);
  const ike::Endpoint from = endpoint(ip->src_addr, udp->src_port), to = endpoint(ip->dst_addr, udp->dst_port);
  const size_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
  const size_t skip = to.port == ike::kNattPort ? kMarker : 0;  // the workers punt 4500 only with the marker
  if (udp_len < sizeof(rte_udp_hdr) + skip || udp_at + udp_len > m->data_len) {
    rte_pktmbuf_free(m);
    return;
  }
  const std::span<const uint8_t> datagram(rte_pktmbuf_mtod_offset(m, const uint8_t*, udp_at + sizeof(rte_udp_hdr) + skip),
                                          udp_len - sizeof(rte_udp_hdr) - skip);
  ike::Keying::Output out;
  keying_->on_datagram(datagram, from, to, ms(now), out);
  rte_pktmbuf_free(m);
  flush(out, now);
}

void IkeRuntime::tick(Clock::time_point now, uint64_t tunnel_down_drops) {
  if (tunnel_down_drops > tunnel_down_drops_) keying_->traffic_waiting(ms(now));
  tunnel_down_drops_ = tunnel_down_drops;
  if (reconfigure_) {
    keying_->set_peers(std::move(*reconfigure_), ms(now), pending_);
    reconfigure_.reset();
  }
  keying_->tick(ms(now), pending_);
  ike::Keying::Output out = std::move(pending_);
  pending_ = {};
  flush(out, now);
}

void IkeRuntime::shutdown(Clock::time_point now) {
  ike::Keying::Output out;
  keying_->shutdown(ms(now), out);
  for (const auto& d : out.send) send(d);
}

void IkeRuntime::flush(ike::Keying::Output& out, Clock::time_point now) {
  for (const auto& d : out.send) send(d);
  for (auto& [kind, message] : out.events) {
    log::info("ike: {}", message);
    manager_.events().add(kind, manager_.generation(), std::move(message));
  }
  for (const auto& peer : out.changed) {
    NegotiatedSas sas;
    sas.udp = keying_->natt(peer);
    sas.udp_port = keying_->remote(peer).port;
    const auto children = keying_->children(peer);
    for (const auto& c : children) sas.sas.push_back(sa_of(config::SaDirection::kInbound, c.spi_in, c, c.key_in));
    // Out: the newest Child SA our traffic may use (make before break).
    const auto out_sa = std::find_if(children.rbegin(), children.rend(), [](const ike::ChildSa& c) {
      return c.outbound_ready;
    });
    if (out_sa != children.rend())
      sas.sas.push_back(sa_of(config::SaDirection::kOutbound, out_sa->spi_out, *out_sa, out_sa->key_out));
    const Outcome o = manager_.set_negotiated(peer, std::move(sas), now);
    if (!o.applied && o.code != Outcome::Code::kNotFound) {
      log::error("ike: cannot install the SAs of peer '{}': {}", peer, o.message);
      manager_.events().add("ike_install_failed", manager_.generation(), fmt::format("{}: {}", peer, o.message));
    }
  }
}

// An IPv4/UDP packet from `d.from` to `d.to` (with the marker on port 4500),
// routed by the workers like the gateway's other packets.
void IkeRuntime::send(const ike::Datagram& d) {
  const size_t marker = d.from.port == ike::kNattPort ? kMarker : 0;
  const size_t udp_len = sizeof(rte_udp_hdr) + marker + d.bytes.size();
  const size_t ip_len = sizeof(rte_ipv4_hdr) + udp_len;
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return;  // retransmission covers it
  auto* frame = rte_pktmbuf_append(m, static_cast<uint16_t>(kEthLen + ip_len));
  if (!frame || ip_len > 0xffff) {
    rte_pktmbuf_free(m);
    log::warn("ike: a {}-byte message does not fit one packet (no IKE fragmentation yet); not sent", d.bytes.size());
    return;
  }
  std::memset(frame, 0, kEthLen);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + kEthLen);
  std::memset(ip, 0, sizeof *ip);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(ip_len));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  std::memcpy(&ip->src_addr, d.from.address.data(), 4);
  std::memcpy(&ip->dst_addr, d.to.address.data(), 4);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(d.from.port);
  udp->dst_port = rte_cpu_to_be_16(d.to.port);
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(udp_len));
  udp->dgram_cksum = 0;
  auto* payload = reinterpret_cast<uint8_t*>(udp + 1);
  std::memset(payload, 0, marker);
  std::memcpy(payload + marker, d.bytes.data(), d.bytes.size());
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  dataplane::meta(m).inject_at = dataplane::InjectAt::kRoute;
  inject_(m);
}

}  // namespace meshplane::ctrl
