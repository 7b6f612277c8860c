#include "dataplane/tables/lb_view.h"

#include <rte_common.h>

#include <algorithm>

namespace meshplane::dataplane {

void StaticMap::build(const std::vector<std::pair<uint64_t, uint32_t>>& items) {
  const uint32_t size = rte_align32pow2(static_cast<uint32_t>(items.size() * 2 + 2));
  mask_ = size - 1;
  shift_ = 64 - rte_bsf32(size);
  longest_probe_ = 0;
  keys_.assign(size, 0);
  values_.assign(size, kMissing);
  for (const auto& [key, value] : items) {
    uint32_t i = home(key), probe = 0;
    for (; keys_[i] != 0 && keys_[i] != key; i = (i + 1) & mask_) ++probe;
    keys_[i] = key;
    values_[i] = value;
    longest_probe_ = std::max(longest_probe_, probe);
  }
}

}  // namespace meshplane::dataplane
