#include "dataplane/stages/nat.h"

#include <numeric>

namespace meshplane::dataplane {

uint32_t nat_port_stride(uint32_t hash, uint32_t span) {
  if (span < 2) return 1;
  uint32_t stride = 1 + static_cast<uint32_t>((uint64_t{(hash >> 16) | (hash << 16)} * (span - 1)) >> 32);
  while (std::gcd(stride, span) != 1) stride = stride + 1 == span ? 1 : stride + 1;
  return stride;
}

}  // namespace meshplane::dataplane
