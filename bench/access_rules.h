// Random access rules for the benchmarks: a protocol, source and
// destination prefixes of random length, ports as real rule sets have them. Their sources lie in 172.16.0.0/12, where no benchmark
// traffic comes from, so the traffic is classified against every rule and
// passes (default allow); the classifier's cost is what is measured.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace meshplane::bench {

inline std::string random_access_rules(size_t n, uint32_t seed = 1) {
  if (n == 0) return "";
  std::mt19937 rng(seed);
  auto below = [&](uint32_t k) { return std::uniform_int_distribution<uint32_t>(0, k - 1)(rng); };
  auto prefix = [&](uint32_t base, uint32_t base_len) {
    const uint32_t len = base_len + below(33 - base_len);
    const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    const uint32_t a = (base | (rng() >> base_len)) & mask;
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) +
           "." + std::to_string(a & 255) + "/" + std::to_string(len);
  };
  // Ports as rule sets mostly have them (ClassBench's seeds): a source port
  // mostly any, else the ephemeral range; a destination port mostly one
  // service port, else any or a range.
  auto source_ports = [&]() -> std::string { return below(10) < 7 ? "" : below(3) ? "1024-65535" : "0-1023"; };
  auto destination_ports = [&]() -> std::string {
    const uint32_t r = below(10);
    if (r < 6) return std::to_string(1 + below(10000));
    if (r < 8) return "";
    const uint32_t a = below(65536), b = below(65536);
    return std::to_string(std::min(a, b)) + "-" + std::to_string(std::max(a, b));
  };
  std::string t = "access:\n  rules:\n";
  for (size_t i = 0; i < n; ++i) {
    t += "    - {action: " + std::string(below(2) ? "deny" : "reject") + ", source: " + prefix(0xac100000, 12) +
         ", destination: " + prefix(0, below(2) ? 8 : 0);
    if (below(4) != 0) {
      t += std::string(", protocol: ") + (below(2) ? "tcp" : "udp");
      if (const std::string sp = source_ports(); !sp.empty()) t += ", source_ports: " + sp;
      if (const std::string dp = destination_ports(); !dp.empty()) t += ", destination_ports: " + dp;
    }
    t += "}\n";
  }
  return t;
}

}  // namespace meshplane::bench
