#include "config/peer_validate.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <tuple>

#include "config/address.h"
#include "config/validate.h"

namespace meshplane::config {
namespace {

const char* algorithm_name(EspAlgorithm a) { return a == EspAlgorithm::kAesGcm128 ? "aes-gcm-128" : "aes-gcm-256"; }

bool overlap(const Ipv4Prefix& a, const Ipv4Prefix& b) {
  return prefix_contains(a, b.address) || prefix_contains(b, a.address);
}

void validate_sas(const Peer& p, std::map<uint32_t, std::string>& inbound_spis, Diagnostics& d) {
  int outbound = 0, inbound = 0;
  std::set<uint32_t> outbound_spis;
  for (const auto& sa : p.sas) {
    const bool in = sa.direction == SaDirection::kInbound;
    (in ? inbound : outbound)++;
    if (sa.spi != 0) {
      if (in) {
        auto [it, fresh] = inbound_spis.emplace(sa.spi, p.name);
        if (!fresh)
          d.error(sa.spi_mark, fmt::format("inbound SPI 0x{:x} is already used by peer '{}'", sa.spi, it->second));
      } else if (!outbound_spis.insert(sa.spi).second) {
        d.error(sa.spi_mark, fmt::format("peer '{}' lists outbound SPI 0x{:x} twice", p.name, sa.spi));
      }
    }
    for (auto [soft, hard, what] : {std::tuple{sa.soft.seconds, sa.hard.seconds, "seconds"},
                                    std::tuple{sa.soft.bytes, sa.hard.bytes, "bytes"},
                                    std::tuple{sa.soft.packets, sa.hard.packets, "packets"}})
      if (soft && hard && soft >= hard)
        d.error(sa.lifetime_mark, fmt::format("SPI 0x{:x}: the soft lifetime ({} {}) must come before the hard one ({})",
                                              sa.spi, soft, what, hard));
    // Lengths only: never the key itself.
    if (!sa.key.empty() && sa.key.bytes().size() != key_material_length(sa.algorithm))
      d.error(sa.key_mark, fmt::format("{} needs {} bytes of key and salt ({} hex digits), found {} bytes",
                                       algorithm_name(sa.algorithm), key_material_length(sa.algorithm),
                                       2 * key_material_length(sa.algorithm), sa.key.bytes().size()));
  }
  if (p.ike) {  // IKE installs them: none until it has, at most one outbound at a time
    if (outbound > 1)
      d.error(p.mark, fmt::format("peer '{}' has {} outbound SAs; one at a time", p.name, outbound));
    return;
  }
  if (outbound != 1)
    d.error(p.mark, fmt::format("peer '{}' needs exactly one outbound SA, found {}", p.name, outbound));
  if (inbound == 0) d.error(p.mark, fmt::format("peer '{}' needs at least one inbound SA", p.name));
}

void validate_peer(const Policy& policy, const Peer& p, Diagnostics& d) {
  if (p.address != 0) {
    if (!is_unicast(p.address))
      d.error(p.address_mark, fmt::format("peer address {} is not a unicast address", ipv4_to_string(p.address)));
    else if (owner_port(policy, p.address))
      d.error(p.address_mark, fmt::format("peer address {} is this gateway's own", ipv4_to_string(p.address)));
    else if (!routable(policy, p.address))
      d.error(p.address_mark, fmt::format("peer address {} has no route: it is on no port's subnet and no route "
                                          "covers it", ipv4_to_string(p.address)));
  }
  if (p.local_address != 0 && !owner_port(policy, p.local_address))
    d.error(p.local_mark, fmt::format("peer local_address {} is not one of the ports' addresses",
                                      ipv4_to_string(p.local_address)));
  for (size_t i = 0; i < p.prefixes.size(); ++i) {
    const Ipv4Prefix& prefix = p.prefixes[i];
    if (prefix_contains(prefix, p.address))
      d.error(p.prefix_marks[i], fmt::format("peer prefix {} holds the peer's own address {}: its ESP would be "
                                             "sent into the tunnel", prefix_to_string(prefix),
                                             ipv4_to_string(p.address)));
    for (const auto& port : policy.ports)
      for (const auto& a : port.addresses)
        if (overlap(prefix, a))
          d.error(p.prefix_marks[i], fmt::format("peer prefix {} overlaps port '{}''s subnet {}",
                                                 prefix_to_string(prefix), port.name, prefix_to_string(a)));
    for (const auto& r : policy.routes)
      if (r.prefix == prefix)
        d.error(p.prefix_marks[i], fmt::format("peer prefix {} is also a static route", prefix_to_string(prefix)));
  }
}

}  // namespace

void validate_peers(const Policy& policy, Diagnostics& d) {
  std::set<std::string> names;
  std::map<uint32_t, std::string> inbound_spis;
  std::map<std::pair<uint32_t, uint8_t>, std::string> prefixes;  // -> peer
  std::map<uint32_t, std::string> ike_addresses;                  // -> peer
  size_t sas = 0;
  for (const auto& p : policy.peers) {
    if (!p.name.empty() && !names.insert(p.name).second)
      d.error(p.mark, fmt::format("two peers are named '{}'", p.name));
    validate_peer(policy, p, d);
    validate_sas(p, inbound_spis, d);
    if (p.ike) {
      if (!policy.ike)
        d.error(p.ike->mark, fmt::format("peer '{}' is keyed by IKE but the policy has no 'ike' section "
                                         "(certificate, key, ca)", p.name));
      if (p.identity.empty())
        d.error(p.ike->mark, fmt::format("peer '{}' is keyed by IKE: give its 'identity', the name its "
                                         "certificate must carry", p.name));
      // An IKE request is matched to its peer by the address it comes from.
      if (auto [it, fresh] = ike_addresses.emplace(p.address, p.name); !fresh)
        d.error(p.address_mark, fmt::format("peers '{}' and '{}' are both keyed by IKE at {}", it->second, p.name,
                                            ipv4_to_string(p.address)));
    }
    for (size_t i = 0; i < p.prefixes.size(); ++i) {
      const auto& prefix = p.prefixes[i];
      auto [it, fresh] = prefixes.emplace(std::pair{prefix.address & prefix_mask(prefix.length), prefix.length}, p.name);
      if (!fresh)
        d.error(p.prefix_marks[i], fmt::format("prefix {} is already behind peer '{}'", prefix_to_string(prefix),
                                               it->second));
    }
    sas += p.sas.size();
  }
  if (sas > policy.ipsec.max_sas)
    d.error(policy.peers.front().mark,
            fmt::format("{} SAs listed but ipsec.max_sas is {}", sas, policy.ipsec.max_sas));
}

}  // namespace meshplane::config
