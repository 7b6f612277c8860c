#include "config/peer_parser.h"

#include <fmt/format.h>

#include "common/key_file.h"
#include "common/numbers.h"
#include "config/yaml_fields.h"

namespace meshplane::config {
namespace {

// An SPI in decimal or 0x-hex; 1-255 are reserved (RFC 4303 section 2.1), 0 is never sent.
bool read_spi(const YamlNode& n, Diagnostics& d, uint32_t& out) {
  std::string s;
  if (!read_string(n, "SA spi", d, s)) return false;
  uint64_t v = 0;
  if (!parse_number(s, v)) {
    d.error(n.mark(), fmt::format("SA spi must be a number (decimal or 0x hex), found '{}'", s));
    return false;
  }
  if (v < 256 || v > 0xffffffffu) {
    d.error(n.mark(), fmt::format("SA spi must be between 256 and 0xffffffff (1-255 are reserved), found {}", s));
    return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

bool read_key_file(const YamlNode& n, Diagnostics& d, SecurityAssociation& sa) {
  if (!read_string(n, "SA key_file", d, sa.key_file)) return false;
  std::vector<uint8_t> key;
  if (auto problem = meshplane::read_key_file(sa.key_file, key); !problem.empty()) {
    d.error(n.mark(), problem);
    return false;
  }
  sa.key = Secret(std::move(key));
  return true;
}

void parse_lifetime(const YamlNode& n, std::string_view what, Diagnostics& d, SaLifetime& out) {
  Fields f(n, what, d, {"seconds", "bytes", "packets"});
  constexpr uint64_t kMax = uint64_t{1} << 62;
  if (auto v = f.get("seconds"); v.defined()) read_uint(v, fmt::format("{}.seconds", what), d, 1, kMax, out.seconds);
  if (auto v = f.get("bytes"); v.defined()) read_uint(v, fmt::format("{}.bytes", what), d, 1, kMax, out.bytes);
  if (auto v = f.get("packets"); v.defined()) read_uint(v, fmt::format("{}.packets", what), d, 1, kMax, out.packets);
}

void parse_sa(const YamlNode& n, Diagnostics& d, Peer& peer) {
  Fields f(n, "an SA", d,
           {"direction", "spi", "algorithm", "key", "key_file", "esn", "replay_window", "soft_lifetime", "hard_lifetime"});
  if (!f.is_map()) return;
  SecurityAssociation sa;
  sa.mark = f.mark();
  if (auto v = f.require("direction"); v.defined()) {
    const int c = read_choice(v, "SA direction", d, {"inbound", "outbound"});
    if (c >= 0) sa.direction = c == 0 ? SaDirection::kInbound : SaDirection::kOutbound;
  }
  sa.spi_mark = sa.mark;
  if (auto v = f.require("spi"); v.defined()) {
    read_spi(v, d, sa.spi);
    sa.spi_mark = v.mark();
  }
  if (auto v = f.get("algorithm"); v.defined()) {
    const int c = read_choice(v, "SA algorithm", d, {"aes-gcm-128", "aes-gcm-256"});
    if (c >= 0) sa.algorithm = c == 0 ? EspAlgorithm::kAesGcm128 : EspAlgorithm::kAesGcm256;
  }
  const YamlNode key = f.get("key"), key_file = f.get("key_file");
  if (key.defined() == key_file.defined()) {
    d.error(sa.mark, "an SA needs exactly one of 'key' and 'key_file'");
  } else if (key.defined()) {
    sa.key_mark = key.mark();
    std::string text;
    if (read_string(key, "SA key", d, text)) {
      sa.key = Secret(parse_hex_key(text));
      if (text == kHiddenKey)
        d.error(key.mark(), "this SA's key was hidden when the policy was shown: give the key again, or a key_file");
      else if (sa.key.empty())
        d.error(key.mark(), "SA key must be hex (key and salt, 0x optional)");
      std::fill(text.begin(), text.end(), '\0');
    }
  } else {
    sa.key_mark = key_file.mark();
    read_key_file(key_file, d, sa);
  }
  if (auto v = f.get("esn"); v.defined()) read_bool(v, "SA esn", d, sa.esn);
  if (auto v = f.get("replay_window"); v.defined()) read_uint_as(v, "SA replay_window", d, 0, 4096, sa.replay_window);
  sa.lifetime_mark = sa.mark;
  for (auto [key, lifetime] : {std::pair{"soft_lifetime", &sa.soft}, std::pair{"hard_lifetime", &sa.hard}})
    if (auto v = f.get(key); v.defined()) {
      parse_lifetime(v, key, d, *lifetime);
      sa.lifetime_mark = v.mark();
    }
  peer.sas.push_back(std::move(sa));
}

void parse_peer(const YamlNode& n, Diagnostics& d, std::vector<Peer>& peers) {
  Fields f(n, "a peer", d,
           {"name", "address", "local_address", "prefixes", "encapsulation", "tcp_mss", "identity", "sas", "ike"});
  if (!f.is_map()) return;
  Peer p;
  p.mark = f.mark();
  if (auto v = f.require("name"); v.defined()) read_string(v, "peer name", d, p.name);
  p.address_mark = p.local_mark = p.mark;
  if (auto v = f.require("address"); v.defined()) {
    read_ipv4(v, "peer address", d, p.address);
    p.address_mark = v.mark();
  }
  if (auto v = f.require("local_address"); v.defined()) {
    read_ipv4(v, "peer local_address", d, p.local_address);
    p.local_mark = v.mark();
  }
  std::vector<YamlNode> items;
  if (auto v = f.require("prefixes"); v.defined() && read_list(v, "peer prefixes", d, items) && items.empty())
    d.error(v.mark(), fmt::format("peer '{}' needs at least one prefix", p.name));
  for (const auto& item : items) {
    Ipv4Prefix prefix;
    if (!read_prefix(item, "peer prefix", d, prefix)) continue;
    p.prefixes.push_back(prefix);
    p.prefix_marks.push_back(item.mark());
  }
  if (auto v = f.get("encapsulation"); v.defined()) {
    const int c = read_choice(v, "peer encapsulation", d, {"esp", "udp"});
    if (c >= 0) p.encapsulation = c == 0 ? Encapsulation::kEsp : Encapsulation::kUdp;
  }
  if (auto v = f.get("tcp_mss"); v.defined()) read_uint_as(v, "peer tcp_mss", d, 536, 9000, p.tcp_mss);
  if (auto v = f.get("identity"); v.defined()) read_string(v, "peer identity", d, p.identity);
  if (auto v = f.get("ike"); v.defined()) {
    Fields ike(v, "peer ike", d, {"initiate"});
    PeerIke& k = p.ike.emplace();
    k.mark = v.mark();
    if (auto i = ike.get("initiate"); i.defined()) read_bool(i, "peer ike.initiate", d, k.initiate);
  }
  items.clear();
  // IKE negotiates a keyed peer's SAs; a peer keyed by hand lists them.
  const YamlNode sas = f.get("sas");
  if (p.ike && sas.defined())
    d.error(sas.mark(), fmt::format("peer '{}' is keyed by IKE ('ike'): its SAs are negotiated, not listed", p.name));
  else if (!p.ike && !sas.defined())
    d.error(p.mark, fmt::format("peer '{}' needs 'sas' (manual keys) or 'ike' (keyed by IKEv2)", p.name));
  else if (sas.defined() && read_list(sas, "peer sas", d, items))
    for (const auto& item : items) parse_sa(item, d, p);
  peers.push_back(std::move(p));
}

}  // namespace

void parse_ipsec(const YamlNode& n, Diagnostics& d, IpsecSettings& s) {
  Fields f(n, "ipsec", d, {"max_sas", "sequence_file"});
  if (auto v = f.get("max_sas"); v.defined()) read_uint_as(v, "ipsec.max_sas", d, 2, 1u << 20, s.max_sas);
  if (auto v = f.get("sequence_file"); v.defined() && read_string(v, "ipsec.sequence_file", d, s.sequence_file) &&
                                        s.sequence_file.front() != '/')
    d.error(v.mark(), fmt::format("ipsec.sequence_file must be an absolute path, found '{}'", s.sequence_file));
}

namespace {

void read_pem_path(const YamlNode& n, std::string_view what, Diagnostics& d, std::string& out, Mark& mark) {
  mark = n.mark();
  if (read_string(n, what, d, out) && (out.empty() || out.front() != '/'))
    d.error(n.mark(), fmt::format("{} must be an absolute path, found '{}'", what, out));
}

}  // namespace

void parse_ike(const YamlNode& n, Diagnostics& d, IkeSettings& s) {
  Fields f(n, "ike", d,
           {"certificate", "key", "ca", "id", "child_rekey_seconds", "ike_rekey_seconds", "liveness_seconds",
            "retransmits"});
  if (!f.is_map()) return;
  s.mark = s.certificate_mark = s.key_mark = s.ca_mark = f.mark();
  if (auto v = f.require("certificate"); v.defined())
    read_pem_path(v, "ike.certificate", d, s.certificate, s.certificate_mark);
  if (auto v = f.require("key"); v.defined()) {
    read_pem_path(v, "ike.key", d, s.key, s.key_mark);
    if (!s.key.empty() && s.key.front() == '/')
      if (auto problem = secret_file_problem(s.key, "ike.key"); !problem.empty()) d.error(v.mark(), problem);
  }
  if (auto v = f.require("ca"); v.defined()) read_pem_path(v, "ike.ca", d, s.ca, s.ca_mark);
  if (auto v = f.get("id"); v.defined()) read_string(v, "ike.id", d, s.id);
  constexpr uint64_t kDay = 86400;
  if (auto v = f.get("child_rekey_seconds"); v.defined())
    read_uint_as(v, "ike.child_rekey_seconds", d, 10, 7 * kDay, s.child_rekey_seconds);
  if (auto v = f.get("ike_rekey_seconds"); v.defined())
    read_uint_as(v, "ike.ike_rekey_seconds", d, 10, 30 * kDay, s.ike_rekey_seconds);
  if (auto v = f.get("liveness_seconds"); v.defined())
    read_uint_as(v, "ike.liveness_seconds", d, 1, kDay, s.liveness_seconds);
  if (auto v = f.get("retransmits"); v.defined()) read_uint_as(v, "ike.retransmits", d, 1, 10, s.retransmits);
}

void parse_peers(const YamlNode& n, Diagnostics& d, std::vector<Peer>& peers) {
  std::vector<YamlNode> items;
  if (read_list(n, "peers", d, items))
    for (const auto& item : items) parse_peer(item, d, peers);
}

}  // namespace meshplane::config
