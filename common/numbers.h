// Small arithmetic both the policy checks (config/) and the table builders
// (ctrl/) need.
#pragma once

#include <cstdint>

namespace meshplane {

// Trial division: table sizes are checked once per policy change.
constexpr bool is_prime(uint32_t n) {
  if (n < 2) return false;
  for (uint32_t d = 2; static_cast<uint64_t>(d) * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

}  // namespace meshplane
