// Text forms of addresses as operators write them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"

namespace meshplane::config {

std::optional<uint32_t> parse_ipv4(std::string_view text);
// "10.0.0.0/8"; a bare address is a /32.
std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view text);
std::optional<MacAddress> parse_mac(std::string_view text);

std::string ipv4_to_string(uint32_t host_order);
std::string prefix_to_string(const Ipv4Prefix& p);
std::string mac_to_string(const MacAddress& mac);

// A single host's address: not 0/8, loopback, multicast or reserved (host order).
inline bool is_unicast(uint32_t address) {
  const uint8_t first = address >> 24;
  return first != 0 && first != 127 && first < 224;
}

inline uint32_t prefix_mask(uint8_t length) {
  return length == 0 ? 0 : ~uint32_t{0} << (32 - length);
}
inline bool prefix_contains(const Ipv4Prefix& p, uint32_t address) {
  return (address & prefix_mask(p.length)) == (p.address & prefix_mask(p.length));
}

}  // namespace meshplane::config
