#include "ctrl/compile/peer_compiler.h"

#include <fmt/format.h>
#include <rte_byteorder.h>

#include <algorithm>

#include "config/address.h"
#include "dataplane/ipsec/aes_gcm.h"

namespace meshplane::ctrl {
namespace {

config::Status invalid(std::string message) {
  return config::Status::failure(config::Status::Code::kInvalid, std::move(message));
}

}  // namespace

config::Status compile_peers(const config::Policy& policy, const SaRegistry& sas, CompiledSnapshot& s) {
  thread_local dataplane::GcmEngine gcm;  // key preparation only: the control thread's own manager
  if (!gcm.ok()) return config::Status::failure(config::Status::Code::kExhausted, "cannot start ipsec-mb");
  std::vector<std::pair<uint64_t, uint32_t>> by_spi;
  for (uint32_t i = 0; i < policy.peers.size(); ++i) {
    const auto& peer = policy.peers[i];
    const auto tunnel = std::find_if(s.next_hops.begin(), s.next_hops.end(),
                                     [&](const dataplane::NextHop& nh) { return nh.tunnel == i + 1; });
    if (tunnel == s.next_hops.end()) return invalid(fmt::format("peer '{}' has no route into its tunnel", peer.name));
    dataplane::PeerView view{};
    view.inner_mtu = tunnel->mtu;
    view.outbound_sa = dataplane::kNoOutboundSa;  // an IKE peer not keyed yet
    const int32_t toward = s.route(peer.address);  // never a tunnel: validation keeps peers outside prefixes
    if (toward < 0 || s.next_hops[toward].tunnel)
      return invalid(fmt::format("peer '{}': no route to {} outside the tunnels", peer.name,
                                 config::ipv4_to_string(peer.address)));
    view.next_hop = static_cast<uint32_t>(toward);
    view.tcp_mss = peer.tcp_mss;
    for (const auto& sa : peer.sas) {
      dataplane::GcmKey key;
      if (!gcm.prepare(sa.key.bytes().data(), sa.key.bytes().size(), key))
        return invalid(fmt::format("peer '{}', SPI 0x{:x}: the key has the wrong length", peer.name, sa.spi));
      const uint32_t slot = sas.slot(peer, sa);
      if (sa.direction == config::SaDirection::kOutbound) {
        view.outbound_sa = static_cast<uint32_t>(s.outbound_sas.size());
        dataplane::OutboundSa out{};
        out.key = key;
        out.spi = rte_cpu_to_be_32(sa.spi);
        out.local = rte_cpu_to_be_32(peer.local_address);
        out.remote = rte_cpu_to_be_32(peer.address);
        out.esn = sa.esn;
        out.encapsulation = peer.encapsulation == config::Encapsulation::kUdp ? dataplane::Encapsulation::kUdp
                                                                               : dataplane::Encapsulation::kEsp;
        out.remote_port = rte_cpu_to_be_16(peer.udp_port);
        out.slot = slot;
        s.outbound_sas.push_back(out);
      } else {
        dataplane::InboundSa in{};
        in.key = key;
        in.spi = rte_cpu_to_be_32(sa.spi);
        in.peer = i;
        in.esn = sa.esn;
        in.slot = slot;
        by_spi.emplace_back(uint64_t{in.spi}, static_cast<uint32_t>(s.inbound_sas.size()));
        s.inbound_sas.push_back(in);
      }
    }
    s.peers.push_back(view);
  }
  s.inbound_by_spi.build(by_spi);
  return {};
}

}  // namespace meshplane::ctrl
