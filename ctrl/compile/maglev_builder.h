// Builds Maglev lookup tables (NSDI 2016, section 3.4, with weights).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/limits.h"

namespace meshplane::ctrl {

// A built table: `size` slots (a prime), each naming an endpoint index.
// Workers read it through dataplane::LbSubset.
struct MaglevTable {
  uint32_t size = 0;
  std::vector<uint32_t> slots;
};

struct MaglevEndpoint {
  std::string key;      // stable identity, e.g. "10.0.2.5:8080": the same key gives the same
                        // permutation on every gateway and after every restart
  uint32_t weight = 1;  // 0: takes no slots (draining)
};

// Slot i of the result names endpoints[slot] by its index in `endpoints`. The
// table depends only on the set of (key, weight), not on the order given.
// Requires a prime size below 2^31 and larger than the number of endpoints and at least one
// endpoint with a non-zero weight; returns an empty table otherwise.
MaglevTable build_maglev(const std::vector<MaglevEndpoint>& endpoints, uint32_t size = kDefaultMaglevTableSize);

}  // namespace meshplane::ctrl
