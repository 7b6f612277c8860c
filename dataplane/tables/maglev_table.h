// A Maglev lookup table as workers read it (Eisenbud et al., "Maglev: A Fast
// and Reliable Software Network Load Balancer", NSDI 2016, section 3.4):
// `size` slots (a prime), each naming an endpoint index. Built by
// ctrl/maglev_builder, immutable once in a snapshot.
#pragma once

#include <cstdint>
#include <vector>

namespace meshplane::dataplane {

struct MaglevTable {
  uint32_t size = 0;
  std::vector<uint32_t> slots;  // endpoint index per slot

  // Maps a 32-bit flow hash onto the slots with a multiply instead of a
  // division by the prime (Lemire's fast range reduction).
  uint32_t lookup(uint32_t flow_hash) const {
    return slots[static_cast<uint32_t>((static_cast<uint64_t>(flow_hash) * size) >> 32)];
  }
};

}  // namespace meshplane::dataplane
