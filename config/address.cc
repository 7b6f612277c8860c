#include "config/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <fmt/format.h>

namespace meshplane::config {

std::optional<uint32_t> parse_ipv4(std::string_view text) {
  // inet_pton accepts only the dotted-quad form, which is what we want
  // (no "10.1" shorthand, no octal).
  std::string s(text);
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view text) {
  auto slash = text.find('/');
  auto addr = parse_ipv4(text.substr(0, slash));
  if (!addr) return std::nullopt;
  Ipv4Prefix p{*addr, 32};
  if (slash != std::string_view::npos) {
    auto len_text = text.substr(slash + 1);
    unsigned len = 0;
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc{} || ptr != len_text.data() + len_text.size() || len_text.empty() || len > 32)
      return std::nullopt;
    p.length = static_cast<uint8_t>(len);
  }
  return p;
}

std::optional<MacAddress> parse_mac(std::string_view text) {
  MacAddress mac{};
  if (text.size() != 17) return std::nullopt;
  for (int i = 0; i < 6; ++i) {
    auto part = text.substr(i * 3, 2);
    if (i < 5 && text[i * 3 + 2] != ':') return std::nullopt;
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + 2, v, 16);
    if (ec != std::errc{} || ptr != part.data() + 2) return std::nullopt;
    mac[i] = static_cast<uint8_t>(v);
  }
  return mac;
}

std::string ipv4_to_string(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::string prefix_to_string(const Ipv4Prefix& p) {
  return fmt::format("{}/{}", ipv4_to_string(p.address), p.length);
}

std::string mac_to_string(const MacAddress& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

}  // namespace meshplane::config
